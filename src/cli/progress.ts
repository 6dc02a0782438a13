/**
 * Training progress on stderr. On an interactive terminal, a cli-progress bar per epoch (iterations,
 * rate, ETA, the last batch's mse) that gives way to the epoch's line; otherwise nothing here — the
 * per-epoch lines on stdout are the log, with no control characters in it.
 */
import cliProgress from 'cli-progress';
import type { IterationReport } from '../solver/events.js';
import { formatNumber } from './render.js';

export interface Progress {
  iteration(report: IterationReport): void;
  /** Clears the bar before a line is printed (the next iteration starts a new one). */
  clear(): void;
}

const SILENT: Progress = { iteration() {}, clear() {} };

export function progressOnStderr(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return SILENT;
  let bar: cliProgress.SingleBar | undefined;
  // The rate counts from the first report (the first iteration's end): the bar starts there.
  let started = 0;
  let first = 0;
  return {
    iteration(report) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `  epoch ${report.epoch} [{bar}] {value}/{total} iterations · {rate} it/s · ETA {eta_formatted} · batch mse {mse}`,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(report.iterationsPerEpoch, 0, { rate: '—', mse: '—' });
        started = performance.now();
        first = report.iteration;
      }
      const rate = (report.iteration - first) / ((performance.now() - started) / 1000);
      bar.update(report.iteration, { rate: report.iteration > first ? rate.toFixed(rate < 10 ? 2 : 0) : '—', mse: formatNumber(report.batchMse) });
    },
    clear() {
      bar?.stop();
      bar = undefined;
    },
  };
}
