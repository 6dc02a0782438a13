/**
 * The built package as users get it: the ES-module and CommonJS entry points (tslab loads through
 * require), the `kmfit` command, and its error handling. `npm test` builds dist/ first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../helpers/temporary.js';

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

  it('kmfit/notebook and kmfit/plot load through import and require, and render a chart', () => {
    const spec = `{ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } }`;
    const check = `
      const svg = await plot.renderSvg(${spec});
      let sameError = false;
      try { notebook.confusionMatrix([1], []); } catch (e) { sameError = e instanceof kmfit.KmfitError && e.code === 'LENGTH_MISMATCH'; }
      console.log(JSON.stringify({ svg: svg.startsWith('<svg'), html: typeof notebook.planTable, sameError }));`;
    const want = { svg: true, html: 'function', sameError: true };
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as kmfit from 'kmfit'; import * as notebook from 'kmfit/notebook'; import * as plot from 'kmfit/plot';${check}`], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(esm)).toEqual(want);
    const cjs = execFileSync(process.execPath, ['-e', `const kmfit = require('kmfit'), notebook = require('kmfit/notebook'), plot = require('kmfit/plot'); (async () => {${check}})();`], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(cjs)).toEqual(want);
  });

  it('importing kmfit does not load the plotting libraries; rendering a chart does', () => {
    // A module-resolution hook reports every vega or resvg package Node resolves, ES modules included.
    const hook = `export async function resolve(s, c, next) { if (/^(vega|@resvg)/.test(s)) process.stderr.write('resolves ' + s + '\\n'); return next(s, c); }`;
    const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${hook}`)});`;
    const load = (code: string) => spawnSync(process.execPath, ['--import', register, '-e', code], { cwd: root, encoding: 'utf8' });
    const quiet = load(`require('kmfit'); require('kmfit/notebook'); require('kmfit/plot');`);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    const drawn = load(`require('kmfit/plot').renderSvg({ mark: 'point' }).then(() => {});`);
    expect(drawn.stderr).toContain('resolves vega-lite');
  });

  it('ships type declarations for both', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(existsSync(path.join(root, pkg.exports['.'].import.types))).toBe(true);
    expect(existsSync(path.join(root, pkg.exports['.'].require.types))).toBe(true);
    // tslab type-checks with TypeScript's node10 resolution, which reads typesVersions, not exports.
    for (const entry of ['notebook', 'plot']) {
      expect(pkg.typesVersions['*'][entry]).toEqual([pkg.exports[`./${entry}`].require.types]);
      expect(existsSync(path.join(root, pkg.exports[`./${entry}`].import.types))).toBe(true);
    }
  });

  it('kmfit trains on MNIST, saves the model, and describes it', () => {
    const dir = temporaryDirectory('cli');
    const model = path.join(dir, 'small.kmfit');
    const train = run(cli, ['mnist', '--train-size', '600', '--test-size', '300', '--epochs', '1', '--save', model, '--json']);
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    const result = JSON.parse(train.stdout);
    expect(result.plan.n).toBe(600);
    expect(result.test.error).toBeLessThan(0.25);
    expect(result.modelPath).toBe(model);
    expect(result.history[0]).toHaveProperty('valError');
    expect(existsSync(model)).toBe(true);
    const info = run(cli, ['info', model]);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain('600 centers × 784 features');
  });

  it('kmfit rejects a typo with a suggestion and an unknown dataset, without a stack trace', () => {
    const typo = run(cli, ['mnist', '--epoch', '3']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe('kmfit: unknown option --epoch; did you mean --epochs? (kmfit --help lists the options, with examples)\n');
    expect(typo.stderr).not.toContain('    at ');
    const unknown = run(cli, ['cifar']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('cifar: no such file, and not a built-in dataset (mnist, fashion-mnist)');
    const version = run(cli, ['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });

  it('kmfit devices lists every backend and the one auto picks', () => {
    const out = run(cli, ['devices', '--json']);
    expect(out.status).toBe(0);
    const { auto, reason, backends } = JSON.parse(out.stdout);
    expect(backends.map((b: { name: string }) => b.name)).toEqual(['webgpu', 'onnx', 'wasm', 'gpujs', 'js']);
    // One backend, or the CPU backends it times on each data shape.
    expect(auto.length).toBeGreaterThan(0);
    for (const name of auto) expect(backends.find((b: { name: string }) => b.name === name).available).toBe(true);
    expect(reason.length).toBeGreaterThan(0);
    const text = run(cli, ['devices']);
    expect(text.stdout).toContain(`'auto' takes ${auto.join(' or ')}: `);
  });
});
