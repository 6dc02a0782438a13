/**
 * Files that lie about their sizes (seeded property test): deflate bombs of about 1000:1 behind
 * .npy headers that declare a few bytes, zip size fields (zip64 included) that the compressed data
 * cannot fill, gzip trailers and CRCs that do not match, IDX and .npy headers with huge dimensions,
 * libsvm lines with huge indices. Each is read in a child process whose peak resident memory is
 * measured per case: a lying file must give a KmfitError with the peak under 256 MB, and a bomb in
 * a member nobody reads must not be inflated at all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/crc32.js';
import { ROOT } from '../helpers/child.js';
import { runMain } from '../helpers/cli.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { concat, deflate, deflateBomb, gzip, idxHeader, npyHeader, zip, type ZipMember } from '../helpers/lyingFiles.js';
import type { ReadCase, ReadOutcome } from '../helpers/readPeak.mjs';

const PEAK_LIMIT = 256 * 2 ** 20;
const dir = temporaryDirectory('sizes');

const next = lcg(15);
const between = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));

/** A stored .npy member. */
function stored(name: string, bytes: Uint8Array): ZipMember {
  return { name, data: bytes, method: 0, crc: crc32(bytes), size: bytes.length };
}

/** A float32 .npy of `shape` with its data. */
function npy(shape: number[]): Uint8Array {
  return concat([npyHeader(shape), new Uint8Array(4 * shape.reduce((a, b) => a * b, 1))]);
}

/** A deflated member that inflates to `header` + units × 16 MiB of zeros, declaring `size` (default: the truth). */
function bombMember(name: string, header: Uint8Array, units: number, declare?: (truth: number, header: number) => number, zip64 = false): ZipMember {
  const bomb = deflateBomb(header, units);
  return { name, data: bomb.deflated, method: 8, crc: bomb.crc, size: declare ? declare(bomb.size, header.length) : bomb.size, zip64 };
}

const modelMembers = (() => {
  const archive = readFileSync(path.join(ROOT, 'test/fixtures/formats/model-v1.kmfit'));
  // The fixture is stored (uncompressed); re-deflating its members would change nothing here.
  const names = ['kmfit.json', 'centers.npy', 'weights.npy', 'scaling_offset.npy', 'scaling_factor.npy'];
  const out = new Map<string, Uint8Array>();
  let at = 0;
  for (const name of names) {
    // Each local header: 30 bytes + the name, then the stored bytes (sizes at offset 18).
    const view = new DataView(archive.buffer, archive.byteOffset + at);
    const size = view.getUint32(18, true);
    const start = at + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    out.set(name, new Uint8Array(archive.subarray(start, start + size)));
    at = start + size;
  }
  return out;
})();

function modelWith(replace: Record<string, ZipMember>): Uint8Array {
  const members = [...modelMembers].map(([name, bytes]) => replace[name] ?? stored(name, bytes));
  for (const [name, member] of Object.entries(replace)) if (!modelMembers.has(name)) members.push(member);
  return zip(members);
}

type Expect = 'error' | 'ok';
const cases: (ReadCase & { expect: Expect })[] = [];
function add(name: string, extension: string, bytes: Uint8Array, reader: ReadCase['reader'], expect: Expect = 'error'): void {
  const file = path.join(dir, `${cases.length}-${name}.${extension}`);
  writeFileSync(file, bytes);
  cases.push({ name: `${name} (${bytes.length} bytes)`, file, reader, expect });
}

