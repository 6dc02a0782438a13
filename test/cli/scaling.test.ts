/**
 * `kmfit scaling` as a user runs it (the built CLI in a child process), on MNIST rows in a .npy:
 * the JSON report's shape and its internal arithmetic, the files --out writes, and bad usage.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../datasets/mnist.js';
import { encodeNpy } from '../../src/io/npy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const dir = temporaryDirectory('cli-scaling');

function kmfit(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 110_000 });
}

beforeAll(async () => {
  const { train } = await loadMnist({ trainSize: 400 });
  const cols = train.X.cols + 1;
  const data = new Float32Array(train.X.rows * cols);
  for (let i = 0; i < train.X.rows; i++) {
    data.set(train.X.data.subarray(i * train.X.cols, (i + 1) * train.X.cols), i * cols);
    data[i * cols + train.X.cols] = train.y[i];
  }
  writeFileSync(path.join(dir, 'digits.npy'), encodeNpy({ data, shape: [train.X.rows, cols] }));
});

describe('kmfit scaling', () => {
  it('prints { settings: [{ q, mStar, runs }], mG } with --json and writes JSON, CSV and the figure with --out', () => {
    const args = ['digits.npy', '--kernel', 'gaussian', '--bandwidth', '5', '--subsample', '200'];
    const run = kmfit('scaling', ...args, '--batch-sizes', '1,8,64', '--max-seconds', '10', '--json', '--out', 'study');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.mG).toBeGreaterThanOrEqual(1);
    expect(report.settings.map((s: { q: number }) => s.q > 0)).toEqual([false, true]);
    for (const setting of report.settings) {
      expect(setting.mStar).toBeCloseTo(setting.beta / setting.lambda, 8);
      expect(setting.runs.map((r: { m: number }) => r.m)).toEqual([1, 8, 64]);
      for (const r of setting.runs) {
        expect(Object.keys(r)).toEqual(expect.arrayContaining(['m', 'eta', 'iterations', 'epochs', 'secondsPerIteration', 'timeToTarget', 'reached']));
        expect(r.epochs).toBeCloseTo((r.iterations * r.m) / 400, 8);
        expect(r.timeToTarget).toBeCloseTo(r.iterations * r.secondsPerIteration, 8);
      }
      // At m = 1 the step is the linear regime's m/β.
      expect(setting.runs[0].eta).toBeCloseTo(1 / setting.beta, 10);
    }
    expect(readdirSync(path.join(dir, 'study')).sort()).toEqual(expect.arrayContaining(['scaling.csv', 'scaling.json', 'scaling.png', 'scaling.svg']));
    const csv = readFileSync(path.join(dir, 'study', 'scaling.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 2 * 3);
    expect(JSON.parse(readFileSync(path.join(dir, 'study', 'scaling.json'), 'utf8')).settings).toHaveLength(2);
  });

  it('rejects bad batch sizes, a target error without validation data and an --out that is a file in one line, exit 2', () => {
    for (const [extra, message] of [
      [['--batch-sizes', '1,x'], /--batch-sizes takes whole numbers/],
      [['--target-error', '0.1'], /--target-error is an error on validation data: give --test FILE or --test-split/],
      [['--target-mse', '2'], /^kmfit: --target-mse must be a number in \(0, 1\); got 2\./],
      [['--max-iterations', '0'], /^kmfit: --max-iterations must be an integer ≥ 1; got 0\./],
      [['-q', '0'], /^kmfit: -q must be an integer in \[1, 999\]; got 0\. \(The level of the preconditioned setting/],
      [['--out', 'digits.npy', '--batch-sizes', '1', '--max-seconds', '1'], /^kmfit: --out digits\.npy: .*digits\.npy is a file; --out takes a directory/],
    ] as const) {
      const run = kmfit('scaling', 'digits.npy', ...extra);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
