/**
 * `npm install kmfit` as a user does it: the tarball `npm pack` makes, installed into an empty
 * project. It must be light (no optional peer, no install script), hold only what runs, and work
 * there from ES modules, CommonJS, a strict TypeScript project and the command line, training on
 * the wasm backend; what needs an optional peer says how to install it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/child.js';
import { lockedVersion, packAndInstall, type InstalledProject } from '../helpers/installed.js';

/** The bound on node_modules after `npm install kmfit`, in du's kibibytes. */
const MAX_INSTALL_KIB = 40 * 1024;

/** The install commands users are told, one per optional peer (README, `kmfit devices`, errors). */
const INSTALL = {
  onnx: 'npm install onnxruntime-node --onnxruntime-node-install=skip',
  webgpu: 'npm install webgpu',
  gpujs: 'npm install gpu.js --ignore-scripts',
  charts: 'npm install vega vega-lite @resvg/resvg-wasm',
};

const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let project: InstalledProject;
/** du -sk node_modules right after the install (later tests add files). */
let installedKib: number;

beforeAll(() => {
  project = packAndInstall();
  const du = project.run('du', ['-sk', 'node_modules']);
  if (du.status !== 0) throw new Error(`du failed: ${du.stderr}`);
  installedKib = Number(du.stdout.split('\t')[0]);
}, 600_000);

afterAll(() => project?.remove());

/** Two classes split by the first feature with a wide margin: size < 0.4 is 'small', > 0.6 'big'. */
const TRAIN_AND_PREDICT = `
  const X = Array.from({ length: 60 }, (_, i) => { const a = (i * 37 % 60) / 60; return [a < 0.5 ? a * 0.8 : 0.6 + a * 0.4, (i * 7 % 60) / 60]; });
  const y = X.map((x) => (x[0] > 0.5 ? 'big' : 'small'));
  const model = await kmfit.fit(X, y, { epochs: 2, backend: 'wasm', threads: 1 });
  const labels = await model.predict([[0.9, 0.1], [0.1, 0.9], [0.7, 0.5], [0.2, 0.3]]);
  await model.dispose();
  let onnx;
  try { await kmfit.fit(X, y, { epochs: 1, backend: 'onnx' }); } catch (e) { onnx = { code: e.code, message: e.message, isKmfitError: e instanceof kmfit.KmfitError }; }
  console.log(JSON.stringify({ labels, backend: model.plan.backend, onnx }));`;

function expectTrained(stdout: string): void {
  const result = JSON.parse(stdout.trim().split('\n').pop()!);
  expect(result.labels).toEqual(['big', 'small', 'big', 'small']);
  expect(result.backend).toBe('wasm');
  // The error that asks for an optional peer names it and the command that installs it.
  expect(result.onnx).toMatchObject({ code: 'UNKNOWN_BACKEND', isKmfitError: true });
  expect(result.onnx.message).toContain(`the optional package onnxruntime-node is not installed; install it with \`${INSTALL.onnx}\``);
}

