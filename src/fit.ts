/**
 * fit(): options → validated inputs → plan → EigenPro iterations → model. A thin public call over
 * the solver; every analytic choice is made in src/solver/ and reported in model.plan.
 *
 * A run starts either fresh (set-up computes the plan and the preconditioner) or from a
 * checkpoint (src/checkpoint/: the plan, preconditioner, random state and training state come
 * from the file; the data is given again and checked against the file's fingerprint of it).
 */
import type { Backend } from './backends/backend.js';
import { createBackend } from './backends/select.js';
import { readCheckpoint, type Checkpoint } from './checkpoint/file.js';
import { checkSameData, dataFingerprint, definingOptions, resumedOptions } from './checkpoint/resume.js';
import { checkpointWriter } from './checkpoint/schedule.js';
import type { MatrixInput } from './data/input.js';
import type { LabelInput } from './data/labels.js';
import { takeRows } from './matrix.js';
import { KernelModel } from './model/model.js';
import { validateOptions, withDefaults, type FitOptions, type WithDefaults } from './options.js';
import { kernelOptionOf } from './model/load.js';
import { MONITOR_POINTS, monitorRows, monitorTrainingSubset, prepareTraining, type MonitoredRows, type Prepared } from './prepare.js';
import type { Preconditioning } from './solver/eigenpro.js';
import { checkMemory, memoryFailure } from './solver/memory.js';
import { SeededRandom } from './solver/random.js';
import { setUp, type Plan } from './solver/setup.js';
import { runEigenPro, type TrainingState } from './solver/training.js';
import { version } from './version.js';

/** Where the iterations start from: what set-up or a checkpoint provides. */
interface Start {
  readonly plan: Plan;
  readonly preconditioning?: Preconditioning;
  readonly random: SeededRandom;
  readonly monitorTrain: MonitoredRows;
  readonly state?: TrainingState;
}

/**
 * Trains a kernel machine with EigenPro 2.
 *
 * @param X n×d features: number[][], `{ data, shape: [n, d] }`, `{ data, rows, cols }`, or an ndarray.
 * @param y n class labels (integers or strings → classification), n numbers or an n×l matrix
 *   (→ regression).
 * @throws KmfitError with a code from KmfitErrorCode on bad input or options; INSUFFICIENT_MEMORY
 *   for a plan that cannot fit; DIVERGED when halving the step size does not stop a divergence;
 *   CHECKPOINT_MISMATCH when `resumeFrom`'s checkpoint was trained on other data or options.
 * @example
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const labels = await model.predict(Xtest);
 */
export async function fit(X: MatrixInput, y: LabelInput, options?: FitOptions): Promise<KernelModel> {
  const started = performance.now();
  const given = validateOptions(options);
  const checkpoint = given.resumeFrom === undefined ? undefined : await readCheckpoint(given.resumeFrom);
  const chosen = checkpoint ? resumedOptions(checkpoint, given, given.resumeFrom!) : given;
  const opts = withDefaults(chosen);
  const prepared = prepareTraining(
    X,
    y,
    // A resumed run has its kernel, bandwidth and scaling already: nothing is drawn or fitted again.
    checkpoint
      ? { ...opts, kernel: kernelOptionOf(checkpoint.kernel), bandwidth: checkpoint.kernel.bandwidth, scaling: checkpoint.scaling }
      : opts,
  );
  const { train, targets, scaling, validation, kernel } = prepared;
  const fingerprint = checkpoint || opts.checkpoint ? dataFingerprint(prepared.raw, targets.values, validation) : undefined;
  if (checkpoint) checkSameData(checkpoint, fingerprint!, targets.classes, given.resumeFrom!);

  const backendName = opts.backend;
  const backend = await createBackend(backendName, { threads: opts.threads }).catch((error: unknown) => {
    throw memoryFailure(error, backendName) ?? error; // e.g. no address space left for a wasm memory
  });
  try {
    const start = checkpoint ? resumeStart(checkpoint, backend, prepared, opts) : await freshStart(backend, prepared, opts, started);
    const { plan, monitorTrain } = start;
    opts.onPlan?.(plan);
    const afterIteration =
      opts.checkpoint &&
      (await checkpointWriter(
        opts.checkpoint,
        {
          kmfitVersion: version,
          options: definingOptions(chosen),
          plan,
          task: targets.task,
          ...(targets.classes ? { classes: targets.classes } : {}),
          kernel: kernel.spec,
          scaling,
          fingerprint: fingerprint!,
          monitorIndices: monitorTrain.rows,
          ...(start.preconditioning ? { preconditioning: start.preconditioning } : {}),
          ...(opts.checkpoint.context !== undefined ? { context: opts.checkpoint.context } : {}),
        },
        { totalIterations: start.state?.totalIterations ?? 0, epochsDone: start.state?.epochsDone ?? 0 },
        opts.onCheckpoint,
      ));
    const centers = await backend.createCenterSet(kernel, train, plan.outputs);
    const result = await runEigenPro(
      {
        backend,
        kernel,
        X: train,
        Y: targets.values,
        centers,
        preconditioning: start.preconditioning,
        batchSize: plan.batchSize,
        stepSize: plan.stepSize,
        stepSizeGiven: plan.stepSizeSource === 'given',
        epochs: plan.epochs,
        random: start.random,
        monitorTrain,
        validation,
        earlyStopping: opts.earlyStopping,
        onEpoch: opts.onEpoch,
        onIteration: opts.onIteration,
        onDivergence: opts.onDivergence,
        signal: opts.signal,
        afterIteration,
      },
      start.state,
    );
    return new KernelModel({
      kernel,
      task: targets.task,
      classes: targets.classes,
      scaling,
      centers: train,
      weights: await centers.readWeights(),
      plan: result.halvings.length > 0 ? { ...plan, stepSizeHalvings: result.halvings } : plan,
      history: result.history,
      stoppedBy: result.stoppedBy,
      keptEpoch: result.keptEpoch,
      backend,
      centerSet: centers,
    });
  } catch (error) {
    await backend.dispose();
    throw memoryFailure(error, backend.name) ?? error;
  }
}

