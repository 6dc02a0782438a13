/**
 * The Web Worker behind fitInWorker (package export `kmfit/worker`, dist/fitWorker.js, a module
 * worker): receives one FitRequest, runs fit() here, off the page's thread, reports the callbacks
 * the page asked for as messages, and sends the model back as what its file would hold (header and
 * arrays, as loadModel reads them), its arrays transferred, not copied.
 */
import { fit } from '../fit.js';
import { MODEL_FILE } from '../io/modelFile.js';
import { modelFileContents } from '../model/save.js';
import { errorMessage, type FitRequest, type FromWorker, type ToWorker } from './protocol.js';

// A dedicated worker's global scope, as far as it is used here (the project's TypeScript lib has no DOM).
declare function postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
declare function addEventListener(type: 'message', listener: (event: { data: ToWorker }) => void): void;

const abort = new AbortController();

async function train(request: FitRequest): Promise<void> {
  if (request.aborted) abort.abort();
  const callbacks = Object.fromEntries(request.callbacks.map((name) => [name, (report: unknown) => postMessage({ type: 'callback', name, report })]));
  try {
    // X is this worker's own copy (the message's clone): train on it rather than on a copy of it.
    const model = await fit(request.X, request.y, { ...request.options, ...callbacks, signal: abort.signal, copyX: false });
    await model.dispose(); // stops the wasm backend's own workers
    const contents = modelFileContents(model.parts);
    // A model's arrays are all float32 (the dtype names them in loadModel's messages).
    const arrays = Object.fromEntries(Object.entries(contents.arrays).map(([name, array]) => [name, { ...array, dtype: 'float32' as const }]));
    // The arrays' buffers move to the page (each once; a SharedArrayBuffer cannot move, and is copied).
    const buffers = new Set(Object.values(arrays).map((array) => array.data.buffer).filter((buffer) => buffer instanceof ArrayBuffer));
    const header = { ...contents.header, format: MODEL_FILE.format, formatVersion: MODEL_FILE.version };
    postMessage({ type: 'trained', model: { header, arrays } }, [...buffers]);
  } catch (error) {
    postMessage({ type: 'failed', error: errorMessage(error) });
  }
}

addEventListener('message', ({ data }) => {
  if (data.type === 'abort') abort.abort();
  else void train(data);
});
// Tells the page that a failure from now on is a lost worker, not one that never started.
postMessage({ type: 'started' });
