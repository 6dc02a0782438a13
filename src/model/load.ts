/** Reads model files written by save.ts back into a KernelModel, checking everything it trusts. */
import { chooseKernel, makeKernel, type Kernel, type KernelOption } from '../../kernels/index.js';
import { KmfitError } from '../errors.js';
import { readModelFile } from '../io/modelFile.js';
import type { NpyArray } from '../io/npy.js';
import { KernelModel } from './model.js';
import type { ModelHeader } from './save.js';

/**
 * Reads a model written by `model.save()`.
 * @throws KmfitError FILE_NOT_FOUND, MODEL_FILE_FOREIGN, MODEL_FILE_TRUNCATED, MODEL_FILE_VERSION
 */
export async function loadModel(path: string): Promise<KernelModel> {
  const file = await readModelFile(path);
  const header = file.header as Partial<ModelHeader>;
  const foreign = (what: string) =>
    new KmfitError(
      'MODEL_FILE_FOREIGN',
      `${path} is not a model this kmfit can use: ${what}. Re-save it with model.save() or retrain it.`,
    );
  if (header.task !== 'classification' && header.task !== 'regression') throw foreign('its task is missing');
  if (!header.kernel || typeof header.kernel.name !== 'string') throw foreign('its kernel is missing');
  if (!header.plan || !Array.isArray(header.history)) throw foreign('its plan or history is missing');
  const centers = float32Array(file.arrays.centers, 2, 'centers', foreign);
  const weights = float32Array(file.arrays.weights, 2, 'weights', foreign);
  const offset = float32Array(file.arrays.scaling_offset, 1, 'scaling_offset', foreign);
  const factor = float32Array(file.arrays.scaling_factor, 1, 'scaling_factor', foreign);
  const [n, d] = centers.shape;
  const l = weights.shape[1];
  if (weights.shape[0] !== n || offset.shape[0] !== d || factor.shape[0] !== d) {
    throw foreign(`its arrays disagree in shape (centers ${n}×${d}, weights ${weights.shape.join('×')})`);
  }
  const classes = header.classes ?? undefined;
  if (header.task === 'classification' && (!Array.isArray(classes) || classes.length !== l)) {
    throw foreign(`it has ${l} score columns but ${Array.isArray(classes) ? classes.length : 'no'} class labels`);
  }
  const kernel = kernelFromSpec(header.kernel);
  return new KernelModel({
    kernel,
    task: header.task,
    ...(classes ? { classes } : {}),
    scaling: { kind: header.scaling ?? 'none', offset: offset.data, factor: factor.data },
    centers: { data: centers.data, rows: n, cols: d },
    weights: weights.data,
    plan: { ...header.plan, outputs: l },
    history: header.history,
    stoppedBy: header.stoppedBy ?? 'epochs',
    keptEpoch: header.keptEpoch ?? header.history.length,
  });
}

/** The kernel option that gives back the kernel a model or checkpoint header keeps (its bandwidth aside). */
export function kernelOptionOf(spec: ModelHeader['kernel']): KernelOption {
  return spec.formula !== undefined ? { formula: spec.formula, params: spec.params } : { name: spec.name, ...spec.params };
}

/** Rebuilds a kernel from the spec a model or checkpoint header keeps. */
export function kernelFromSpec(spec: ModelHeader['kernel']): Kernel {
  return makeKernel(chooseKernel(kernelOptionOf(spec)), spec.bandwidth);
}

function float32Array(
  array: NpyArray | undefined,
  rank: number,
  name: string,
  foreign: (what: string) => KmfitError,
): { data: Float32Array; shape: number[] } {
  if (!array) throw foreign(`it has no ${name} array`);
  if (!(array.data instanceof Float32Array) || array.shape.length !== rank) {
    throw foreign(`its ${name} array is ${array.dtype} of rank ${array.shape.length}, not float32 of rank ${rank}`);
  }
  return { data: array.data, shape: array.shape };
}
