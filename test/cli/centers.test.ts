/**
 * `kmfit data.npy --centers P`: an EigenPro 3 model whose training rows are read from the .npy file
 * batch by batch; the plan names both levels; `kmfit resume` continues an interrupted run to the
 * model of the uninterrupted one; a file that cannot stay on disk (Fortran order) is read into
 * memory with a note; bad values get one clear line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, loadModel, openNpy } from '../../src/index.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { runKmfit } from '../reliability/helpers/process.js';

const dir = temporaryDirectory('cli-centers');
const n = 400;
const d = 6;
const TRAIN = ['toy-u8.npy', '--backend', 'js', '--kernel', 'gaussian', '--bandwidth', '80', '--centers', '60', '--batch-size', '40', '--epochs', '2', '--seed', '5'];

beforeAll(() => {
  // uint8 rows, the label last: two classes by the first pixel's brightness.
  const next = lcg(9);
  const data = new Uint8Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * (d + 1) + j] = Math.floor(256 * next());
    data[i * (d + 1) + d] = data[i * (d + 1)] > 127 ? 1 : 0;
  }
  writeFileSync(path.join(dir, 'toy-u8.npy'), encodeNpy({ data, shape: [n, d + 1] }));
});

describe('kmfit --centers', () => {
  it('trains from disk, prints both levels of the plan, and saves a model of p centers equal to the library’s', async () => {
    const run = runKmfit(dir, [...TRAIN, '--save', 'toy.kmfit']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('read from disk batch by batch');
    expect(run.stdout).toMatch(/centers p\s+60/);
    expect(run.stdout).toMatch(/projection s, q, m, η/);
    expect(run.stdout).toMatch(/memory\s+\d+ MB/);
    // 400 rows in batches of 40: 10 an epoch, a projection every `interval` of them and at the epoch's end.
    const interval = Number(/projection\s+every (\d+) batch/.exec(run.stdout)?.[1]);
    const projections = Math.ceil(10 / interval);
    expect(run.stdout).toMatch(new RegExp(`averaging\\s+each epoch's model: the mean of the weights at its ${projections} projections?\\s+\\(fewer centers than points`));
    const plain = runKmfit(dir, [...TRAIN, '--no-averaging', '--save', 'plain.kmfit', '--quiet']);
    expect(plain.stderr).toBe('');
    expect((await loadModel(path.join(dir, 'plain.kmfit'))).plan.centers?.averaging).toBe(false);
    const saved = await loadModel(path.join(dir, 'toy.kmfit'));
    expect(saved.plan.centers?.count).toBe(60);
    // The same training through the library, on the file opened the same way.
    const file = openNpy(path.join(dir, 'toy-u8.npy'));
    try {
      const direct = await fit(file.columns(0, d), file.columns(d, d + 1).readColumnFloat64(), {
        backend: 'js', kernel: 'gaussian', bandwidth: 80, centers: 60, batchSize: 40, epochs: 2, seed: 5,
      });
      const probe = { data: Float32Array.from({ length: 20 * d }, (_, k) => (k * 37) % 256), shape: [20, d] as [number, number] };
      expect((await saved.predictScores(probe)).data).toEqual((await direct.predictScores(probe)).data);
    } finally {
      file.close();
    }
  });

  it('kmfit resume continues an interrupted run to the uninterrupted model', async () => {
    const whole = runKmfit(dir, [...TRAIN, '--save', 'whole.kmfit', '--quiet']);
    expect(whole.status).toBe(0);
    // Stopped by SIGTERM would need timing; a run of 1 epoch resumed for 2 is the same schedule.
    const first = runKmfit(dir, [...TRAIN.slice(0, -4), '--epochs', '1', '--seed', '5', '--checkpoint', 'part.checkpoint', '--save', 'part.kmfit', '--quiet']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const resumed = runKmfit(dir, ['resume', 'part.checkpoint', '--epochs', '2', '--save', 'resumed.kmfit', '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const [a, b] = await Promise.all([loadModel(path.join(dir, 'whole.kmfit')), loadModel(path.join(dir, 'resumed.kmfit'))]);
    const probe = { data: Float32Array.from({ length: 10 * d }, (_, k) => (k * 53) % 256), shape: [10, d] as [number, number] };
    expect((await b.predictScores(probe)).data).toEqual((await a.predictScores(probe)).data);
  });

  it('keeps a file whose label is the first column on disk too, and --train-size reads its first rows', async () => {
    // The same rows with the label moved to the front.
    const toy = openNpy(path.join(dir, 'toy-u8.npy'));
    const rows = toy.readRawRange(0, n);
    toy.close();
    const front = new Uint8Array(rows.length);
    for (let i = 0; i < n; i++) {
      front[i * (d + 1)] = rows[i * (d + 1) + d];
      front.set(rows.subarray(i * (d + 1), i * (d + 1) + d), i * (d + 1) + 1);
    }
    writeFileSync(path.join(dir, 'front.npy'), encodeNpy({ data: front, shape: [n, d + 1] }));
    const run = runKmfit(dir, ['front.npy', ...TRAIN.slice(1), '--label', '0', '--train-size', '300', '--save', 'front.kmfit']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('300 training points, 6 features (read from disk batch by batch)');
    // The library on the first 300 rows, in memory.
    const X = new Float32Array(300 * d);
    for (let i = 0; i < 300 * d; i++) X[i] = rows[Math.floor(i / d) * (d + 1) + (i % d)];
    const y = Array.from({ length: 300 }, (_, i) => rows[i * (d + 1) + d]);
    const direct = await fit({ data: X, shape: [300, d] }, y, { backend: 'js', kernel: 'gaussian', bandwidth: 80, centers: 60, batchSize: 40, epochs: 2, seed: 5 });
    const probe = { data: Float32Array.from({ length: 20 * d }, (_, k) => (k * 37) % 256), shape: [20, d] as [number, number] };
    const saved = await loadModel(path.join(dir, 'front.kmfit'));
    expect((await saved.predictScores(probe)).data).toEqual((await direct.predictScores(probe)).data);
  });

  it('says why a file is read into memory when it cannot stay on disk', () => {
    const run = runKmfit(dir, [...TRAIN, '--test-split', '0.25', '--epochs', '1', '--save', 'split.kmfit']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('note: toy-u8.npy is read into memory: --test-split draws its test rows from the whole file; give --test FILE instead.');
    expect(run.stdout).not.toContain('read from disk batch by batch');
  });

  it('reads a Fortran-order file into memory, with a note, to the model of the same rows in C order', async () => {
    // The same table in column-major order: the C-order bytes of its transpose, the header saying so.
    const rows = decodeNpy(readFileSync(path.join(dir, 'toy-u8.npy'))).data as Uint8Array;
    const transposed = new Uint8Array(n * (d + 1));
    for (let i = 0; i < n; i++) for (let j = 0; j <= d; j++) transposed[j * n + i] = rows[i * (d + 1) + j];
    const bytes = encodeNpy({ data: transposed, shape: [d + 1, n] });
    const header = new TextDecoder().decode(bytes.subarray(10, 128)); // the ASCII dictionary after the magic and length
    const fortran = header.replace("'fortran_order': False", "'fortran_order': True ").replace(`(${d + 1}, ${n})`, `(${n}, ${d + 1})`);
    expect(fortran).not.toBe(header);
    expect(fortran.length).toBe(header.length);
    bytes.set(new TextEncoder().encode(fortran), 10);
    writeFileSync(path.join(dir, 'toy-f.npy'), bytes);

    const run = runKmfit(dir, ['toy-f.npy', ...TRAIN.slice(1), '--save', 'fortran.kmfit']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('note: toy-f.npy is read into memory: it is stored in Fortran (column-major) order');
    const reference = runKmfit(dir, [...TRAIN, '--save', 'c-order.kmfit', '--quiet']);
    expect(reference.status).toBe(0);
    const probe = { data: Float32Array.from({ length: 20 * d }, (_, k) => (k * 37) % 256), shape: [20, d] as [number, number] };
    const [a, b] = await Promise.all(['fortran.kmfit', 'c-order.kmfit'].map((m) => loadModel(path.join(dir, m))));
    expect((await a.predictScores(probe)).data).toEqual((await b.predictScores(probe)).data);
  });

  it('refuses a bad count with one line', () => {
    const run = runKmfit(dir, ['toy-u8.npy', '--centers', '0']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain("'centers'");
  });
});
