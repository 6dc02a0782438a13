/**
 * The part of kmfit's API that runs on every host — Node.js and browsers alike: training,
 * prediction, model bytes, errors, options and their types. The entry points add their host's own:
 * index.ts (Node) files, datasets and cluster workers; browser.ts nothing.
 */
export { fit } from './fit.js';
export { loadModel, type ModelSource } from './model/load.js';
export { KernelModel, type Scores } from './model/model.js';
export { KMFIT_ERROR_CODES, KmfitError, type KmfitErrorCode } from './errors.js';
export { FIT_OPTIONS, type FitOptions, type FitOptionName, type OptionSpec, type OptionRule, type OptionCheck, type TypedOption } from './options.js';
export type { BackendName, ConcreteBackendName } from './backends/select.js';
export { BACKEND_NAMES } from './backends/select.js';
export type { CentersPlan, Plan, ProjectionPlan, SearchCandidate, SearchPlan, StepRegime, UnseenLabels } from './solver/plan.js';
export type { BandwidthOption } from '../kernels/candidates.js';
export type { StoppingRule } from './solver/convergence.js';
export { planRows, type PlanRow } from './model/summary.js';
export type { BackendChoice, BackendTime, CalibrationPoint } from './solver/capacity.js';
export type { CacheOption, CachePlan } from './solver/kernelCache.js';
export type { CachePrecision } from './backends/backend.js';
export type { CacheLeft, DivergenceReport, EpochMetrics, EpochReport, IterationReport, StepHalving, StopReason } from './solver/events.js';
export type { CheckpointOptions, CheckpointReport } from './options.js';
export type { ClusterOptions, ClusterReport } from './cluster/options.js';
export type { ServerAccess } from './cluster/connection.js';
export type { WorkerDescription } from './cluster/protocol.js';
export type { MatrixInput, ShapedInput, RowsColsInput, NdArrayLike, GenericStorage } from './data/input.js';
export type { Matrix } from './matrix.js';
export type { LabelInput, ClassLabel, Predictions, Task } from './data/labels.js';
export type { ScaleKind, Scaling } from './data/scaling.js';
export type { OpenedNpy, NpyRowChunk } from './io/openedNpy.js';
export type { KernelOption, KernelSpec } from '../kernels/index.js';
export { BUILTIN_KERNEL_NAMES } from '../kernels/index.js';
export {
  scalingStudy,
  type ScalingOptions,
  type ScalingReport,
  type ScalingRun,
  type ScalingSetting,
} from './study/scaling.js';
export { scalingFigure } from './study/figure.js';
export type { VegaLiteSpec } from './plot/vega.js';
