/**
 * fitScalingStreaming (issue 16: statistics of data read from disk in chunks) gives the Scaling of
 * fitScaling on the whole matrix, bit for bit, for every kind and chunk size.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitScaling, fitScalingStreaming, type RowChunk, type ScaleKind } from '../../src/data/scaling.js';
import { KmfitError } from '../../src/errors.js';
import { encodeNpy } from '../../src/io/npy.js';
import { openNpy } from '../../src/io/npyFile.js';
import type { Matrix } from '../../src/matrix.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('scaling-streaming');
const KINDS: ScaleKind[] = ['minmax', 'standard', 'none'];
const next = lcg(1617);

/** rows × cols of values of very different scales, with a constant column and a near-constant one. */
function sample(rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = (next() - 0.3) * 10 ** (j - 2);
    data[i * cols] = 7.25;
    data[i * cols + 1] = i === rows - 1 ? 1 + 2 ** -20 : 1;
  }
  return { data, rows, cols };
}

/** The matrix cut into chunks of `chunkRows` rows (views). */
function chunked(X: Matrix, chunkRows: number): RowChunk[] {
  const chunks: RowChunk[] = [];
  for (let start = 0; start < X.rows; start += chunkRows) {
    const rows = Math.min(chunkRows, X.rows - start);
    chunks.push({ data: X.data.subarray(start * X.cols, (start + rows) * X.cols), rows });
  }
  return chunks;
}

const bits = (s: { offset: Float32Array; factor: Float32Array; kind: string }) => ({
  kind: s.kind,
  offset: Array.from(new Uint32Array(s.offset.buffer.slice(0))),
  factor: Array.from(new Uint32Array(s.factor.buffer.slice(0))),
});

describe('fitScalingStreaming', () => {
  const X = sample(101, 6);

  for (const kind of KINDS) {
    it(`${kind}: chunks of 1, 7 and all rows give fitScaling's Scaling bit for bit`, () => {
      const whole = bits(fitScaling(X, kind));
      for (const chunkRows of [1, 7, X.rows]) expect(bits(fitScalingStreaming(chunked(X, chunkRows), X.cols, kind))).toEqual(whole);
      // Empty chunks in between change nothing.
      const withEmpty = chunked(X, 7).flatMap((c) => [c, { data: new Float32Array(0), rows: 0 }]);
      expect(bits(fitScalingStreaming(withEmpty, X.cols, kind))).toEqual(whole);
    });

    it(`${kind}: a file opened from disk (float32 and uint8), chunk by chunk, as in memory`, () => {
      const u8 = Uint8Array.from({ length: 57 * 5 }, (_, i) => (i % 5 === 2 ? 9 : Math.floor(next() * 256)));
      for (const [name, data, cols] of [['f32.npy', X.data, X.cols], ['u8.npy', u8, 5]] as const) {
        const file = path.join(dir, name);
        writeFileSync(file, encodeNpy({ data, shape: [data.length / cols, cols] }));
        const opened = openNpy(file);
        try {
          const features = opened.columns(0, cols - 1);
          const whole = bits(fitScaling({ data: features.readRange(0, features.rows), rows: features.rows, cols: features.cols }, kind));
          for (const chunkRows of [1, 7, features.rows, undefined]) {
            expect(bits(fitScalingStreaming(features.chunks(chunkRows), features.cols, kind))).toEqual(whole);
          }
        } finally {
          opened.close();
        }
      }
    });
  }

  it('refuses a bad kind, no rows, a chunk of the wrong size, and a one-shot generator for standard', () => {
    expect(() => fitScalingStreaming([], 3, 'zscore' as ScaleKind)).toThrow(KmfitError);
    expect(() => fitScalingStreaming([], 3, 'minmax')).toThrow(/0 rows/);
    expect(fitScalingStreaming([], 3, 'none').factor).toEqual(new Float32Array(3).fill(1));
    expect(() => fitScalingStreaming([{ data: new Float32Array(5), rows: 2 }], 3, 'minmax')).toThrow(RangeError);
    function* once() {
      yield* chunked(X, 10);
    }
    expect(() => fitScalingStreaming(once(), X.cols, 'standard')).toThrow(/101 rows on the first pass and 0 on the second/);
    expect(bits(fitScalingStreaming(once(), X.cols, 'minmax'))).toEqual(bits(fitScaling(X, 'minmax')));
  });
});
