/**
 * Models as bytes (model.toBytes(), loadModel(bytes)): the same file as model.save() writes, so a
 * model moves between Node and a page, in both directions, bit for bit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit, KmfitError, loadModel } from '../../src/index.js';
import { randomPoints } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('bytes');
const X = randomPoints(120, 3, 11);
const Xtest = randomPoints(30, 3, 12);
const y = X.map((x) => (x[0] + x[1] < 1 ? 'low' : 'high'));

async function errorOf(promise: Promise<unknown>): Promise<KmfitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmfitError);
    return error as KmfitError;
  }
  throw new Error('expected a KmfitError');
}

describe('a model as bytes', () => {
  it('toBytes() is the file save() writes; loadModel reads back a saved file from bytes and bytes into a file, bit for bit', async () => {
    const model = await fit(X, y, { kernel: { name: 'matern', nu: 1.5 }, scale: 'standard', epochs: 2 });
    const file = path.join(dir, 'node.kmfit');
    await model.save(file);
    const saved = new Uint8Array(readFileSync(file));
    const bytes = model.toBytes();
    expect(bytes).toEqual(saved);

    // Node → page: the file's bytes, as a Uint8Array and as an ArrayBuffer (IndexedDB gives either).
    const fromBytes = await loadModel(saved);
    const fromBuffer = await loadModel(saved.buffer.slice(saved.byteOffset, saved.byteOffset + saved.byteLength));
    // Page → Node: the loaded model's bytes, written to a file and loaded by path.
    const back = path.join(dir, 'page.kmfit');
    writeFileSync(back, fromBuffer.toBytes());
    const fromFile = await loadModel(back);
    expect(new Uint8Array(readFileSync(back))).toEqual(saved);

    const expected = (await model.predictScores(Xtest)).data;
    for (const loaded of [fromBytes, fromBuffer, fromFile]) {
      expect(loaded.toBytes()).toEqual(saved);
      expect((await loaded.predictScores(Xtest)).data).toEqual(expected);
      expect(await loaded.predict(Xtest)).toEqual(await model.predict(Xtest));
      expect(loaded.plan).toEqual(model.plan);
      expect(loaded.history).toEqual(model.history);
      await loaded.dispose();
    }
    await model.dispose();
  });

  it('damaged or foreign bytes are the same errors as such files, naming "the model file in memory"', async () => {
    const model = await fit(X, y, { epochs: 1 });
    const bytes = model.toBytes();
    await model.dispose();
    const cut = await errorOf(loadModel(bytes.subarray(0, bytes.length - 100)));
    expect(cut.code).toBe('MODEL_FILE_TRUNCATED');
    expect(cut.message).toMatch(/^the model file in memory is damaged or cut short/);
    const png = await errorOf(loadModel(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    expect(png.code).toBe('MODEL_FILE_FOREIGN');
    expect(png.message).toContain('PNG');
  });

  it('a source that is neither a path nor bytes is INVALID_OPTION, naming what loadModel takes', async () => {
    for (const source of [42, new Float32Array(4), { bytes: [] }, null]) {
      const error = await errorOf(loadModel(source as unknown as string));
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toContain('Uint8Array or an ArrayBuffer');
    }
  });
});
