/**
 * `npm run datasets`: MNIST as files, for the command line's main example.
 *   datasets/mnist.npy       60 000 × 785 float32: pixels in [0, 1], then the label
 *   datasets/mnist-test.npy  10 000 × 785, the same layout
 *   datasets/mnist.npz       Keras layout: x_train (uint8, n × 28 × 28, 0–255), y_train, x_test, y_test
 * Written atomically; `kmfit datasets/mnist.npy --test datasets/mnist-test.npy` then trains on them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { encodeNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import type { Matrix } from '../src/matrix.js';
import { loadMnist } from './mnist.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function withLabelColumn(X: Matrix, y: ArrayLike<number>): Uint8Array {
  const cols = X.cols + 1;
  const data = new Float32Array(X.rows * cols);
  for (let i = 0; i < X.rows; i++) {
    data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * cols);
    data[i * cols + X.cols] = y[i];
  }
  return encodeNpy({ data, shape: [X.rows, cols] });
}

function images(X: Matrix): Uint8Array {
  return encodeNpy({ data: Uint8Array.from(X.data, (v) => Math.round(v * 255)), shape: [X.rows, 28, 28] });
}

const mnist = await loadMnist();
await writeFileAtomic(path.join(here, 'mnist.npy'), withLabelColumn(mnist.train.X, mnist.train.y));
await writeFileAtomic(path.join(here, 'mnist-test.npy'), withLabelColumn(mnist.test.X, mnist.test.y));
await writeFileAtomic(
  path.join(here, 'mnist.npz'),
  writeNpz({
    'x_train.npy': images(mnist.train.X),
    'y_train.npy': encodeNpy({ data: Uint8Array.from(mnist.train.y), shape: [mnist.train.X.rows] }),
    'x_test.npy': images(mnist.test.X),
    'y_test.npy': encodeNpy({ data: Uint8Array.from(mnist.test.y), shape: [mnist.test.X.rows] }),
  }),
);
console.log(`wrote ${['mnist.npy', 'mnist-test.npy', 'mnist.npz'].map((f) => path.join('datasets', f)).join(', ')}`);
