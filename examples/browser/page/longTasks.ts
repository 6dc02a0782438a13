/**
 * The page's main-thread long tasks (over 50 ms, as the browser reports them through the Long Tasks
 * API) while something runs: the responsiveness that fitInWorker is there to keep.
 */

export class LongTaskWatch {
  private longest = 0;
  private count = 0;
  private watching = false;
  private startedAt = 0;
  readonly supported = PerformanceObserver.supportedEntryTypes.includes('longtask');

  constructor() {
    if (!this.supported) return;
    new PerformanceObserver((list) => {
      if (!this.watching) return;
      // A task that began before start() is not what is being watched.
      for (const entry of list.getEntries().filter((task) => task.startTime >= this.startedAt)) {
        this.longest = Math.max(this.longest, entry.duration);
        this.count++;
      }
    }).observe({ type: 'longtask' });
  }

  start(): void {
    [this.longest, this.count, this.watching, this.startedAt] = [0, 0, true, performance.now()];
  }

  /** Stops watching, once the tasks that ended before now have been reported. */
  async stop(): Promise<{ longestMs: number; count: number }> {
    // Long-task entries are delivered after the task, in a later one: let them arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.watching = false;
    return { longestMs: this.longest, count: this.count };
  }
}
