/**
 * The signals that stop a training run the way Ctrl-C does: the first one stops it after the
 * current iteration (the run then saves its checkpoint and the model so far), a second one quits
 * at once. Batch schedulers and `docker stop` send SIGTERM; a closed terminal or ssh session sends
 * SIGHUP. The exit code says which signal it was, as shells report it.
 */
import os from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
export function exitCodeOf(signal: StopSignal): number {
  return 128 + os.constants.signals[signal];
}

export interface Interruption {
  /** Aborted by the first stop signal. */
  readonly signal: AbortSignal;
  /** Which signal that was, once one came. */
  received(): StopSignal | undefined;
  /** Gives the signals back their default behaviour. */
  remove(): void;
}

export function interruptOnSignals(onFirst: (signal: StopSignal) => void): Interruption {
  const controller = new AbortController();
  let first: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((name) => {
    const handler = () => {
      if (first !== undefined) process.exit(exitCodeOf(name));
      first = name;
      controller.abort();
      onFirst(name);
    };
    process.on(name, handler);
    return { name, handler };
  });
  return {
    signal: controller.signal,
    received: () => first,
    remove: () => {
      for (const { name, handler } of handlers) process.off(name, handler);
    },
  };
}

/** What the run says when the first signal comes. */
export function stoppingNote(signal: StopSignal): string {
  return signal === 'SIGINT'
    ? 'interrupted: stopping after the current iteration (Ctrl-C again quits at once)'
    : `${signal} received: stopping after the current iteration (a second ${signal} quits at once)`;
}
