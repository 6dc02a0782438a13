/**
 * A trained kernel machine: the centers (the scaled training points), the weights α, the kernel,
 * the scaling, the labels, and the plan and history of its training. Predictions are k(x, X)·α.
 */
import type { KernelSpec } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import { autoFor, createBackend, type BackendName } from '../backends/select.js';
import { toMatrix, type MatrixInput } from '../data/input.js';
import {
  argmaxRows,
  decodeScores,
  encodeScoreTargets,
  meanSquaredError,
  r2Score,
  type ClassLabel,
  type LabelInput,
  type Predictions,
  type Task,
} from '../data/labels.js';
import { applyScaling, type Scaling } from '../data/scaling.js';
import { KmfitError, checkPath } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { predictInChunks } from '../solver/eigenpro.js';
import type { EpochMetrics, StopReason } from '../solver/events.js';
import type { Plan, SearchPlan } from '../solver/plan.js';
import { modelSummary } from './html.js';
import { outputsText } from './summary.js';
import type { ModelParts } from './parts.js';
import { modelBytes, saveModel } from './save.js';

export type { ModelParts } from './parts.js';


/**
 * Releases the workers and device memory of a model that was dropped without dispose(): several
 * models trained one after another in a long-lived process (a notebook) do not pile up threads.
 * The registry holds the backend, never the model, so the model can be collected.
 */
const abandoned = new FinalizationRegistry<Backend>((backend) => {
  void backend.dispose().catch(() => undefined);
});

/**
 * Idle backend memory (Backend.idleBytes) above which a model does not keep its training's
 * backend: as much as the wasm backend keeps of scratch between calls (256 MiB), so that a model
 * holds no more than it did before kernel caches lived in WebAssembly memory.
 */
const MODEL_IDLE_BYTES = 256 * 2 ** 20;

/**
 * What a new model keeps of its training (fit()'s and a search's): the backend and, where given,
 * the resident centers; neither where the backend would keep more than MODEL_IDLE_BYTES that the
 * run no longer needs (wasm's WebAssembly memory, grown for a kernel cache, never shrinks: 610 MB
 * more resident with letter's model). Those are released, and the model starts a fresh backend,
 * holding only its centers, at its first prediction.
 */
export async function keptFromTraining(backend: Backend, centerSet: CenterSet | undefined): Promise<Pick<ModelParts, 'backend' | 'centerSet'>> {
  if (!((backend.idleBytes?.() ?? 0) > MODEL_IDLE_BYTES)) return { backend, ...(centerSet ? { centerSet } : {}) };
  centerSet?.dispose();
  await backend.dispose();
  return {};
}

/** Raw model outputs: n×l, row-major. */
export interface Scores {
  readonly data: Float32Array;
  readonly shape: [number, number];
}

export class KernelModel {
  readonly kernel: KernelSpec;
  readonly task: Task;
  /** Classification: the class labels, in the order of the score columns. */
  readonly classes?: readonly ClassLabel[];
  readonly scaling: Scaling;
  /** The set-up block: s, q, eigenvalues, β, critical batch sizes, m_G, batch and step size, backend. */
  readonly plan: Plan;
  /** Per-epoch metrics. */
  readonly history: readonly EpochMetrics[];
  readonly stoppedBy: StopReason;
  readonly keptEpoch: number;
  /** @internal */
  readonly parts: ModelParts;
  private backend?: Backend;
  private centerSet?: CenterSet;

  /**
   * A bandwidth search's candidates with their held-out figures per epoch, and the winner (this
   * model); undefined for a model trained with one kernel and bandwidth.
   */
  get search(): SearchPlan | undefined {
    return this.parts.plan.search;
  }

  /** @internal Models come from fit() and loadModel(). */
  constructor(parts: ModelParts) {
    // The backend is held in one place only, so that dispose() lets go of it (and its device).
    const { backend: _backend, centerSet: _centerSet, ...data } = parts;
    this.parts = data;
    this.kernel = parts.kernel.spec;
    this.task = parts.task;
    if (parts.classes) this.classes = parts.classes;
    this.scaling = parts.scaling;
    this.plan = parts.plan;
    this.history = parts.history;
    this.stoppedBy = parts.stoppedBy;
    this.keptEpoch = parts.keptEpoch;
    this.backend = parts.backend;
    this.centerSet = parts.centerSet;
    if (this.backend) abandoned.register(this, this.backend, this);
  }

  /** d: the number of features the model takes. */
  get features(): number {
    return this.parts.centers.cols;
  }

  /** l: scores per row (classes, or regression outputs). */
  get outputs(): number {
    return this.parts.plan.outputs;
  }

  /**
   * Raw outputs k(x, X)·α, n×l: one column per class (classification) or per output (regression).
   * @throws KmfitError FEATURE_MISMATCH, NON_FINITE, INVALID_SHAPE, EMPTY_DATA
   */
  async predictScores(X: MatrixInput): Promise<Scores> {
    const input = this.prepareInput(X, 'X');
    const centers = await this.residentCenters();
    const data = await predictInChunks(centers, input);
    return { data, shape: [input.rows, this.outputs] };
  }

