/**
 * kmfit: kernel machines trained with EigenPro 2.
 *
 * @example
 * import { fit, loadModel } from 'kmfit';
 * const model = await fit(X, y, { kernel: 'laplacian' });
 * const labels = await model.predict(Xtest);
 * await model.save('model.kmfit');
 *
 * @module kmfit
 */
export * from './portable.js';
// Node.js only: files opened for reading, cluster workers, the bundled datasets. (In a browser,
// package.json's `browser` condition gives browser.ts instead.)
export { openNpy, isOpenedNpy } from './io/npyFile.js';
export { runWorker, type WorkerOptions } from './cluster/worker.js';
export { loadMnist, loadFashionMnist, type Dataset, type LoadOptions } from '../datasets/mnist.js';
export { loadDiamonds, type RegressionDataset } from '../datasets/diamonds.js';