/** Set-up from scratch: the plan and the preconditioner, then the monitored rows. */
async function freshStart(backend: Backend, prepared: Prepared, opts: WithDefaults<FitOptions>, started: number): Promise<Start> {
  const { train, targets, random, kernel, validation } = prepared;
  const l = targets.values.cols;
  const setup = await setUp({
    backend,
    kernel,
    X: train,
    outputs: l,
    random,
    subsampleSize: opts.subsampleSize,
    q: opts.q,
    batchSize: opts.batchSize,
    stepSize: opts.stepSize,
    deviceBatchLimit: opts.deviceBatchLimit,
    monitorRows: Math.min(train.rows, MONITOR_POINTS) + (validation?.X.rows ?? 0),
  });
  const epochs = opts.epochs;
  const plan: Plan = {
    n: train.rows,
    d: train.cols,
    outputs: l,
    task: targets.task,
    kernel: kernel.describe(),
    bandwidth: kernel.spec.bandwidth,
    bandwidthSource: prepared.bandwidthSource,
    backend: backend.name,
    device: backend.describe().device,
    ...setup.numbers,
    epochs,
    iterationsPerEpoch: Math.ceil(train.rows / setup.numbers.batchSize),
    seed: opts.seed,
    setupSeconds: (performance.now() - started) / 1000,
  };
  return { plan, preconditioning: setup.preconditioning, random, monitorTrain: monitorTrainingSubset(train, targets, random) };
}

/** Everything from the checkpoint; the plan keeps its numbers and names the backend of this run. */
function resumeStart(checkpoint: Checkpoint, backend: Backend, prepared: Prepared, opts: WithDefaults<FitOptions>): Start {
  const saved = checkpoint.plan;
  const plan: Plan = { ...saved, epochs: opts.epochs ?? saved.epochs, backend: backend.name, device: backend.describe().device };
  checkMemory(backend, {
    n: plan.n,
    d: plan.d,
    l: plan.outputs,
    s: plan.subsampleSize,
    q: plan.q,
    m: plan.batchSize,
    monitorRows: checkpoint.monitorIndices.length + (prepared.validation?.X.rows ?? 0),
    setup: false,
  });
  const p = checkpoint.preconditioning;
  return {
    plan,
    ...(p ? { preconditioning: { ...p, points: takeRows(prepared.train, p.indices) } } : {}),
    random: SeededRandom.fromState(checkpoint.state.random),
    monitorTrain: monitorRows(prepared.train, prepared.targets, checkpoint.monitorIndices),
    state: checkpoint.state,
  };
}
