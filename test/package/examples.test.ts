/**
 * Every example runs as documented (`npx tsx examples/<name>.ts`, on small data) and prints what
 * it promises, checked against answers found independently of the example.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../helpers/temporary.js';

const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

/** Runs examples/<name>.ts in a scratch folder; fails on any stderr output or a non-zero exit. */
function runExample(name: string, ...args: string[]): { stdout: string; cwd: string } {
  const cwd = temporaryDirectory('example');
  const run = spawnSync(tsx, [path.join(root, `examples/${name}.ts`), ...args], { cwd, encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return { stdout: run.stdout, cwd };
}

function figure(stdout: string, pattern: RegExp): number {
  const found = pattern.exec(stdout);
  expect(found, `${pattern} in:\n${stdout}`).not.toBeNull();
  return Number(found![1]);
}

describe('examples', () => {
  it('mnist.ts trains, scores, saves and reloads', () => {
    const { stdout } = runExample('mnist', '400');
    expect(figure(stdout, /test error ([\d.]+) %/)).toBeLessThan(15);
    expect(stdout).toContain('reloaded model predicts');
  });

  it('regression.ts beats linear least squares on the diamonds', () => {
    const { stdout } = runExample('regression', '800');
    // R's lm(price ~ .) on all 4 000 training diamonds scores R² 0.915 on the same test split.
    expect(figure(stdout, /test R² ([\d.]+)/)).toBeGreaterThan(0.915);
  });

  it('custom-kernel.ts: the formula exp(-r / sigma) is the built-in laplacian', () => {
    const { stdout } = runExample('custom-kernel', '300');
    expect(figure(stdout, /largest score difference ([\d.e+-]+)/)).toBeLessThan(1e-5);
    expect(figure(stdout, /kernel custom\(exp\(-\(r \/ sigma\)\^gamma\), σ = 7\): test error ([\d.]+) %/)).toBeLessThan(30);
  });

  it('save-load.ts: the loaded model predicts what the saved one did, and kmfit info reads the file', () => {
    const { stdout, cwd } = runExample('save-load', 'prices.kmfit');
    const values = (label: string) => new RegExp(`${label}: ([\\d. ]+)`).exec(stdout)![1].trim().split(' ');
    expect(values('predictions before saving')).toHaveLength(5);
    expect(values('predictions after loading')).toEqual(values('predictions before saving'));
    const info = spawnSync(process.execPath, [path.join(root, 'dist/cli/main.js'), 'info', 'prices.kmfit'], { cwd, encoding: 'utf8' });
    expect(info.status).toBe(0);
    expect(info.stdout).toContain('1000 centers × 9 features, 1 outputs');
  });

  it('early-stopping.ts keeps the epoch with the lowest validation error', () => {
    const { stdout } = runExample('early-stopping', '600');
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { stoppedBy: string; keptEpoch: number; validationErrors: number[] };
    const errors = result.validationErrors;
    const best = errors.indexOf(Math.min(...errors)) + 1; // the first epoch to reach the minimum
    expect(result.keptEpoch).toBe(best);
    if (result.stoppedBy === 'early-stopping') expect(errors).toHaveLength(best + 2); // patience 2
    else expect(result).toMatchObject({ stoppedBy: 'epochs', validationErrors: expect.arrayContaining([]) });
    if (result.stoppedBy === 'epochs') expect(errors).toHaveLength(12);
    expect(figure(stdout, /test error ([\d.]+) %/)).toBeLessThan(20);
  });
});
