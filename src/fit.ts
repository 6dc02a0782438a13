/**
 * fit(): options → validated inputs → plan → EigenPro iterations → model. A thin public call over
 * the solver; every analytic choice is made in src/solver/ and reported in model.plan.
 *
 * A run starts either fresh (set-up computes the plan and the preconditioner) or from a
 * checkpoint (src/checkpoint/: the plan, preconditioner, random state and training state come
 * from the file; the data is given again and checked against the file's fingerprint of it).
 */
import { startBackend } from './backendChoice.js';
import { beginRun } from './checkpoint/begin.js';
import { checkpointContents } from './checkpoint/file.js';
import { dataFingerprint, definingOptions } from './checkpoint/resume.js';
import { checkpointWriter } from './checkpoint/schedule.js';
import type { MatrixInput } from './data/input.js';
import type { LabelInput } from './data/labels.js';
import { KernelModel, keptFromTraining } from './model/model.js';
import { validateOptions, withDefaults, type FitOptions } from './options.js';
import type { KernelOption } from '../kernels/index.js';
import type { SearchPlan } from './solver/plan.js';
import { monitoredCount, inMemory, prepareTraining } from './prepare.js';
import { memoryFailure, planRunCache } from './solver/memory.js';
import { ScoringBlock, mayRefillExact, plannedKernelCache, type CachePlan } from './solver/kernelCache.js';
import type { ProjectionCacheSize } from './solver/setup.js';
import { cacheEngineOf } from './backends/cacheEngine.js';
import { subsampleSizeFor } from './solver/plan.js';
import { eigenPro2Stepper, evaluateWith, scorePredictions, type MonitorSet, type Stepper } from './solver/eigenpro.js';
import { CentersStepper } from './solver/eigenpro3.js';
import { runEigenPro } from './solver/training.js';
import type { Cluster } from './cluster/coordinator.js';
import type { OpenedNpy } from './io/openedNpy.js';
import { CHECKPOINT_FILE } from './io/modelFile.js';
import { requireCluster, requireFiles } from './platform/require.js';
import { isSearch, singleKernel } from '../kernels/candidates.js';
import { fitSearch } from './search/fitSearch.js';

/**
 * Trains a kernel machine: with EigenPro 2 on all of X's points as centers, or, with the `centers`
 * option, with EigenPro 3 on p centers apart from the data (memory and cost per epoch then grow with
 * p, not with n).
 *
 * @param X n×d features: number[][], `{ data, shape: [n, d] }`, `{ data, rows, cols }`, an ndarray,
 *   or an opened .npy file (`openNpy(path)`), whose rows a model with centers reads batch by batch
 *   from disk instead of holding them in memory.
 * @param y n class labels (integers or strings → classification), n numbers or an n×l matrix
 *   (→ regression).
 * @throws KmfitError with a code from KmfitErrorCode on bad input or options; INSUFFICIENT_MEMORY
 *   for a plan that cannot fit; DIVERGED when halving the step size does not stop a divergence;
 *   CHECKPOINT_MISMATCH when `resumeFrom`'s checkpoint was trained on other data or options.
 * @example
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const labels = await model.predict(Xtest);
 * @example
 * // A million rows from disk, a model on 20 000 of them:
 * const file = openNpy('mnist-deformed-1m.npy');
 * const model = await fit(file.columns(0, 784), file.columns(784, 785).readColumnFloat64(), { kernel: 'gaussian', bandwidth: 1275, centers: 20000 });
 */
export async function fit(X: MatrixInput | OpenedNpy, y: LabelInput, options?: FitOptions): Promise<KernelModel> {
  const started = performance.now();
  const checked = validateOptions(options);
  // Several kernels or bandwidths: candidates trained in one pass, the best on held-out data kept
  // (and trained again on all the rows, when a holdout judged them).
  if (isSearch(checked)) {
    // The refit's set-up and epochs are timed from its own start (the search's are in its plan).
    const refit = (winner: { kernel: KernelOption; bandwidth: number }, search: SearchPlan) =>
      fitOne(X, y, validateOptions({ ...checked, ...winner, holdout: undefined, refit: undefined }), performance.now(), search);
    return fitSearch(X, y, withDefaults(checked), started, refit);
  }
  return fitOne(X, y, checked, started);
}

