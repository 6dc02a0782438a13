/**
 * When a run writes its checkpoint, and the writing itself: every N iterations, every S seconds,
 * or (by default) after each epoch — and once more when the run stops, finished or aborted, if
 * anything happened since the last write. Writes happen between iterations, so a checkpoint is
 * always a consistent state; each replaces the last atomically (src/io/atomicWrite.ts). A write
 * that fails (a full disk, a permission) is reported and training goes on: the model in memory
 * is worth more than one checkpoint.
 */
import { KmfitError } from '../errors.js';
import type { Training } from '../solver/training.js';
import type { CheckpointOptions, CheckpointReport } from '../options.js';
import { writeCheckpoint, type Checkpoint } from './file.js';

export class CheckpointSchedule {
  private lastTime: number;
  private lastIterations: number;
  private lastEpochs: number;

  constructor(
    private readonly options: CheckpointOptions,
    /** The iteration count the run starts from (a resumed run's), which needs no new checkpoint. */
    startIterations: number,
    startEpochs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastTime = now();
    this.lastIterations = startIterations;
    this.lastEpochs = startEpochs;
  }

  due(training: Training, final: boolean): boolean {
    if (training.totalIterations === this.lastIterations) return false; // nothing new since the last one
    if (final) return true;
    const { everyIterations, everySeconds } = this.options;
    if (everyIterations !== undefined && training.totalIterations - this.lastIterations >= everyIterations) return true;
    if (everySeconds !== undefined && this.now() - this.lastTime >= everySeconds * 1000) return true;
    const perEpoch = everyIterations === undefined && everySeconds === undefined;
    return perEpoch && !training.inEpoch && training.completedEpochs > this.lastEpochs;
  }

  written(training: Training): void {
    this.lastTime = this.now();
    this.lastIterations = training.totalIterations;
    this.lastEpochs = training.completedEpochs;
  }
}

/**
 * The `afterIteration` hook of a run that checkpoints: writes `fixed` plus the current state when
 * the schedule says so, and reports each write, or its failure, to `onCheckpoint`.
 *
 * Training goes on while a write is on its way to the disk: the state is a snapshot taken between
 * iterations (copies of the weights, arrays the run replaces rather than changes), and the next
 * write, and the run's last call (`final`), wait for it. The disk's part of a write (the file and
 * its fsync) then overlaps the next iterations instead of adding to them: after each epoch at
 * 16 000 × 26 (8 MB) a write took 20–160 ms on this project's shared machine.
 */
export async function checkpointWriter(
  options: CheckpointOptions,
  fixed: Omit<Checkpoint, 'state'>,
  start: { totalIterations: number; epochsDone: number },
  onCheckpoint?: (report: CheckpointReport) => void,
): Promise<(training: Training, final: boolean) => Promise<void>> {
  const schedule = new CheckpointSchedule(options, start.totalIterations, start.epochsDone);
  const write = async (state: Checkpoint['state'], final: boolean): Promise<void> => {
    let error: KmfitError | undefined;
    try {
      await writeCheckpoint(options.path, { ...fixed, state });
    } catch (failure) {
      if (!(failure instanceof KmfitError)) throw failure;
      error = failure;
    }
    await onCheckpoint?.({
      path: options.path,
      epoch: state.epochsDone,
      iteration: state.epochIterations,
      totalIterations: state.totalIterations,
      final,
      ...(error ? { error } : {}),
    });
  };
  let writing: Promise<void> = Promise.resolve();
  return async (training, final) => {
    if (!schedule.due(training, final)) {
      if (final) await writing;
      return;
    }
    await writing;
    const state = await training.snapshot();
    // A failed write waits for the next due point too: retrying each iteration would stall on a full disk.
    schedule.written(training);
    writing = write(state, final);
    // Its failure, other than the disk's (reported above), is thrown where it is awaited, not left unhandled.
    writing.catch(() => undefined);
    if (final) await writing;
  };
}