  /**
   * Class labels (of the type given to fit) for classification; for regression a Float64Array
   * (one output) or number[][] (several).
   */
  async predict(X: MatrixInput): Promise<Predictions> {
    const scores = await this.predictScores(X);
    return decodeScores({ data: scores.data, rows: scores.shape[0], cols: scores.shape[1] }, this);
  }

  /** Accuracy for classification (unseen labels count as errors), R² for regression. */
  async score(X: MatrixInput, y: LabelInput): Promise<number> {
    const rows = this.prepareInput(X, 'X').rows;
    const truth = encodeScoreTargets(y, rows, this, { X: 'X', y: 'y' });
    const scores = await this.predictScores(X);
    const predicted = { data: scores.data, rows, cols: this.outputs };
    if (truth.task === 'classification') {
      // Unseen labels have class index −1, which no prediction equals.
      const predictedIndex = argmaxRows(predicted);
      let right = 0;
      for (let i = 0; i < rows; i++) if (truth.classIndex[i] === predictedIndex[i]) right++;
      return right / rows;
    }
    return r2Score(truth.values, predicted);
  }

  /** Mean squared error of the raw outputs against regression targets. */
  async meanSquaredError(X: MatrixInput, y: LabelInput): Promise<number> {
    const rows = this.prepareInput(X, 'X').rows;
    const truth = encodeScoreTargets(y, rows, this, { X: 'X', y: 'y' });
    if (truth.task !== 'regression') {
      throw new KmfitError('INVALID_OPTION', 'meanSquaredError() is for regression models; use score() for accuracy.');
    }
    const scores = await this.predictScores(X);
    return meanSquaredError(truth.values, { data: scores.data, rows, cols: this.outputs });
  }

  /**
   * Saves the model to a versioned .npz file (docs/model-format.md) atomically. Node.js only: in a
   * browser, keep `toBytes()` instead.
   * @throws KmfitError IO_ERROR when the file cannot be written (a full disk, permissions: nothing
   *   is left behind, and the model is unchanged: save it to another path), FILE_NOT_FOUND when its
   *   directory does not exist, INVALID_OPTION when `path` is not a non-empty string,
   *   UNSUPPORTED_HERE in a browser.
   */
  async save(path: string): Promise<void> {
    checkPath(path, 'model.save(path)');
    await saveModel(this.parts, path);
  }

  /**
   * The model file `save()` writes, byte for byte, in memory: for a browser (IndexedDB, a
   * download) or a database. `loadModel(bytes)` reads it back. It holds a copy of the centers and
   * weights, so it is about as large as they are (n·(d + l)·4 bytes).
   * @example
   * const bytes = model.toBytes();
   * const again = await loadModel(bytes);
   */
  toBytes(): Uint8Array {
    return modelBytes(this.parts);
  }

  /**
   * An HTML summary — task, sizes, kernel, the plan and the history as tables — for notebooks:
   * `tslab.display.html(model.toHTML())`.
   */
  toHTML(): string {
    return modelSummary(this);
  }

  /** What console.log and a notebook cell's last value show: one line, not the weights. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const size = `${this.parts.centers.rows} centers × ${this.features} features → ${outputsText(this)}`;
    return `KernelModel { ${this.task}, ${size}, kernel ${this.plan.kernel}, ${this.history.length} epochs (${this.stoppedBy}) }`;
  }

  /** Releases the backend's workers and device memory; predictions after this start a new one. */
  async dispose(): Promise<void> {
    abandoned.unregister(this);
    this.centerSet?.dispose();
    await this.backend?.dispose();
    this.centerSet = undefined;
    this.backend = undefined;
  }

  /** Switches the backend used for predictions. */
  async useBackend(name: BackendName): Promise<void> {
    await this.dispose();
    this.backend = await createBackend(name);
    abandoned.register(this, this.backend, this);
  }

  private prepareInput(X: MatrixInput, what: string): Matrix {
    const input = toMatrix(X, what);
    if (input.cols !== this.features) {
      throw new KmfitError(
        'FEATURE_MISMATCH',
        `${what} has ${input.cols} features per row but the model was trained on ${this.features}; ` +
          'pass rows with the same features, in the same order, as in training.',
      );
    }
    return applyScaling(input, this.scaling);
  }

  private async residentCenters(): Promise<CenterSet> {
    if (!this.centerSet) {
      if (!this.backend) {
        this.backend = await createBackend(await autoFor(this.plan.backend));
        abandoned.register(this, this.backend, this);
      }
      const set = await this.backend.createCenterSet(this.parts.kernel, this.parts.centers, this.outputs);
      await set.setWeights(this.parts.weights);
      this.centerSet = set;
    }
    return this.centerSet;
  }
}
