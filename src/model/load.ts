/** Reads model files written by save.ts back into a KernelModel, checking everything it trusts. */
import { kernelFromSpec, type Kernel } from '../../kernels/index.js';
import { KmfitError, checkPath, describeValue } from '../errors.js';
import { HeaderFields } from '../io/headerFields.js';
import { decodeModelFile, readModelFile, type DecodedModelFile } from '../io/modelFile.js';
import { KernelModel } from './model.js';

/** A model file: its path (Node.js), or its bytes (anywhere), as `model.save()` and `model.toBytes()` make them. */
export type ModelSource = string | Uint8Array | ArrayBuffer;

/** How messages name a model given as bytes. */
const BYTES_SOURCE = 'the model file in memory';

/**
 * Reads a model written by `model.save()` or `model.toBytes()`, checking every field it uses (with
 * the checkpoint reader's checks, src/io/headerFields.ts): a damaged or hand-edited file is one
 * KmfitError naming the field, never a model that predicts NaN or a summary that fails to print.
 * @param source a path (Node.js), or the file's bytes: a Uint8Array or an ArrayBuffer (from
 *   IndexedDB, `fetch(…).arrayBuffer()`, a file input). Bytes are read in place, not copied: leave
 *   them unchanged until the promise settles.
 * @throws KmfitError FILE_NOT_FOUND, MODEL_FILE_FOREIGN, MODEL_FILE_TRUNCATED, MODEL_FILE_VERSION;
 *   UNSUPPORTED_HERE for a path in a browser; INVALID_OPTION for a source that is none of these.
 * @example
 * const again = await loadModel(model.toBytes()); // the same model
 */
export async function loadModel(source: ModelSource): Promise<KernelModel> {
  return modelFromContents(await readModelSource(source), typeof source === 'string' ? source : BYTES_SOURCE);
}

/**
 * The model that a model file's contents (header and arrays) describe, every field checked; `name`
 * names the file in messages. loadModel's, and fitInWorker's for the model its worker sends (the
 * same contents, with no file between: its arrays are used as they are, not copied).
 */
export function modelFromContents(file: DecodedModelFile, name: string): KernelModel {
  const fields = new HeaderFields(file.header, file.arrays, (what) =>
    new KmfitError('MODEL_FILE_FOREIGN', `${name} is not a model this kmfit can use: ${what}. Re-save it with model.save() or retrain it.`),
  );
  const h = file.header;
  const task = fields.task(h.task);
  const plan = fields.plan(h.plan);
  const { n, d, outputs: l } = plan;
  // EigenPro 3 models keep p centers apart from the n training points.
  const p = plan.centers === undefined ? n : fields.integer(fields.object(plan.centers, 'plan.centers').count, 'plan.centers.count', 1);
  if (plan.task !== task) throw fields.unusable(`its plan.task is ${plan.task} but its task is ${task}`);
  const classes = fields.classes(h.classes, task, l);
  const history = fields.history(h.history, 'history');
  const keptEpoch = fields.integer(h.keptEpoch, 'keptEpoch', 0, history.length);
  const stoppedBy = fields.oneOf(h.stoppedBy, 'stoppedBy', ['epochs', 'early-stopping', 'converged', 'aborted'] as const);
  const spec = fields.kernel(h.kernel);
  let kernel: Kernel;
  try {
    kernel = kernelFromSpec(spec);
  } catch (error) {
    if (error instanceof KmfitError) throw fields.unusable(`its kernel is not usable (${error.message})`);
    throw error;
  }
  return new KernelModel({
    kernel,
    task,
    ...(classes ? { classes } : {}),
    scaling: {
      kind: fields.scaling(h.scaling),
      offset: fields.finiteArray('scaling_offset', Float32Array, [d]),
      factor: fields.finiteArray('scaling_factor', Float32Array, [d]),
    },
    centers: { data: fields.finiteArray('centers', Float32Array, [p, d]), rows: p, cols: d },
    weights: fields.finiteArray('weights', Float32Array, [p, l]),
    plan,
    history,
    stoppedBy,
    keptEpoch,
  });
}

function readModelSource(source: ModelSource): Promise<DecodedModelFile> | DecodedModelFile {
  if (typeof source === 'string') {
    checkPath(source, 'loadModel(path)');
    return readModelFile(source);
  }
  if (source instanceof Uint8Array) return decodeModelFile(source, BYTES_SOURCE);
  if (source instanceof ArrayBuffer) return decodeModelFile(new Uint8Array(source), BYTES_SOURCE);
  throw new KmfitError(
    'INVALID_OPTION',
    `loadModel takes a model file's path (Node.js) or its bytes (a Uint8Array or an ArrayBuffer, as model.toBytes() gives); got ${describeValue(source)}.`,
  );
}