for (let round = 0; round < 3; round++) {
  const units = between(16, 48); // 256-768 MiB of zeros from 256-768 KB: about 1000:1
  const rows = between(2, 50);
  const cols = between(1, 20);
  const small = npyHeader([rows, cols]);
  const y = npy([rows]);

  // .npz data files: the .npy header declares rows × cols, the stream inflates to far more.
  add('npz: bomb behind a small .npy header, true zip size', 'npz', zip([bombMember('X.npy', small, units), stored('y.npy', y)]), 'data');
  add('npz: bomb, zip size as the .npy header says', 'npz', zip([bombMember('X.npy', small, units, (_, h) => h + 4 * rows * cols), stored('y.npy', y)]), 'data');
  add('npz: zip64 size of 2^33-2^52', 'npz', zip([bombMember('X.npy', small, 0, () => 2 ** between(33, 52), true), stored('y.npy', y)]), 'data');
  add('npz: declared 4 GiB - 2', 'npz', zip([bombMember('X.npy', small, 1, () => 0xfffffffe)]), 'data');
  add('npz: .npy header of huge dimensions', 'npz', zip([stored('X.npy', concat([npyHeader([2 ** between(20, 40), 2 ** between(10, 30)]), new Uint8Array(64)]))]), 'data');
  // A bomb in a member nobody reads is never inflated.
  add('npz: bomb in an unused member', 'npz', zip([stored('X.npy', npy([rows, cols])), stored('y.npy', y), bombMember('extra.npy', npyHeader([units * 2 ** 22]), units)]), 'data', 'ok');

  // Model files.
  add('model: bomb behind the centers header', 'kmfit', modelWith({ 'centers.npy': bombMember('centers.npy', npyHeader([40, 3]), units) }), 'model');
  add('model: zip64 size on the weights', 'kmfit', modelWith({ 'weights.npy': bombMember('weights.npy', npyHeader([40, 3]), 0, () => 2 ** between(33, 52), true) }), 'model');
  add('model: bomb in an unused member', 'kmfit', modelWith({ 'future.npy': bombMember('future.npy', npyHeader([units * 2 ** 22]), units) }), 'model', 'ok');

  // gzip IDX: a bomb past the header's size, a trailer or CRC that lies, huge dimensions.
  const count = between(10, 1000);
  const idxBomb = deflateBomb(idxHeader([count]), units);
  add('IDX gzip: bomb past the header size', 'idx.gz', gzip(idxBomb.deflated, idxBomb.crc, idxBomb.size), 'data');
  const honest = deflate(concat([idxHeader([count, 4]), new Uint8Array(count * 4).fill(7)]));
  add('IDX gzip: trailer size lies', 'idx.gz', gzip(honest.deflated, honest.crc, between(2 ** 24, 2 ** 32 - 1)), 'data');
  add('IDX gzip: CRC lies', 'idx.gz', gzip(honest.deflated, (honest.crc ^ between(1, 2 ** 31)) >>> 0, honest.size), 'data');
  const huge = deflate(concat([idxHeader([2 ** between(20, 31), 2 ** between(10, 31)]), new Uint8Array(64)]));
  add('IDX gzip: huge dimensions', 'idx.gz', gzip(huge.deflated, huge.crc, huge.size), 'data');
  add('IDX plain: huge dimensions (dataset reader)', 'idx', concat([idxHeader([between(60000, 2 ** 32 - 1), 2 ** between(8, 20), 28]), new Uint8Array(1024)]), 'idx');

  // .npy headers and libsvm lines.
  add('npy: huge dimensions', 'npy', concat([npyHeader([2 ** between(20, 40), 2 ** between(8, 30)]), new Uint8Array(256)]), 'data');
  add('npy: header length field of ~4 GiB', 'npy', concat([npyHeader([4, 4], between(2 ** 31, 2 ** 32 - 1)), new Uint8Array(64)]), 'data');
  add('libsvm: huge index', 'svm', new TextEncoder().encode(`1 1:0.5\n0 2:1 ${between(2 ** 24, 2 ** 31 - 1)}:1\n`), 'data');
}

describe('files that lie about their sizes', () => {
  it('give one KmfitError each (or, for an unused bomb, read fine), with peak memory under 256 MB', () => {
    const manifest = path.join(dir, 'cases.json');
    writeFileSync(manifest, JSON.stringify(cases));
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'test/helpers/readPeak.mts'), manifest], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
      maxBuffer: 2 ** 24,
    });
    expect(child.error, child.stderr).toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    const outcomes = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as ReadOutcome);
    expect(outcomes).toHaveLength(cases.length);
    const wrong = outcomes.flatMap((o, i) => {
      const problems: string[] = [];
      if (cases[i].expect === 'ok' && o.outcome !== 'ok') problems.push(`${o.outcome}: ${o.message}`);
      if (cases[i].expect === 'error' && (o.outcome === 'ok' || o.outcome.startsWith('not KmfitError'))) problems.push(o.outcome);
      if (o.peakBytes >= PEAK_LIMIT) problems.push(`peak ${(o.peakBytes / 2 ** 20).toFixed(0)} MB`);
      return problems.length ? [`${o.name}: ${problems.join(', ')}`] : [];
    });
    expect(wrong).toEqual([]);
    // Each refusal is one line naming the problem.
    for (const o of outcomes) if (o.message) expect(o.message).not.toContain('\n');
  }, 300_000);

  it('kmfit refuses them with exit 2 and one line, and writes nothing', async () => {
    const first = (prefix: string) => cases.find((c) => c.name.startsWith(prefix))!.file;
    const model = path.join(dir, 'never.kmfit');
    const runs = [
      await runMain([first('npz: bomb behind a small .npy header'), '--save', model, '--epochs', '1']),
      await runMain([first('IDX gzip: CRC lies'), '--save', model, '--epochs', '1']),
      await runMain([first('libsvm: huge index'), '--save', model, '--epochs', '1']),
      await runMain(['info', first('model: zip64 size on the weights')]),
      await runMain(['predict', first('model: bomb behind the centers header'), first('npz: bomb in an unused member')]),
    ];
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^kmfit: [^\n]+\n$/);
      expect(run.stdout).toBe('');
    }
    expect(existsSync(model)).toBe(false);
  });
});
