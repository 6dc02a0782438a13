/**
 * How a run begins, as one value: from scratch (set-up computes the plan and the preconditioner)
 * or from the checkpoint that `resumeFrom` names (the plan, preconditioner, random state and
 * training state come from the file; the data is given again and checked against the file's
 * fingerprint of it). fit() asks it the same questions either way.
 */
import type { Backend } from '../backends/backend.js';
import { matrix, takeRows } from '../matrix.js';
import { kernelOptionOf } from '../../kernels/index.js';
import type { FitOptions, WithDefaults } from '../options.js';
import { freshStart, inMemory, monitorRows, type PrepareOptions, type Prepared, type SetupHints, type Start } from '../prepare.js';
import { checkMemory } from '../solver/memory.js';
import { SeededRandom } from '../solver/random.js';
import { readCheckpoint, type Checkpoint, type DataFingerprint } from './file.js';
import { checkSameData, resumedOptions } from './resume.js';

export interface Beginning {
  /** The run's options: the given ones, under a checkpoint's defining options when resuming. */
  readonly options: FitOptions;
  /** What preparing the data takes over from the checkpoint: its kernel, bandwidth and scaling. */
  readonly preparation: Partial<PrepareOptions>;
  /** Whether the data's fingerprint is needed to check it. */
  readonly checksData: boolean;
  /** @throws KmfitError CHECKPOINT_MISMATCH when the data is not the checkpoint's. */
  checkData(prepared: Prepared, fingerprint: DataFingerprint): void;
  /** Where the iterations start: a fresh set-up, or the checkpoint's plan and state. */
  start(backend: Backend, prepared: Prepared, options: WithDefaults<FitOptions> & SetupHints, started: number): Promise<Start>;
}

/**
 * @throws KmfitError from reading the checkpoint, and CHECKPOINT_MISMATCH for options that
 *   contradict it.
 */
export async function beginRun(given: FitOptions): Promise<Beginning> {
  if (given.resumeFrom === undefined) {
    return { options: given, preparation: {}, checksData: false, checkData: () => undefined, start: freshStart };
  }
  const path = given.resumeFrom;
  const checkpoint = await readCheckpoint(path);
  return {
    options: resumedOptions(checkpoint, given, path),
    // Nothing is drawn or fitted again.
    preparation: { kernel: kernelOptionOf(checkpoint.kernel), bandwidth: checkpoint.kernel.bandwidth, scaling: checkpoint.scaling },
    checksData: true,
    checkData: (prepared, fingerprint) => checkSameData(checkpoint, fingerprint, prepared.targets.classes, path),
    start: async (backend, prepared, options) => resumeStart(checkpoint, backend, prepared, options.epochs),
  };
}

/** Everything from the checkpoint; the plan keeps its numbers and names the backend of this run. */
function resumeStart(checkpoint: Checkpoint, backend: Backend, prepared: Prepared, epochs: number | undefined): Start {
  // Epochs given on resume are a count, without the saved run's stopping rule.
  const { stopping, ...saved } = checkpoint.plan;
  const counted = epochs === undefined ? { epochs: saved.epochs, ...(stopping ? { stopping } : {}) } : { epochs };
  const plan = { ...saved, ...counted, backend: backend.name, device: backend.describe().device };
  checkMemory(backend, {
    // The points on the device: all n (EigenPro 2), or the p centers.
    n: plan.centers?.count ?? plan.n,
    d: plan.d,
    l: plan.outputs,
    s: plan.subsampleSize,
    q: plan.q,
    m: plan.batchSize,
    monitorRows: checkpoint.monitorIndices.length + (prepared.validation?.X.rows ?? 0),
    setup: false,
  });
  const centers = savedCenters(checkpoint, prepared);
  // The subsample's rows: of the training data (EigenPro 2), of the centers (EigenPro 3).
  const subsamplePool = centers?.points ?? inMemory(prepared).train;
  const p = checkpoint.preconditioning;
  return {
    plan,
    ...(p ? { preconditioning: { ...p, points: takeRows(subsamplePool, p.indices) } } : {}),
    random: SeededRandom.fromState(checkpoint.state.random),
    monitorTrain: monitorRows(prepared.rows, prepared.targets, checkpoint.monitorIndices),
    state: checkpoint.state,
    ...(centers ? { centers } : {}),
  };
}

/** EigenPro 3's centers and projection set-up, rebuilt from the checkpoint and the data. */
function savedCenters(checkpoint: Checkpoint, prepared: Prepared): Start['centers'] {
  const planned = checkpoint.plan.centers;
  const saved = checkpoint.centers;
  if (!planned || !saved) return undefined;
  const { d } = checkpoint.plan;
  const points = saved.indices
    ? prepared.rows.take(saved.indices)
    : matrix(saved.points!, saved.points!.length / d, d);
  const projection = saved.projection;
  return {
    points,
    ...(saved.indices ? { indices: saved.indices } : {}),
    projection: {
      ...(projection ? { preconditioning: { ...projection, points: takeRows(points, projection.indices) } } : {}),
      batchSize: planned.projection.batchSize,
      stepSize: planned.projection.stepSize,
      iterations: planned.projection.iterations,
    },
  };
}
