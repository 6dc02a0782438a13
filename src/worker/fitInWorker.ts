/**
 * fitInWorker(): fit() in a Web Worker, so that a page stays responsive while it trains (set-up's
 * eigensolver alone holds its thread for seconds). The model comes back as a model file's contents
 * (its header and arrays, transferred, not copied) and is built here, on the calling thread, ready
 * to predict: no file between, so no copy and no checksum holds this thread.
 */
import type { MatrixInput } from '../data/input.js';
import type { LabelInput } from '../data/labels.js';
import { KmfitError } from '../errors.js';
import type { DecodedModelFile } from '../io/modelFile.js';
import { modelFromContents } from '../model/load.js';
import type { KernelModel } from '../model/model.js';
import type { FitOptions } from '../options.js';
import { errorFrom, fitRequest, type FromWorker, type ToWorker } from './protocol.js';

/** The slice of the Web Worker API used here (the project's TypeScript lib has no DOM). */
interface FitWorker {
  postMessage(message: ToWorker): void;
  addEventListener(type: 'message', listener: (event: { data: FromWorker }) => void): void;
  addEventListener(type: 'error', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}
declare const Worker: (new (url: string | URL, options: { type: 'module' }) => FitWorker) | undefined;

/** Where the worker's script is. */
export interface WorkerScript {
  /**
   * The URL of kmfit's worker module (the package export `kmfit/worker`). Default: fitWorker.js
   * beside kmfit's browser build — which webpack, Vite and Parcel bundle on their own; with esbuild,
   * build `kmfit/worker` to fitWorker.js beside your bundle, or give its URL here.
   */
  readonly url?: string | URL;
}

function startWorker(script: WorkerScript): FitWorker {
  if (typeof Worker === 'undefined') {
    throw new KmfitError(
      'UNSUPPORTED_HERE',
      'fitInWorker needs Web Workers, which this JavaScript environment does not have. Call fit() instead (in Node.js its wasm backend already computes on worker threads).',
    );
  }
  // Written out whole so that bundlers see the pattern and bundle the worker with the page.
  return script.url === undefined ? new Worker(new URL('./fitWorker.js', import.meta.url), { type: 'module' }) : new Worker(script.url, { type: 'module' });
}

/**
 * Trains as fit() does, in a module Web Worker, and returns the model on this thread. The progress
 * callbacks (onPlan, onEpoch, onIteration, onDivergence) are called here with the worker's reports;
 * `signal` stops the training in the worker, which keeps the best model so far, as fit() does.
 *
 * Everything else in the options must be data: it is copied to the worker (structured clone), as
 * are X and y (a Float32Array as it is, other forms after conversion to one).
 *
 * @param script where kmfit's worker module is (see WorkerScript); by default beside kmfit.
 * @throws KmfitError as fit() does; INVALID_OPTION for an option holding a function other than a
 *   callback; UNSUPPORTED_HERE where there are no Web Workers or the worker does not start (its
 *   script not found, or a Content Security Policy refusing it); WORKER_LOST if it stops.
 * @example
 * const model = await fitInWorker(X, y, { kernel: 'gaussian', onEpoch: (e) => chart.add(e) });
 * const labels = await model.predict(Xtest);
 */
export async function fitInWorker(X: MatrixInput, y: LabelInput, options?: FitOptions, script: WorkerScript = {}): Promise<KernelModel> {
  const request = fitRequest(X, y, options);
  const worker = startWorker(script);
  const signal = options?.signal;
  const abort = () => worker.postMessage({ type: 'abort' });
  try {
    const trained = new Promise<DecodedModelFile>((resolve, reject) => {
      let started = false;
      worker.addEventListener('message', ({ data }) => {
        switch (data.type) {
          case 'started':
            started = true;
            break;
          case 'trained':
            resolve(data.model);
            break;
          case 'failed':
            reject(errorFrom(data.error));
            break;
          case 'callback':
            // A callback that throws ends the training, as in fit().
            try {
              (options?.[data.name] as ((report: unknown) => void) | undefined)?.(data.report);
            } catch (error) {
              reject(error);
            }
        }
      });
      worker.addEventListener('error', (event) => {
        const why = event.message ?? 'no reason given';
        reject(
          started
            ? new KmfitError(
                'WORKER_LOST',
                `fitInWorker's Web Worker stopped during training (${why}). Train again; if the page ran out of memory, on fewer points (or centers).`,
              )
            : new KmfitError(
                'UNSUPPORTED_HERE',
                `fitInWorker's Web Worker did not start (${why}): its module (kmfit/worker, fitWorker.js) must be served beside kmfit's build or ` +
                  "given as fitInWorker's script.url, and a Content Security Policy must allow it (worker-src 'self').",
              ),
        );
      });
      signal?.addEventListener('abort', abort, { once: true });
      worker.postMessage(request);
    });
    return modelFromContents(await trained, 'the model trained in the worker');
  } finally {
    signal?.removeEventListener('abort', abort);
    worker.terminate();
  }
}
