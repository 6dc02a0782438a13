/**
 * fit() with several candidate kernels or bandwidths: each candidate gets its own set-up
 * (eigensystem, q, step size) on a common batch size, all of them train in one pass over the data
 * on the same batches (sharedSteps.ts), and the one with the lowest error on held-out data is kept
 * — an ordinary model, whose plan's `search` (model.search) holds every candidate's held-out
 * figures per epoch. Candidates beyond what memory holds at once train in further passes.
 *
 * Held-out data: `validation` when given, else a seeded split of the training data (`holdout`).
 * After a split, the model returned is the winner trained again on all the rows (`refit`, by
 * fit()'s own path), or with refit off the winner as trained on the rows not held out.
 */
import type { Kernel } from '../../kernels/kernel.js';
import { kernelOptionOf, type KernelOption } from '../../kernels/index.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { startBackend } from '../backendChoice.js';
import { centerGroup } from '../backends/centerGroup.js';
import { mayRefillExact, plannedKernelCache, type CacheOption, type CachePlan } from '../solver/kernelCache.js';
import type { MatrixInput } from '../data/input.js';
import type { OpenedNpy } from '../io/openedNpy.js';
import type { LabelInput } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import { takeRows, matrixRows } from '../matrix.js';
import { KernelModel, keptFromTraining } from '../model/model.js';
import { DEFAULT_HOLDOUT, type FitOptions, type WithDefaults } from '../options.js';
import { monitoredCount, inMemory, monitorRows, monitorTrainingSubset, prepareTraining } from '../prepare.js';
import { eigenPro2Stepper, type MonitorSet, type Preconditioning } from '../solver/eigenpro.js';
import { memoryFailure, planRunCache, searchCandidatesPerPass, type PlanSize } from '../solver/memory.js';
import { LATE_CACHE_CANDIDATES, SEARCH_WITHOUT_CACHE, analyticStepSize, assemblePlan, type Plan, type SearchCandidate, type SearchPlan, type SetupNumbers } from '../solver/plan.js';
import { SeededRandom } from '../solver/random.js';
import { setUp } from '../solver/setup.js';
import { epochPlan } from '../solver/convergence.js';
import { Training } from '../solver/training.js';
import type { EpochMetrics } from '../solver/events.js';
import { kernelChoices, searchCandidates, type BandwidthOption, type Candidate } from '../../kernels/candidates.js';
import { SharedSteps } from './sharedSteps.js';


/** Options a search does not combine with, and why. */
const NOT_WITH_SEARCH = {
  centers: 'a search trains EigenPro 2 models (all of X as centers)',
  cluster: "a search's candidates share each block on one machine",
  checkpoint: 'a search is not checkpointed',
  resumeFrom: 'a search is not checkpointed',
} as const;

export function checkSearchOptions(options: FitOptions): void {
  for (const [name, why] of Object.entries(NOT_WITH_SEARCH)) {
    if (options[name as keyof FitOptions] !== undefined) {
      throw new KmfitError('INVALID_OPTION', `The '${name}' option does not go with a bandwidth search (${why}): give one kernel and one bandwidth, or leave '${name}' out.`);
    }
  }
  if (options.cache !== undefined && options.cache !== 'auto' && options.cache !== 'off') {
    throw new KmfitError('INVALID_OPTION', `The 'cache' option asks for a kernel cache, which a bandwidth search does not keep (${SEARCH_WITHOUT_CACHE}): leave 'cache' out or set it to 'off'.`);
  }
  if (options.holdout !== undefined && options.validation !== undefined) {
    throw new KmfitError('INVALID_OPTION', "The 'holdout' option splits the training data when no validation data is given: leave one of them out.");
  }
}

interface SetUpCandidate {
  readonly candidate: Candidate;
  readonly numbers: SetupNumbers;
  readonly preconditioning?: Preconditioning;
}

/** Trains the chosen kernel and bandwidth on all the rows; `search` goes into its plan. */
export type Refit = (winner: { kernel: KernelOption; bandwidth: number }, search: SearchPlan) => Promise<KernelModel>;

