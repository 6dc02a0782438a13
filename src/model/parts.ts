/**
 * What a trained model is made of, as fit() and loadModel() hand it to KernelModel and as
 * saveModel() writes it.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend, CenterSet } from '../backends/backend.js';
import type { ClassLabel, Task } from '../data/labels.js';
import type { Scaling } from '../data/scaling.js';
import type { Matrix } from '../matrix.js';
import type { EpochMetrics, StopReason } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';

export interface ModelParts {
  readonly kernel: Kernel;
  readonly task: Task;
  readonly classes?: readonly ClassLabel[];
  readonly scaling: Scaling;
  /** Scaled training points, n×d. */
  readonly centers: Matrix;
  /** α, n×l row-major. */
  readonly weights: Float32Array;
  readonly plan: Plan;
  readonly history: readonly EpochMetrics[];
  readonly stoppedBy: StopReason;
  /** The epoch whose weights the model holds. */
  readonly keptEpoch: number;
  /** The backend and resident centers training used, reused for predictions. */
  readonly backend?: Backend;
  readonly centerSet?: CenterSet;
}
