/**
 * The built package as users get it: the ES-module and CommonJS entry points (tslab loads through
 * require), the `kmfit` command, and its error handling. `npm test` builds dist/ first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli/main.js');
const script = `
  const X = Array.from({ length: 40 }, (_, i) => [i / 40, (i * 7 % 40) / 40]);
  const y = X.map((x) => (x[0] > 0.5 ? 'big' : 'small'));
  const model = await kmfit.fit(X, y, { epochs: 2 });
  const labels = await model.predict([[0.9, 0.1], [0.1, 0.9]]);
  console.log(JSON.stringify({ labels, q: model.plan.q }));`;

function run(file: string, args: string[], cwd = root) {
  return spawnSync(process.execPath, [file, ...args], { cwd, encoding: 'utf8' });
}

describe('the built package', () => {
  it('loads through import (ES modules)', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as kmfit from 'kmfit';${script}`], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(JSON.parse(out).labels).toEqual(['big', 'small']);
  });

  it('loads through require (CommonJS, as tslab does)', () => {
    const out = execFileSync(process.execPath, ['-e', `const kmfit = require('kmfit'); (async () => {${script}})();`], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(JSON.parse(out).labels).toEqual(['big', 'small']);
  });

  it('ships type declarations for both', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(existsSync(path.join(root, pkg.exports['.'].import.types))).toBe(true);
    expect(existsSync(path.join(root, pkg.exports['.'].require.types))).toBe(true);
  });

  it('kmfit trains on MNIST, saves the model, and describes it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kmfit-cli-'));
    const model = path.join(dir, 'small.kmfit');
    const train = run(cli, ['mnist', '--train-size', '600', '--test-size', '300', '--epochs', '1', '--save', model, '--json']);
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    const result = JSON.parse(train.stdout);
    expect(result.plan.n).toBe(600);
    expect(result.testError).toBeLessThan(0.25);
    expect(existsSync(model)).toBe(true);
    const info = run(cli, ['info', model]);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain('600 centers × 784 features');
  });

  it('kmfit rejects a typo with a suggestion and an unknown dataset, without a stack trace', () => {
    const typo = run(cli, ['mnist', '--epoch', '3']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('Unknown argument: epoch Did you mean --epochs?');
    expect(typo.stderr).not.toContain('    at ');
    const unknown = run(cli, ['cifar']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Built-in datasets: mnist, fashion-mnist');
    const version = run(cli, ['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });
});
