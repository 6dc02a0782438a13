/**
 * kmfit: kernel machines trained with EigenPro 2.
 *
 * @example
 * import { fit, loadModel } from 'kmfit';
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const labels = await model.predict(Xtest);
 * await model.save('model.kmfit');
 */
export { fit } from './fit.js';
export { loadModel } from './model/load.js';
export { KernelModel, type Scores } from './model/model.js';
export { KmfitError, type KmfitErrorCode } from './errors.js';
export type { FitOptions, BackendName } from './options.js';
export type { Plan } from './solver/setup.js';
export type { EpochMetrics, EpochReport, IterationReport, StopReason } from './solver/events.js';
export type { MatrixInput } from './data/input.js';
export type { LabelInput, ClassLabel, Predictions, Task } from './data/labels.js';
export type { ScaleKind } from './data/scaling.js';
export type { KernelOption, KernelSpec } from '../kernels/index.js';
export { BUILTIN_KERNEL_NAMES } from '../kernels/index.js';
export { loadMnist, loadFashionMnist, type Dataset } from '../datasets/mnist.js';
