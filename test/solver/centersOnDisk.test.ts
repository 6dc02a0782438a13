/**
 * An EigenPro 3 model trained from an opened .npy (rows read batch by batch, in the file's dtype
 * until converted) is the model trained from the same values in memory, bit for bit, for the same
 * seed, for every scaling; and a checkpoint written from either resumes from the other.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit, openNpy, type FitOptions } from '../../src/index.js';
import { encodeNpy } from '../../src/io/npy.js';
import { abortAfter, expectSameModel } from '../reliability/helpers/runs.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('centers-on-disk');
const n = 600;
const d = 12;

// uint8 "images": three classes with different mean brightness in different pixels, plus noise.
let state = 12345;
const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const labels = Array.from({ length: n }, (_, i) => i % 3);
const pixels = new Uint8Array(n * (d + 1));
for (let i = 0; i < n; i++) {
  for (let j = 0; j < d; j++) pixels[i * (d + 1) + j] = Math.min(255, Math.round(60 * next() + (j % 3 === labels[i] ? 150 : 20)));
  pixels[i * (d + 1) + d] = labels[i];
}
const file = path.join(dir, 'digits-u8.npy');
writeFileSync(file, encodeNpy({ data: pixels, shape: [n, d + 1] }));
/** The same values in memory: the feature columns as float32. */
const inMemory = { data: Float32Array.from({ length: n * d }, (_, k) => pixels[Math.floor(k / d) * (d + 1) + (k % d)]), shape: [n, d] as [number, number] };

const base: FitOptions = { backend: 'js', kernel: 'gaussian', bandwidth: 60, epochs: 3, centers: 80, batchSize: 50, seed: 3 };

describe('EigenPro 3 from disk', () => {
  for (const scale of ['none', 'minmax', 'standard'] as const) {
    it(`equals the in-memory model bit for bit (scale '${scale}')`, async () => {
      const opened = openNpy(file);
      try {
        const features = opened.columns(0, d);
        const y = opened.columns(d, d + 1).readColumnFloat64();
        expect(Array.from(y)).toEqual(labels);
        const fromDisk = await fit(features, y, { ...base, scale });
        const fromMemory = await fit(inMemory, labels, { ...base, scale });
        expectSameModel(fromDisk, fromMemory);
        expect(fromDisk.history.at(-1)!.trainError!).toBeLessThan(0.05);
      } finally {
        opened.close();
      }
    });
  }

  it("the training rows' first rows ('auto' times the backends on them) are the same from disk and from memory", async () => {
    const { prepareTraining } = await import('../../src/prepare.js');
    const opened = openNpy(file);
    try {
      for (const scale of ['none', 'standard'] as const) {
        const options = { seed: 0, labelName: 'y', bandwidth: 60, copyX: false, scale };
        const fromDisk = prepareTraining(opened.columns(0, d), labels, { ...options, onDisk: true }).rows;
        const inRam = prepareTraining(inMemory, labels, options).rows;
        const first = Int32Array.from({ length: 7 }, (_, i) => i);
        expect(fromDisk.first(7)).toEqual(inRam.take(first));
        expect(inRam.first(7)).toEqual(inRam.take(first));
      }
      // In memory, a view of the rows: no copy.
      const shared = prepareTraining(inMemory, labels, { seed: 0, labelName: 'y', bandwidth: 60, copyX: false, scale: 'none' }).rows.first(7);
      expect(shared.data.buffer).toBe(inMemory.data.buffer);
    } finally {
      opened.close();
    }
  });

  it('a checkpoint written from memory resumes from disk, to the uninterrupted model', async () => {
    const reference = await fit(inMemory, labels, base);
    const checkpoint = path.join(dir, 'run.checkpoint');
    await fit(inMemory, labels, { ...base, ...abortAfter(17), checkpoint: { path: checkpoint } });
    const opened = openNpy(file);
    try {
      const resumed = await fit(opened.columns(0, d), opened.columns(d, d + 1).readColumnFloat64(), { resumeFrom: checkpoint, backend: 'js' });
      expectSameModel(resumed, reference);
    } finally {
      opened.close();
    }
  });
});
