/**
 * Mutated data files: truncations, flipped bytes, inserted garbage and duplicated chunks of valid
 * .npy, .npz, IDX, CSV/TSV and libsvm files (seeded). Every read must either succeed with consistent shapes or throw
 * a KmfitError — never another error, never a hang.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import { readDataFile } from '../../src/io/dataFile.js';
import { encodeNpy } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/npz.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('fuzz');
const table = Float64Array.from({ length: 5 * 4 }, (_, i) => (i % 4 === 3 ? i % 3 : i / 7));

function idxImages(): Uint8Array {
  const header = [0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
  return Uint8Array.from([...header, ...Array.from({ length: 12 }, (_, i) => i * 20)]);
}

const SEEDS: [string, Uint8Array][] = [
  ['npy', encodeNpy({ data: table, shape: [5, 4] })],
  ['npy', encodeNpy({ data: Float32Array.from(table), shape: [5, 4] })],
  ['npz', writeNpz({ 'X.npy': encodeNpy({ data: table, shape: [5, 4] }), 'y.npy': encodeNpy({ data: Int32Array.from([0, 1, 0, 1, 1]), shape: [5] }) })],
  ['idx', idxImages()],
  ['idx.gz', gzipSync(idxImages())],
  ['csv', new TextEncoder().encode('width,height,"kind"\n1.5,2,cat\n3,4e-1,"dog, big"\n5,6,cat\n')],
  ['tsv', new TextEncoder().encode('1\t2\t0\n3\t4\t1\n5\t6\t0\n')],
  ['svm', new TextEncoder().encode('# libsvm\n1 qid:3 1:0.5 4:-2e-1 7:3\n-1 2:1.25\n\n0 1:1 3:4 # last\n')],
];

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const at = Math.floor(random() * bytes.length);
  switch (Math.floor(random() * 4)) {
    case 0: // truncate
      return bytes.slice(0, at);
    case 1: {
      // flip a few bytes
      const copy = bytes.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) copy[Math.floor(random() * copy.length)] ^= 1 + Math.floor(random() * 255);
      return copy;
    }
    case 2: {
      // insert garbage
      const garbage = Uint8Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256));
      return Uint8Array.from([...bytes.subarray(0, at), ...garbage, ...bytes.subarray(at)]);
    }
    default: {
      // duplicate a chunk
      const end = Math.min(bytes.length, at + 1 + Math.floor(random() * 32));
      return Uint8Array.from([...bytes.subarray(0, end), ...bytes.subarray(at, end), ...bytes.subarray(end)]);
    }
  }
}

describe('mutated data files', () => {
  it('either read consistently or fail with a KmfitError', async () => {
    const random = lcg(2026);
    const started = performance.now();
    let cases = 0;
    let failures = 0;
    const unexpected: string[] = [];
    while (cases < 3000 && performance.now() - started < 25_000) {
      const [kind, bytes] = SEEDS[cases % SEEDS.length];
      const file = path.join(dir, `case.${kind}`);
      writeFileSync(file, mutate(bytes, random));
      cases++;
      try {
        // Now and then as a test file (a libsvm one densified to a fixed width) or its first rows.
        const options = { label: kind.startsWith('idx') ? 'none' : undefined, features: cases % 3 === 0 ? 7 : undefined, rows: cases % 5 === 0 ? 2 : undefined };
        const { train } = await readDataFile(file, options);
        expect(train.X.data.length).toBe(train.X.rows * train.X.cols);
        if (train.y) expect(train.y.length).toBe(train.X.rows);
      } catch (error) {
        failures++;
        if (!(error instanceof KmfitError)) unexpected.push(`${kind} case ${cases}: ${String(error)}`);
      }
    }
    expect(unexpected.slice(0, 5)).toEqual([]);
    expect(cases).toBeGreaterThan(500);
    expect(failures).toBeGreaterThan(cases / 4); // the mutations do break most files
  }, 60_000);
});
