/**
 * Runs tasks one after another, in the order they were queued, whatever each awaits inside: a
 * backend whose calls share state (weights read tile by tile, one session's buffers) stays
 * consistent when callers issue calls without awaiting each.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; a failure stays with its caller. */
  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
