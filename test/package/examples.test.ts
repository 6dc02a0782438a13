/** Every example runs as documented (on small data) and prints what it promises. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

describe('examples', () => {
  it('examples/mnist.ts trains, scores, saves and reloads', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'kmfit-example-'));
    const run = spawnSync(tsx, [path.join(root, 'examples/mnist.ts'), '400'], { cwd, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const error = Number(/test error ([\d.]+) %/.exec(run.stdout)?.[1]);
    expect(error).toBeLessThan(15);
    expect(run.stdout).toContain('reloaded model predicts');
  });
});
