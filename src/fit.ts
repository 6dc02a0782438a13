/**
 * fit(): options → validated inputs → plan → EigenPro iterations → model. A thin public call over
 * the solver; every analytic choice is made in src/solver/ and reported in model.plan.
 */
import { chooseKernel, defaultBandwidth, makeKernel } from '../kernels/index.js';
import { createBackend } from './backends/select.js';
import { toMatrix, type MatrixInput } from './data/input.js';
import { argmaxRows, encodeScoreTargets, encodeTargets, type LabelInput, type Targets } from './data/labels.js';
import { applyScaling, fitScaling } from './data/scaling.js';
import { KmfitError } from './errors.js';
import { takeRows, type Matrix } from './matrix.js';
import { KernelModel } from './model/model.js';
import { validateOptions, type FitOptions } from './options.js';
import { medianPairwiseDistance } from './solver/bandwidth.js';
import { runEigenPro, type MonitorSet } from './solver/eigenpro.js';
import { SeededRandom } from './solver/random.js';
import { setUp, type Plan } from './solver/setup.js';

/** Training points scored after each epoch to report train mse and error. */
const MONITOR_POINTS = 5000;

/**
 * Trains a kernel machine with EigenPro 2.
 *
 * @param X n×d features: number[][], `{ data, shape: [n, d] }`, or an ndarray.
 * @param y n class labels (integers or strings → classification), n numbers or an n×l matrix
 *   (→ regression).
 * @throws KmfitError with a code from KmfitErrorCode on bad input or options.
 * @example
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const labels = await model.predict(Xtest);
 */
export async function fit(X: MatrixInput, y: LabelInput, options?: FitOptions): Promise<KernelModel> {
  const started = performance.now();
  const opts = validateOptions(options);
  const choice = chooseKernel(opts.kernel, opts.bandwidth);
  const raw = toMatrix(X, 'X');
  const targets = encodeTargets(y, raw.rows, opts.task, 'y');
  const scaling = fitScaling(raw, opts.scale ?? 'none');
  const train = applyScaling(raw, scaling);
  const validation = opts.validation && monitorValidation(opts.validation, raw.cols, targets, scaling);
  const random = new SeededRandom(opts.seed ?? 0);

  let bandwidth = choice.bandwidth;
  let bandwidthSource = 'given';
  if (bandwidth === undefined) {
    const median = medianPairwiseDistance(train, random);
    bandwidth = defaultBandwidth(choice, median);
    bandwidthSource = `default for ${choice.name} from the median pairwise distance ${median.toPrecision(4)} of a subsample`;
  }
  const kernel = makeKernel(choice, bandwidth);
  const backend = await createBackend(opts.backend ?? 'auto');
  try {
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
    });
    const epochs = opts.epochs ?? 5;
    const plan: Plan = {
      n: train.rows,
      d: train.cols,
      outputs: l,
      task: targets.task,
      kernel: kernel.describe(),
      bandwidth,
      bandwidthSource,
      backend: backend.name,
      ...setup.numbers,
      epochs,
      iterationsPerEpoch: Math.ceil(train.rows / setup.numbers.batchSize),
      seed: opts.seed ?? 0,
      setupSeconds: (performance.now() - started) / 1000,
    };
    opts.onPlan?.(plan);
    const centers = await backend.createCenterSet(kernel, train, l);
    const result = await runEigenPro({
      backend,
      kernel,
      X: train,
      Y: targets.values,
      centers,
      preconditioning: setup.preconditioning,
      batchSize: plan.batchSize,
      stepSize: plan.stepSize,
      epochs,
      random,
      monitorTrain: monitorTrainingSubset(train, targets, random),
      validation,
      earlyStopping: opts.earlyStopping,
      onEpoch: opts.onEpoch,
      onIteration: opts.onIteration,
      signal: opts.signal,
    });
    return new KernelModel({
      kernel,
      task: targets.task,
      classes: targets.classes,
      scaling,
      centers: train,
      weights: await centers.readWeights(),
      plan,
      history: result.history,
      stoppedBy: result.stoppedBy,
      keptEpoch: result.keptEpoch,
      backend,
      centerSet: centers,
    });
  } catch (error) {
    await backend.dispose();
    throw error;
  }
}

/** A fixed, seeded subsample of the training data, scored after each epoch. */
function monitorTrainingSubset(X: Matrix, targets: Targets, random: SeededRandom): MonitorSet {
  const picked = random.subsample(X.rows, Math.min(X.rows, MONITOR_POINTS));
  const Y = takeRows(targets.values, picked);
  return { X: takeRows(X, picked), Y, ...(targets.classes ? { labels: argmaxRows(Y) } : {}) };
}

/** Validation data in the training's feature space and target encoding. */
function monitorValidation(
  validation: { X: MatrixInput; y: LabelInput },
  features: number,
  targets: Targets,
  scaling: Parameters<typeof applyScaling>[1],
): MonitorSet {
  const raw = toMatrix(validation.X, 'validation.X');
  if (raw.cols !== features) {
    throw new KmfitError(
      'FEATURE_MISMATCH',
      `validation.X has ${raw.cols} features per row but X has ${features}; they must have the same columns.`,
    );
  }
  const X = applyScaling(raw, scaling);
  const model = { task: targets.task, classes: targets.classes, outputs: targets.values.cols };
  const truth = encodeScoreTargets(validation.y, raw.rows, model, 'validation.y');
  if (truth.task === 'regression') return { X, Y: truth.values };
  // One-hot rows; a label unseen in training gets an all-zero row and always counts as an error.
  const l = targets.values.cols;
  const Y = new Float32Array(raw.rows * l);
  truth.classIndex.forEach((c, i) => {
    if (c >= 0) Y[i * l + c] = 1;
  });
  return { X, Y: { data: Y, rows: raw.rows, cols: l }, labels: truth.classIndex };
}
