/** Test code run in a fresh Node process (TypeScript through tsx), for what only a process shows. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { SUITE_BANDWIDTH } from '../backends/agreement.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A file of this repository as an import specifier for a child's script. */
export function moduleUrl(file: string): string {
  return JSON.stringify(pathToFileURL(path.join(ROOT, file)).href);
}

export interface ChildRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/** Runs an ES module in a fresh Node process from the repository root; fails on a hang or a signal. */
export function runChild(source: string, env: NodeJS.ProcessEnv = process.env): ChildRun {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'kmfit-child-'));
  try {
    const script = path.join(directory, 'child.mts');
    writeFileSync(script, source);
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env });
    expect(child.error, child.stderr).toBeUndefined(); // a timeout shows here
    expect(child.signal, child.stderr).toBeNull();
    return { stdout: child.stdout, stderr: child.stderr, status: child.status };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * A backend's whole life in a child process: create it (`create`, an expression over the names
 * that `module` exports), fit weights on 10 centers, predict (laplacian at the conformance suite's
 * bandwidth), dispose the set and, with `dispose`, the backend; it must then exit by itself.
 */
export function backendLifeScript(module: string, names: string, create: string, dispose = true): string {
  return `
    import { ${names} } from ${moduleUrl(module)};
    import { chooseKernel, makeKernel } from ${moduleUrl('kernels/index.ts')};
    const backend = await ${create};
    const set = await backend.createCenterSet(makeKernel(chooseKernel('laplacian'), ${SUITE_BANDWIDTH}), { data: new Float32Array(40).fill(0.5), rows: 10, cols: 4 }, 2);
    await set.addToWeights([1, 1], new Float64Array(4).fill(1));
    const out = new Float32Array(6);
    await set.predict({ data: new Float32Array(12), rows: 3, cols: 4 }, out);
    set.dispose();
    ${dispose ? 'await backend.dispose();' : ''}
    console.log('disposed', out[0].toFixed(4));
  `;
}

/** What backendLifeScript prints: two unit weights on one center at distance 1, 2·e^(−1/σ). */
export const BACKEND_LIFE_OUTPUT = `disposed ${(2 * Math.exp(-1 / SUITE_BANDWIDTH)).toFixed(4)}`;