describe('the packed tarball', () => {
  it('holds only what runs: the bundles and their declarations, the files read at run time, README, LICENSE', () => {
    const paths = project.pack.files.map((f) => f.path).sort();
    const unexpected = paths.filter(
      (p) => !/^dist\/[\w./-]+\.(js|cjs|d\.ts|d\.cts)$/.test(p) && !['LICENSE', 'README.md', 'package.json', 'datasets/diamonds.csv', 'bench/openblas_fused.py'].includes(p),
    );
    expect(unexpected).toEqual([]);
    for (const entry of ['index', 'notebook', 'plot']) {
      for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) expect(paths).toContain(`dist/${entry}.${ext}`);
    }
    expect(paths).toEqual(expect.arrayContaining(['dist/cli/main.js', 'LICENSE', 'datasets/diamonds.csv', 'bench/openblas_fused.py']));
    expect(readFileSync(path.join(project.dir, 'node_modules/kmfit/LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });
});

describe('npm install kmfit', () => {
  it(`installs at most ${MAX_INSTALL_KIB / 1024} MB, no optional peer and no package with an install script`, () => {
    expect(installedKib).toBeLessThanOrEqual(MAX_INSTALL_KIB);
    const lock = JSON.parse(readFileSync(path.join(project.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    expect(Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([name]) => name)).toEqual([]);
    for (const peer of ['onnxruntime-node', 'webgpu', 'gpu.js', 'vega', 'vega-lite', '@resvg/resvg-wasm', 'gl']) {
      expect(existsSync(path.join(project.dir, 'node_modules', peer)), peer).toBe(false);
    }
  });

  it('import { fit } from kmfit (ES modules) trains and predicts on wasm', () => {
    const run = project.run(process.execPath, ['--input-type=module', '-e', `import * as kmfit from 'kmfit';${TRAIN_AND_PREDICT}`]);
    expect(run.stderr).toBe('');
    expectTrained(run.stdout);
  });

  it('require(kmfit) (CommonJS) trains and predicts on wasm', () => {
    const run = project.run(process.execPath, ['-e', `const kmfit = require('kmfit'); (async () => {${TRAIN_AND_PREDICT}})();`]);
    expect(run.stderr).toBe('');
    expectTrained(run.stdout);
  });

  it('kmfit/notebook gives HTML without the chart packages; a chart asks for them', () => {
    const run = project.run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { htmlTable, renderSvg } from 'kmfit/notebook';
       import { KmfitError } from 'kmfit';
       const html = htmlTable(['a'], [['1']]);
       try { await renderSvg({ mark: 'point' }); } catch (e) { console.log(JSON.stringify({ html, code: e.code, message: e.message, isKmfitError: e instanceof KmfitError })); }`,
    ]);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout);
    expect(result.html).toMatch(/<td[^>]*>1<\/td>/);
    expect(result).toMatchObject({ code: 'MISSING_PACKAGE', isKmfitError: true });
    expect(result.message).toContain(`install them with \`${INSTALL.charts}\``);
  });

  it('a strict TypeScript project type-checks against the shipped declarations (kmfit, kmfit/notebook, kmfit/plot)', () => {
    const uses = `
      const X: number[][] = [[0, 1], [1, 0]];
      export async function train(): Promise<string> {
        const model: KernelModel = await fit(X, ['a', 'b'], { kernel: 'gaussian', epochs: 1, backend: 'wasm' });
        const spec: VegaLiteSpec = confusionMatrixSpec(confusionMatrix(['a', 'b'], await model.predict(X)));
        const svg: string = await renderSvg(spec);
        const png: Uint8Array = await renderPng(spec);
        return planTable(model.plan) + svg + png.length + (new KmfitError('INVALID_OPTION', 'x').code satisfies KmfitErrorCode);
      }`;
    const imports = (from: (entry: string) => string) => `
      import { fit, KmfitError, type KernelModel, type KmfitErrorCode } from ${from('kmfit')};
      import { confusionMatrix, confusionMatrixSpec, planTable } from ${from('kmfit/notebook')};
      import { renderPng, renderSvg, type VegaLiteSpec } from ${from('kmfit/plot')};`;
    writeFileSync(path.join(project.dir, 'esm.mts'), imports((e) => `'${e}'`) + uses);
    writeFileSync(path.join(project.dir, 'cjs.cts'), imports((e) => `'${e}'`) + uses);
    // tslab (notebooks) resolves the pre-`exports` way, through typesVersions.
    writeFileSync(path.join(project.dir, 'node10.ts'), imports((e) => `'${e}'`) + uses);
    // A Node project has Node's types (kmfit's declarations use AbortSignal); TypeScript is this checkout's.
    const types = project.run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', lockedVersion('@types/node')]);
    expect(types.status, types.stderr).toBe(0);
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    // skipLibCheck off: kmfit's own declarations are checked too.
    const strict = { strict: true, skipLibCheck: false, types: ['node'], target: 'es2022', lib: ['es2022'], noEmit: true };
    const configs = {
      nodenext: { compilerOptions: { ...strict, module: 'nodenext' }, files: ['esm.mts', 'cjs.cts'] },
      node10: { compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10' }, files: ['node10.ts'] },
    };
    for (const [name, config] of Object.entries(configs)) {
      writeFileSync(path.join(project.dir, `tsconfig.${name}.json`), JSON.stringify(config));
      const check = project.run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`]);
      expect(check.stdout + check.stderr, name).toBe('');
      expect(check.status).toBe(0);
    }
  });

  it('npx kmfit --version and npx kmfit devices, which gives each missing optional peer its install command', () => {
    const v = project.run('npx', ['kmfit', '--version']);
    expect(v.stdout.trim()).toBe(version);
    const json = project.run('npx', ['kmfit', 'devices', '--json']);
    expect(json.status).toBe(0);
    const { auto, backends } = JSON.parse(json.stdout) as { auto: string[]; backends: { name: string; available: boolean; detail: string }[] };
    expect(auto).toEqual(['wasm']); // no onnx to time it against
    const entry = (name: string) => backends.find((b) => b.name === name)!;
    expect(entry('wasm').available).toBe(true);
    for (const [backend, pkg] of [['onnx', 'onnxruntime-node'], ['webgpu', 'webgpu'], ['gpujs', 'gpu.js']] as const) {
      expect(entry(backend).available).toBe(false);
      expect(entry(backend).detail).toContain(`the optional package ${pkg} is not installed; install it with \`${INSTALL[backend]}\``);
    }
    const text = project.run('npx', ['kmfit', 'devices']);
    expect(text.status).toBe(0);
    for (const command of [INSTALL.onnx, INSTALL.webgpu, INSTALL.gpujs]) expect(text.stdout).toContain(command);
  });

  it('npx kmfit data.csv trains on wasm and scores the test file; kmfit scaling --out asks for the chart packages first', () => {
    // The label is 'big' exactly when size > 0.5, with no point between 0.4 and 0.6: a threshold
    // classifies every test row right, and so must the kernel machine.
    const rows = (n: number, offset: number) =>
      Array.from({ length: n }, (_, i) => {
        const a = ((i * 37 + offset) % 100) / 100;
        const size = a < 0.5 ? a * 0.8 : 0.6 + a * 0.4;
        return `${size.toFixed(3)},${(((i * 61 + offset) % 100) / 100).toFixed(3)},${size > 0.5 ? 'big' : 'small'}\n`;
      }).join('');
    writeFileSync(path.join(project.dir, 'data.csv'), `size,other,label\n${rows(200, 0)}`);
    writeFileSync(path.join(project.dir, 'test.csv'), `size,other,label\n${rows(50, 13)}`);
    const train = project.run('npx', ['kmfit', 'data.csv', '--test', 'test.csv', '--epochs', '2', '--json']);
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    const result = JSON.parse(train.stdout);
    expect(result.plan).toMatchObject({ n: 200, d: 2, task: 'classification', backend: 'wasm' });
    expect(result.test.error).toBe(0);
    expect(existsSync(path.join(project.dir, 'data.kmfit'))).toBe(true);
    // A figure needs the chart packages: kmfit scaling --out says so at once and writes nothing.
    const scaling = project.run('npx', ['kmfit', 'scaling', 'data.csv', '--out', 'figures']);
    expect(scaling.status).toBe(2);
    expect(scaling.stderr).toContain(INSTALL.charts);
    expect(scaling.stderr).not.toContain('    at ');
    expect(existsSync(path.join(project.dir, 'figures'))).toBe(false);
  });
});
