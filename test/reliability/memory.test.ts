/**
 * The memory guard: plans that cannot fit are refused before their big arrays exist, with the
 * option to change and a value that fits; an allocation that fails anyway (here: under an
 * address-space limit the guard cannot see) ends as one INSUFFICIENT_MEMORY error, not a crash.
 */
import { spawnSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit, openNpy, type FitOptions } from '../../src/index.js';
import { encodeNpy, encodeNpyHeader } from '../../src/io/npy.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { CLI } from './helpers/process.js';
import { temporaryDirectory } from '../helpers/temporary.js';

/** n points on a line with a smooth target: a few MB, whatever n the plan is made to need. */
function line(n: number): { X: { data: Float32Array; shape: [number, number] }; y: Float64Array } {
  const data = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
  return { X: { data, shape: [n, 1] }, y: Float64Array.from(data, (v) => Math.sin(6 * v) + 0.5) };
}

const regression: FitOptions = { task: 'regression', bandwidth: 0.1, epochs: 1 };

/** Refuses `options` on `n` points; returns the message, and checks nothing big was allocated. */
async function refused(n: number, options: FitOptions): Promise<string> {
  const { X, y } = line(n);
  const before = process.memoryUsage();
  const started = performance.now();
  const message = await asyncErrorOf(fit(X, y, { ...regression, ...options }), 'INSUFFICIENT_MEMORY');
  const after = process.memoryUsage();
  expect(performance.now() - started).toBeLessThan(5_000);
  expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(256 * 2 ** 20);
  return message;
}

/** The number in "at most about N fit(s)" after `what`. */
function advised(message: string, what: string): number {
  const match = new RegExp(`${what} \\(at most about (\\d+) fits?\\)`, 'i').exec(message);
  expect(match, message).not.toBeNull();
  return Number(match![1]);
}

describe('plans that cannot fit are refused before allocating', () => {
  it("a subsample whose kernel matrix is larger than any machine's memory (js)", async () => {
    // s = n = 400 000: K_SS alone is 640 GB.
    const message = await refused(400_000, { backend: 'js', subsampleSize: 400_000 });
    expect(message).toContain("the subsample's kernel matrix (s = 400000)");
    expect(message).toContain('half of the');
    const s = advised(message, 'use a smaller subsampleSize');
    expect(4 * s * s).toBeLessThanOrEqual(os.freemem()); // K_SS of the advised size fits in memory
    expect(s).toBeGreaterThan(1000);
  });

  it("a subsample past wasm32's 4 GiB (wasm)", async () => {
    // s = 40 000: K_SS is 6.4 GB, in WebAssembly memory during set-up.
    const message = await refused(40_000, { backend: 'wasm', threads: 1, subsampleSize: 40_000 });
    expect(message).toContain('on the wasm backend');
    const s = advised(message, 'use a smaller subsampleSize');
    expect(4 * s * s).toBeLessThan(2 ** 32); // the advised K_SS is inside the 4 GiB
  });

  it('an ordinary plan is not refused', async () => {
    const { X, y } = line(600);
    const model = await fit(X, y, { ...regression, backend: "js", subsampleSize: 300 });
    expect(model.history).toHaveLength(1);
  });
});

describe('an allocation that fails anyway', () => {
  const dir = temporaryDirectory('memory');
  const n = 30_000;
  const { X, y } = line(n);
  const table = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) [table[2 * i], table[2 * i + 1]] = [X.data[i], y[i]];
  writeFileSync(path.join(dir, 'line.npy'), encodeNpy({ data: table, shape: [n, 2] }));

  /** kmfit under a 2.4 GB address-space limit, which os.freemem() (and so the guard) does not see. */
  function limited(args: string[]) {
    const command = `ulimit -v 2500000 && exec "${process.execPath}" "${CLI}" line.npy --bandwidth 0.1 --epochs 1 ${args.join(' ')}`;
    return spawnSync('bash', ['-c', command], { cwd: dir, encoding: 'utf8' });
  }

  it('js: K_SS (3.1 GB) does not fit: one INSUFFICIENT_MEMORY line and exit 2, no crash, no stack trace', () => {
    const out = limited(['--backend', 'js', '--subsample', '28000']);
    // "ran out of memory" when the guard saw enough free memory, "needs about" when it did not.
    expect(out.stderr).toMatch(/^kmfit: .*(ran out of memory|needs about)/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.status).toBe(2);
  });

  it('wasm: no room to reserve its memory: one line saying so and what to use instead, exit 2', () => {
    const out = limited(['--backend', 'wasm', '--threads', '1']);
    expect(out.stderr).toMatch(/^kmfit: .*memory.*(backend|Use)/);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.status).toBe(2);
  });
});

describe('EigenPro 3: centers that cannot fit are refused before their rows are read', () => {
  it('3 000 000 centers of a 16 GB file on disk (sparse): INSUFFICIENT_MEMORY, nothing big allocated', async () => {
    const dir = temporaryDirectory('memory-centers');
    const file = path.join(dir, 'huge-u8.npy');
    const n = 4_000_000;
    const d = 4000;
    // A valid header, then a hole: the file has its size without taking the disk.
    const header = encodeNpyHeader('uint8', [n, d]);
    writeFileSync(file, header);
    truncateSync(file, header.length + n * d);
    const opened = openNpy(file);
    try {
      const y = Float64Array.from({ length: n }, (_, i) => (i % 7) / 7);
      const before = process.memoryUsage().arrayBuffers;
      const message = await asyncErrorOf(
        fit(opened, y, { backend: 'js', task: 'regression', bandwidth: 1000, epochs: 1, centers: 3_000_000 }),
        'INSUFFICIENT_MEMORY',
      );
      expect(message).toContain('n = 3000000');
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 2 ** 20);
    } finally {
      opened.close();
    }
  });
});
