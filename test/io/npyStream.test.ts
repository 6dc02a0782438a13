/**
 * The streaming .npy writer (src/io/npyStream.ts) over the streaming atomic write
 * (src/io/atomicWrite.ts: writeFileAtomicStream): the file equals encodeNpy's, appears only when
 * complete, and a failure mid-way leaves neither the file nor a temporary.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomicStream } from '../../src/io/atomicWrite.js';
import { encodeNpy, encodeNpyHeader, encodeNpyParts } from '../../src/io/npy.js';
import { writeNpyStream } from '../../src/io/npyStream.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const folder = temporaryDirectory('npy-stream');

describe('encodeNpyHeader', () => {
  it('is the header encodeNpy writes', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 4);
    expect(encodeNpyHeader('float32', [3, 4])).toEqual(encodeNpyParts({ data, shape: [3, 4] })[0]);
    expect(encodeNpyHeader('uint8', [5])).toEqual(encodeNpyParts({ data: new Uint8Array(5), shape: [5] })[0]);
  });

  it('spells the uint8 dict as numpy does and pads the data to 64 bytes', () => {
    const head = encodeNpyHeader('uint8', [1_000_000, 785]);
    expect(head.length % 64).toBe(0);
    const text = new TextDecoder('latin1').decode(head.subarray(10));
    expect(text.trimEnd()).toBe("{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 785), }");
  });
});

describe('writeNpyStream', () => {
  const rows = 10;
  const cols = 7;
  const data = Uint8Array.from({ length: rows * cols }, (_, i) => (i * 37) % 256);

  it('writes, chunk by chunk, the bytes encodeNpy writes at once', async () => {
    const file = path.join(folder, 'chunks.npy');
    await writeNpyStream(file, { dtype: 'uint8', shape: [rows, cols] }, async (write) => {
      for (let r = 0; r < rows; r += 3) await write(data.subarray(r * cols, Math.min(rows, r + 3) * cols));
    });
    expect(new Uint8Array(readFileSync(file))).toEqual(encodeNpy({ data, shape: [rows, cols] }));
  });

  it.runIf(RUN_NUMPY_TESTS)('numpy reads it', async () => {
    const file = path.join(folder, 'numpy.npy');
    await writeNpyStream(file, { dtype: 'uint8', shape: [rows, cols] }, (write) => write(data));
    const read = runPython(
      'import json, sys, numpy; a = numpy.load(sys.argv[1]); print(json.dumps([a.dtype.str, a.shape, a.ravel().tolist()]))',
      file,
    );
    expect(read).toEqual(['|u1', [rows, cols], Array.from(data)]);
  });

  it('too few or too many bytes: INVALID_SHAPE, no file, no temporary', async () => {
    const short = path.join(folder, 'short.npy');
    const message = await asyncErrorOf(
      writeNpyStream(short, { dtype: 'uint8', shape: [rows, cols] }, (write) => write(data.subarray(1))),
      'INVALID_SHAPE',
    );
    expect(message).toContain('only 69 bytes');
    const long = path.join(folder, 'long.npy');
    await asyncErrorOf(
      writeNpyStream(long, { dtype: 'uint8', shape: [rows, cols] }, async (write) => {
        await write(data);
        await write(data.subarray(0, 1));
      }),
      'INVALID_SHAPE',
    );
    expect(readdirSync(folder).filter((name) => name.includes('short') || name.includes('long'))).toEqual([]);
  });
});

describe('writeFileAtomicStream', () => {
  it("a producer's own error comes back unchanged; the old file stays and no temporary is left", async () => {
    const file = path.join(folder, 'kept.bin');
    writeFileSync(file, 'old contents');
    const failure = new Error('the generator broke');
    const caught = await writeFileAtomicStream(file, async (write) => {
      await write(new Uint8Array(1000));
      throw failure;
    }).catch((error: unknown) => error);
    expect(caught).toBe(failure);
    expect(readFileSync(file, 'utf8')).toBe('old contents');
    expect(readdirSync(folder).filter((name) => name.startsWith('.kept.bin'))).toEqual([]);
  });

  it('a missing directory is a FILE_NOT_FOUND, as for writeFileAtomic', async () => {
    await asyncErrorOf(
      writeFileAtomicStream(path.join(folder, 'absent', 'x.bin'), (write) => write(new Uint8Array(1))),
      'FILE_NOT_FOUND',
    );
  });
});
