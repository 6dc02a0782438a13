/**
 * kmfit in a browser (a page or a Web Worker): package.json's `browser` condition resolves
 * `import … from 'kmfit'` here. The same fit, predict, predictScores and score as in Node; models
 * travel as bytes (`model.toBytes()`, `loadModel(bytes)`) instead of files, and nothing in this
 * entry's import graph is a Node.js module (test/browser/bundle.test.ts bundles it to check).
 * `fitInWorker` trains in a Web Worker (src/worker/), so that a page stays responsive.
 *
 * @example
 * import { fit, loadModel } from 'kmfit';
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const bytes = await model.toBytes();   // the .kmfit file format: keep it in IndexedDB
 * const again = await loadModel(bytes);
 *
 * @module kmfit/browser
 */
export * from './portable.js';
export { fitInWorker, type WorkerScript } from './worker/fitInWorker.js';