/** fit() with one kernel and bandwidth; `search`: the search that chose them, for the plan. */
async function fitOne(X: MatrixInput | OpenedNpy, y: LabelInput, checked: FitOptions, started: number, search?: SearchPlan): Promise<KernelModel> {
  const given = singleKernel(checked, 'fit()');
  // What the host lacks (files, a cluster's network in a page), and a checkpoint's folder that is
  // not there, are refused before any work: a failed write later is reported, not thrown.
  if (given.checkpoint) await requireFiles('The checkpoint option', CHECKPOINT_FILE.withoutFiles).checkFolder(given.checkpoint.path);
  if (given.cluster) requireCluster();
  const beginning = await beginRun(given);
  const opts = withDefaults(beginning.options);
  // A file stays on disk for a model with centers; EigenPro 2's centers are the data, in memory.
  const prepared = prepareTraining(X, y, { ...singleKernel(opts, 'fit()'), ...beginning.preparation, onDisk: opts.centers !== undefined });
  const { rows, targets, scaling, validation, kernel } = prepared;
  // CRC-32s of all the data: computed only when a checkpoint is read or written.
  const fingerprint = beginning.checksData || opts.checkpoint ? dataFingerprint(prepared.raw, targets.values, validation) : undefined;
  if (fingerprint) beginning.checkData(prepared, fingerprint);

  const { backend, choice } = await startBackend(opts.backend, { threads: opts.threads }, { kernel, rows, outputs: targets.values.cols }).catch((error: unknown) => {
    throw memoryFailure(error, opts.backend) ?? error; // e.g. no address space left for a wasm memory
  });
  let cluster: Cluster | undefined;
  try {
    const run = { cluster: opts.cluster !== undefined, monitorRows: monitoredCount(rows.rows) + (validation?.X.rows ?? 0), validationRows: validation?.X.rows ?? 0 };
    // A fresh EigenPro 2 run that will cache the matrix: its later steps cost the same per point at
    // any batch size, so set-up does not time the device, takes the smaller default subsample
    // (CACHED_SUBSAMPLE_SIZE, the s asked about here) and a batch below m* (CACHED_BATCH_SHARE).
    // (A resumed run has its plan already: it ignores this.)
    const s = subsampleSizeFor(rows.rows, opts.subsampleSize, true);
    const upfront = { n: rows.rows, d: rows.cols, l: targets.values.cols, s, q: opts.q, m: Math.min(opts.batchSize ?? s, rows.rows) };
    const willCache = opts.centers === undefined && planRunCache(opts.cache, backend, upfront, run).precision !== undefined;
    const flatStepCost = willCache ? 'the kernel cache will hold the matrix, and a cached step costs the same per point at any batch size' : undefined;
    // A model on centers: whether K_ZZ will be cached decides how often the projection comes.
    const projectionCache = (j: ProjectionCacheSize) => planRunCache(opts.cache, backend, { n: rows.rows, d: rows.cols, l: upfront.l, s: j.s, q: j.q, m: j.batchSize, centers: j.p }, run);
    const cachesProjection = (j: ProjectionCacheSize) => projectionCache(j).precision !== undefined;
    const start = await beginning.start(backend, prepared, { ...opts, flatStepCost, cachesProjection }, started);
    const p = start.plan;
    const j = p.centers?.projection;
    /** The plan's sizes, for EigenPro 2's cache plans (the run's, and a float32 refill's). */
    const planned = { n: p.n, d: p.d, l: p.outputs, s: p.subsampleSize, q: p.q, m: p.batchSize };
    const cachePlan = j
      ? projectionCache({ p: p.centers!.count, s: j.subsampleSize, q: j.q, batchSize: j.batchSize })
      : planRunCache(opts.cache, backend, planned, run);
    // EigenPro 2: the centers are the training points; EigenPro 3: the chosen centers.
    const centerPoints = start.centers?.points ?? inMemory(prepared).train;
    // The same points as this backend prepares them for the run's own work (Backend.prepareRows:
    // onnx reads byte data once for the plan's distances line, the scoring block's columns and a
    // cache filled in the points' own order (EigenPro 3's K_ZZ), instead of once or twice for each;
    // EigenPro 2's cache fills in a permutation's order, a copy read once). The center set, which
    // the model keeps, takes the plain points: the prepared ones would keep their bytes alive with it.
    const points = backend.prepareRows?.(centerPoints) ?? centerPoints;
    // On a cluster the workers' backends compute the distances: this backend's form says nothing of theirs.
    const distances = opts.cluster ? undefined : await backend.distancesFor?.(points);
    const unseen = prepared.unseenValidationLabels;
    const plan = {
      ...start.plan,
      cache: cachePlan,
      ...(choice ? { backendChoice: choice } : {}),
      ...(search ? { search } : {}),
      ...(distances ? { distances } : {}),
      ...(unseen ? { unseenValidationLabels: unseen } : {}),
    };
    await opts.onPlan?.(plan);
    const afterIteration =
      opts.checkpoint &&
      (await checkpointWriter(
        opts.checkpoint,
        checkpointContents({ options: definingOptions(beginning.options), start, prepared, fingerprint: fingerprint!, context: opts.checkpoint.context }),
        { totalIterations: start.state?.totalIterations ?? 0, epochsDone: start.state?.epochsDone ?? 0 },
        opts.onCheckpoint,
      ));
    // On a cluster the centers and their weights live in the workers, a shard each; the local
    // backend computes the rest (set-up, the subsample's correction, EigenPro 3's projection).
    cluster = opts.cluster && (await requireCluster()(opts.cluster, { kernel, centers: centerPoints, outputs: plan.outputs }));
    await opts.onCluster?.(cluster ? cluster.report() : undefined);
    const centers = cluster ? cluster.centers : await backend.createCenterSet(kernel, centerPoints, plan.outputs);
    let stepper: Stepper;
    if (start.centers && plan.centers) {
      stepper = new CentersStepper({
        backend,
        kernel,
        data: rows,
        Y: targets.values,
        points,
        centers,
        preconditioning: start.preconditioning,
        projection: start.centers.projection,
        interval: plan.centers.projection.interval,
        random: start.random,
        projectionCache: cachePlan.precision ? await cacheEngineOf(backend, cachePlan.precision) : undefined,
      });
    } else {
      const cacheOf = (kept: CachePlan) => plannedKernelCache(backend, kept, kernel, points, centers, plan.batchSize, start.preconditioning?.indices);
      const cache = await cacheOf(cachePlan);
      // A float32 cache takes its place if its rounding holds the residual up (eigenpro.ts), where
      // one fits within the same share of memory.
      const exactCache = mayRefillExact(opts.cache, cachePlan)
        ? () => cacheOf(planRunCache('auto', backend, planned, { ...run, exact: true }))
        : undefined;
      // Until the cache holds the subsample's rows, each step's correction predicts at them: prepared once.
      const given = start.preconditioning;
      const preconditioning = given && { ...given, points: backend.prepareRows?.(given.points) ?? given.points };
      stepper = eigenPro2Stepper({ backend, kernel, X: points, Y: targets.values, centers, preconditioning, cache, ...(exactCache ? { exactCache } : {}) });
    }
    // The validation rows scored from their kept block (planCache decides: EigenPro 2 with the cache).
    const scoring = validation && cachePlan.scoredRows ? new ScoringBlock(await cacheEngineOf(backend, 'float32'), kernel, validation.X, points, centers) : undefined;
    // The monitored training rows come from the stepper's float32 cache where it holds one (evaluateWith).
    const evaluateOn =
      scoring &&
      (async (set: MonitorSet) => {
        if (set !== validation) return evaluateWith(stepper, centers, set);
        const scores = new Float32Array(set.X.rows * plan.outputs);
        await scoring.predict(scores);
        return scorePredictions(scores, set, plan.outputs);
      });
    const result = await runEigenPro(
      {
        ...(evaluateOn ? { evaluate: evaluateOn } : {}),
        Y: targets.values,
        centers,
        stepper,
        batchSize: plan.batchSize,
        stepSize: plan.stepSize,
        stepSizeGiven: plan.stepSizeSource === 'given',
        epochs: plan.epochs,
        stopping: plan.stopping,
        random: start.random,
        monitorTrain: start.monitorTrain,
        validation,
        averaging: plan.centers?.averaging === true,
        earlyStopping: opts.earlyStopping,
        onEpoch: opts.onEpoch,
        onIteration: opts.onIteration,
        onDivergence: opts.onDivergence,
        signal: opts.signal,
        startedAt: started,
        afterIteration,
      },
      start.state,
    ).finally(() => {
      stepper.dispose?.();
      scoring?.dispose();
    });
    const weights = await centers.readWeights();
    await cluster?.close();
    // A cluster's workers are released: the model predicts on this machine.
    const fromTraining = await keptFromTraining(backend, cluster ? undefined : centers);
    return new KernelModel({
      kernel,
      task: targets.task,
      classes: targets.classes,
      scaling,
      centers: centerPoints,
      weights,
      plan: result.halvings.length > 0 ? { ...plan, stepSizeHalvings: result.halvings } : plan,
      history: result.history,
      stoppedBy: result.stoppedBy,
      keptEpoch: result.keptEpoch,
      ...fromTraining,
    });
  } catch (error) {
    await cluster?.close();
    await backend.dispose();
    throw memoryFailure(error, backend.name) ?? error;
  }
}