export async function fitSearch(X: MatrixInput | OpenedNpy, y: LabelInput, opts: WithDefaults<FitOptions>, started: number, refit: Refit): Promise<KernelModel> {
  checkSearchOptions(opts);
  const choices = kernelChoices(opts.kernel);
  const bandwidth = opts.bandwidth as BandwidthOption | undefined;
  const list = typeof bandwidth === 'number' ? [bandwidth] : Array.isArray(bandwidth) ? bandwidth : undefined;
  // With given bandwidths nothing is drawn for a default one: each candidate then draws from the
  // seed exactly what fit() alone with its bandwidth draws.
  const prepared = inMemory(prepareTraining(X, y, { ...opts, kernel: choices[0].formula ?? choices[0].name, bandwidth: list?.[0], onDisk: false }));
  const candidates = searchCandidates(choices, bandwidth, prepared.medianDistance);
  const grid = list ? `given: ${list.join(', ')}` : `around the median heuristic (median pairwise distance ${prepared.medianDistance!.toPrecision(4)}): ${candidates.map((c) => formatSigma(c.kernel.spec.bandwidth)).join(', ')}`;
  const { random, targets } = prepared;
  let train = prepared.train;
  let Y = targets.values;
  let heldOut: MonitorSet;
  let heldOutText: string;
  if (prepared.validation) {
    heldOut = prepared.validation;
    heldOutText = `the validation data (${heldOut.X.rows} rows)`;
  } else {
    const share = opts.holdout ?? DEFAULT_HOLDOUT;
    const n = train.rows;
    const count = Math.round(share * n);
    if (count < 1 || n - count < 2) {
      throw new KmfitError('INVALID_OPTION', `A holdout of ${share} of ${n} points leaves ${count} to judge and ${n - count} to train on; give more data, another holdout, or validation data.`);
    }
    const order = random.permutation(n);
    const held = order.subarray(0, count).slice().sort();
    const kept = order.subarray(count).slice().sort();
    heldOut = monitorRows(matrixRows(train), targets, held);
    train = takeRows(train, kept);
    Y = takeRows(Y, kept);
    heldOutText = `a seeded split of the training data: ${count} of ${n} rows (holdout ${share})`;
  }
  const l = Y.cols;
  const rows = matrixRows(train);
  const trainTargets = { ...targets, values: Y };

  // 'auto' times the backends on the first candidate's kernel: the candidates' blocks share the distances.
  const { backend, choice } = await startBackend(opts.backend, { threads: opts.threads }, { kernel: candidates[0].kernel, rows, outputs: l }).catch((error: unknown) => {
    throw memoryFailure(error, opts.backend) ?? error;
  });
  let refitWith: Parameters<Refit> | undefined;
  try {
    const monitorRows = monitoredCount(train.rows) + heldOut.X.rows;
    // Each candidate's set-up draws from a copy of the same random state, as it would alone.
    const origin = random.state();
    const setUps: SetUpCandidate[] = [];
    let after: Uint32Array | undefined;
    let limit: { batch: number; source: string } | undefined;
    for (const candidate of candidates) {
      const own = SeededRandom.fromState(origin);
      const setup = await setUp({
        backend,
        kernel: candidate.kernel,
        X: train,
        outputs: l,
        random: own,
        subsampleSize: opts.subsampleSize,
        q: opts.q,
        batchSize: opts.batchSize,
        stepSize: opts.stepSize,
        // m_G is the device's: measured once, with the first candidate.
        deviceBatchLimit: opts.deviceBatchLimit ?? limit?.batch,
        monitorRows,
      });
      limit ??= { batch: setup.numbers.deviceBatchLimit, source: setup.numbers.deviceBatchLimitSource };
      setUps.push({ candidate, numbers: { ...setup.numbers, deviceBatchLimitSource: limit.source }, preconditioning: setup.preconditioning });
      const state = own.state();
      if (after && !state.every((word, i) => word === after![i])) throw new Error('fitSearch: the candidates drew differently from the seed');
      after = state;
    }
    const stream = () => SeededRandom.fromState(after!);
    const monitorTrain = monitorTrainingSubset(rows, trainTargets, stream());
    // The monitored subset's draw, then the permutations: each candidate's stream goes on from here.
    const afterMonitor = stream();
    monitorTrainingSubset(rows, trainTargets, afterMonitor);

    const m = opts.batchSize ?? Math.min(...setUps.map((c) => c.numbers.batchSize));
    const smallest = setUps.findIndex((c) => c.numbers.batchSize === m);
    const batchSizeWhy = opts.batchSize !== undefined ? 'given' : `the smallest of the candidates' batch sizes (${setUps[smallest].candidate.kernel.describe()}'s ${setUps[smallest].numbers.batchSizeSource})`;
    // Epochs left out: each candidate stops by the rule on its own, as it would trained alone.
    const epochs = epochPlan(opts.epochs, false, targets.task);
    const plans = setUps.map(({ candidate, numbers }): Plan => {
      const step = analyticStepSize(m, numbers.beta, numbers.lambdaNew);
      return assemblePlan(
        {
          n: train.rows,
          d: train.cols,
          outputs: l,
          task: targets.task,
          kernel: candidate.kernel.describe(),
          bandwidth: candidate.kernel.spec.bandwidth,
          bandwidthSource: candidate.source === 'given' ? 'given' : `search grid: ${candidate.source}`,
          backend: backend.name,
          device: backend.describe().device,
          ...epochs,
          seed: opts.seed,
          setupSeconds: (performance.now() - started) / 1000,
        },
        {
          ...numbers,
          batchSize: m,
          batchSizeSource: opts.batchSize !== undefined ? numbers.batchSizeSource : 'search',
          stepSize: opts.stepSize ?? step.eta,
          stepRegime: step.regime,
          ...(choice ? { backendChoice: choice } : {}),
        },
      );
    });
    /** A candidate's sizes, for the memory plans: the largest q of them. */
    const candidateSize = { n: train.rows, d: train.cols, l, s: plans[0].subsampleSize, q: Math.max(...plans.map((p) => p.q)), m, monitorRows, setup: false };
    const lateCache = planLateCache(opts.cache, backend, candidateSize);
    // A float32 cache, where one fits beside the others', takes its place if its rounding holds a
    // candidate's residual up (eigenpro.ts).
    const lateExact = mayRefillExact(opts.cache, lateCache) ? planLateCache(opts.cache, backend, candidateSize, true) : undefined;
    /** A late candidate's own stepper: eigenpro.ts's, on its member set, with a kernel cache (lateCache). */
    const cachedStepper = async (member: SetUpCandidate, centers: CenterSet, plan: CachePlan) => {
      const { kernel } = member.candidate;
      const { preconditioning } = member;
      const cacheOf = (kept: CachePlan) => plannedKernelCache(backend, kept, kernel, train, centers, m, preconditioning?.indices);
      const exactCache = lateExact?.precision ? () => cacheOf(lateExact) : undefined;
      return eigenPro2Stepper({ backend, kernel, X: train, Y, centers, preconditioning, cache: await cacheOf(plan), ...(exactCache ? { exactCache } : {}) });
    };
    const fit = searchCandidatesPerPass(backend, candidateSize, candidates.length);
    const perPass = fit.count;
    const passes = Math.ceil(candidates.length / perPass);
    const searchPlan = (results?: { candidates: SearchCandidate[]; winner: number; sharesDistances: boolean; refit?: string }): SearchPlan => ({
      candidates: results?.candidates ?? plans.map((p, k) => candidateOf(p, setUps[k].candidate)),
      grid,
      heldOut: heldOutText,
      batchSizeWhy,
      perPass,
      passes,
      perPassWhy: fit.why,
      sharesDistances: results?.sharesDistances ?? backend.createCenterGroup !== undefined,
      lateCache,
      eigenSeconds: plans.map((p) => p.eigenSeconds),
      ...(results ? { winner: results.winner } : {}),
      ...(results?.refit ? { refit: results.refit } : {}),
    });
    await opts.onPlan?.({ ...plans[0], search: searchPlan() });

    const results: SearchCandidate[] = [];
    let best: { index: number; score: number; weights: Float32Array; history: Training; result: Awaited<ReturnType<Training['finish']>> } | undefined;
    // A holdout judged the candidates: fit() trains the kept one again on all the rows.
    const refits = !prepared.validation && opts.refit;
    // Otherwise, with one pass, the kept candidate's set goes on as the model's, weights and all:
    // building it again cost 0.3 s at MNIST 10 000 on onnx, 15 % of the pass (on onnx it stays the
    // group's streamed set, whose predictions cost ≈ 1.2× a resident set's). Across passes it is
    // built again at the end, so that no pass's memory holds a set of an earlier one.
    let kept: CenterSet | undefined;
    const keepSet = passes === 1 && !refits;
    let sharesDistances = true;
    let aborted = false;
    for (let pass = 0; pass < passes && !aborted; pass++) {
      const first = pass * perPass;
      const members = setUps.slice(first, first + perPass);
      const kernels: Kernel[] = members.map((c) => c.candidate.kernel);
      const group = await centerGroup(backend, kernels, train, l);
      sharesDistances &&= group.sharesDistances;
      const shared = new SharedSteps(backend, kernels, train, Y, group, members.map((c) => c.preconditioning));
      const cachedFrom: (number | undefined)[] = members.map(() => undefined);
      try {
        const runs = members.map((_, j) =>
          Training.start({
            Y,
            centers: group.members[j],
            stepper: shared.stepper(j),
            batchSize: m,
            stepSize: plans[first + j].stepSize,
            ...epochs,
            random: SeededRandom.fromState(afterMonitor.state()),
            monitorTrain,
            validation: heldOut,
            earlyStopping: opts.earlyStopping,
            evaluate: shared.evaluator(j),
            startedAt: started,
            onEpoch: opts.onEpoch && ((report) => opts.onEpoch!({ ...report, candidate: first + j })),
            onIteration: opts.onIteration && ((report) => opts.onIteration!({ ...report, candidate: first + j })),
          }),
        );
        const diverged = members.map(() => false);
        /** The candidates still training. */
        const going = () => runs.flatMap((run, j) => (shared.active[j] && !run.finished ? [j] : []));
        while (going().length > 0) {
          if (opts.signal?.aborted) {
            aborted = true;
            break;
          }
          shared.newRound();
          const these = going();
          for (const j of these) await runs[j].stepBatch();
          shared.newRound();
          for (const j of these) {
            await runs[j].endIteration();
            // A halving rolls the candidate back alone: it can no longer share the batches.
            if (runs[j].halvingCount > 0) {
              diverged[j] = true;
              shared.active[j] = false;
            } else if (runs[j].finished) {
              shared.active[j] = false;
            }
          }
          // Between epochs, once no more than LATE_CACHE_CANDIDATES train: each goes on alone with a kernel cache.
          const training = going();
          const cachedYet = cachedFrom.some((epoch) => epoch !== undefined);
          if (lateCache.precision && !cachedYet && training.length > 0 && training.length <= LATE_CACHE_CANDIDATES && training.every((j) => !runs[j].inEpoch)) {
            for (const j of training) {
              cachedFrom[j] = runs[j].completedEpochs + 1;
              shared.useOwnStepper(j, await cachedStepper(members[j], group.members[j], lateCache));
            }
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (let j = 0; j < runs.length; j++) {
          const k = first + j;
          // A candidate without a finished epoch was stopped by an abort: neither judged nor diverged.
          if (!diverged[j] && runs[j].completedEpochs === 0) continue;
          // The held-out figures after each epoch: a diverged candidate's up to its divergence.
          const heldOutFigures = (history: readonly EpochMetrics[]) => ({
            validationMse: history.map((h) => h.validationMse!),
            ...(targets.classes ? { validationError: history.map((h) => h.validationError!) } : {}),
          });
          if (diverged[j]) {
            results.push({ ...candidateOf(plans[k], members[j].candidate), ...heldOutFigures(runs[j].history), status: 'diverged' });
            continue;
          }
          const result = await runs[j].finish(aborted);
          const keptMetrics = result.history[result.keptEpoch - 1];
          const score = keptMetrics ? keptMetrics.validationError ?? keptMetrics.validationMse! : Number.POSITIVE_INFINITY;
          results.push({
            ...candidateOf(plans[k], members[j].candidate),
            ...heldOutFigures(result.history),
            status: 'trained',
            score,
            ...(cachedFrom[j] !== undefined ? { cachedFrom: cachedFrom[j] } : {}),
          });
          if (!best || score < best.score) best = { index: k, score, weights: await group.members[j].readWeights(), history: runs[j], result };
        }
      } finally {
        shared.dispose();
        // One pass (keepSet): the best candidate's index is its member's.
        if (keepSet && best && !aborted) kept = group.members[best.index];
        group.dispose(kept);
      }
    }
    if (!best && aborted) {
      throw new KmfitError('ABORTED', 'The search was aborted before any candidate finished its first epoch, so none was judged; there is no model to keep.');
    }
    if (!best) {
      throw new KmfitError('DIVERGED', `Every candidate of the search diverged (${candidates.map((c) => c.kernel.describe()).join(', ')}); try smaller bandwidths, or scale the features (scale: 'standard').`);
    }
    const winner = setUps[best.index].candidate.kernel;
    const found = { candidates: results, winner: best.index, sharesDistances };
    if (refits && !aborted) {
      // fit()'s own path trains it again, on a backend of its own, after this one is released.
      await backend.dispose();
      refitWith = [
        { kernel: kernelOptionOf(winner.spec), bandwidth: winner.spec.bandwidth },
        searchPlan({ ...found, refit: `the kept candidate trained again on all ${prepared.train.rows} rows` }),
      ];
    } else {
      let centers = kept;
      if (!centers) {
        centers = await backend.createCenterSet(winner, train, l);
        await centers.setWeights(best.weights);
      }
      const fromTraining = await keptFromTraining(backend, centers);
      return new KernelModel({
        kernel: winner,
        task: targets.task,
        classes: targets.classes,
        scaling: prepared.scaling,
        centers: train,
        weights: best.weights,
        plan: { ...plans[best.index], search: searchPlan(found) },
        history: best.result.history,
        stoppedBy: best.result.stoppedBy,
        keptEpoch: best.result.keptEpoch,
        ...fromTraining,
      });
    }
  } catch (error) {
    await backend.dispose();
    throw memoryFailure(error, backend.name) ?? error;
  }
  // Errors of the refit are fit()'s own: they are not this search's backend's to handle.
  return refit(...refitWith);
}

function candidateOf(plan: Plan, candidate: Candidate): SearchCandidate {
  const spec = candidate.kernel.spec;
  return { kernel: plan.kernel, name: spec.name, bandwidth: spec.bandwidth, bandwidthSource: candidate.source, q: plan.q, stepSize: plan.stepSize };
}

function formatSigma(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/**
 * The cache each of the last LATE_CACHE_CANDIDATES candidates still training would keep: the run's
 * cache plan for one, with the others' caches counted beside it (`exact`: CacheContext.exact's).
 */
function planLateCache(option: CacheOption, backend: Backend, size: PlanSize, exact = false): CachePlan {
  const run = { cluster: false, monitorRows: size.monitorRows, validationRows: 0, exact };
  let plan = planRunCache(option, backend, size, run);
  for (let others = 1; others < LATE_CACHE_CANDIDATES && plan.precision; others++) plan = planRunCache(option, backend, size, { ...run, besideBytes: others * plan.bytes });
  return plan;
}
