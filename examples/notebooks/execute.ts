/**
 * Runs the notebooks in this folder with the tslab kernel under Jupyter, headless.
 *
 *   npm run notebooks [-- name.ipynb …]   re-run them (all by default) and write their outputs back
 *
 * They run where they are, as when opened from a clone: `npm ci` links node_modules/kmfit to the
 * clone (the devDependency kmfit: file:.), so `import … from 'kmfit'` resolves to this checkout's
 * dist/ (tslab resolves modules the pre-`exports` way and cannot see a package's own name from
 * inside it). test/notebooks/ runs them in a project where the packed kmfit is installed instead.
 * Jupyter comes from Debian (/usr/bin/python3 with python3-nbconvert, python3-jupyter-client,
 * python3-ipython); tslab is a development dependency whose kernel spec is installed into
 * node_modules/.cache/kmfit-jupyter of the project on first use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NOTEBOOK_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(NOTEBOOK_DIR, '../..');
const PYTHON = '/usr/bin/python3';

/** Where a notebook runs: the project whose node_modules has tslab (and kmfit), and its working folder. */
export interface NotebookProject {
  /** The project folder, holding node_modules/.bin/tslab. */
  readonly root: string;
  /** The folder the notebook is in and runs in (the project or a folder below it). */
  readonly folder: string;
}

/** This clone: the notebooks in place, with the clone's tslab. */
export const CLONE: NotebookProject = { root: ROOT, folder: NOTEBOOK_DIR };

/** The notebooks CI runs: every .ipynb in examples/notebooks/. */
export function notebookNames(): string[] {
  return readdirSync(NOTEBOOK_DIR)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
}

/** Why notebooks cannot run here, or undefined when Jupyter is present (and tslab, in `project`). */
export function jupyterMissing(project: NotebookProject = CLONE): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, jupyter_client, IPython'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return `${PYTHON} has no Jupyter: apt-get install python3-nbconvert python3-jupyter-client python3-ipython`;
  }
  if (!existsSync(path.join(project.root, 'node_modules/.bin/tslab'))) return 'tslab is not installed: npm ci';
  return undefined;
}

/** Installs the project's tslab kernel spec once; returns the JUPYTER_PATH that finds it. */
function kernelPath(project: NotebookProject): string {
  const prefix = path.join(project.root, 'node_modules/.cache/kmfit-jupyter');
  const share = path.join(prefix, 'share/jupyter');
  const spec = path.join(share, 'kernels/tslab/kernel.json');
  const tslab = path.join(project.root, 'node_modules/.bin/tslab');
  // The spec names the tslab binary by absolute path: install it again if the checkout moved.
  if (!existsSync(spec) || (JSON.parse(readFileSync(spec, 'utf8')) as { argv: string[] }).argv[0] !== tslab) {
    const run = spawnSync(tslab, ['install', `--python=${PYTHON}`, `--binary=${tslab}`, `--prefix=${prefix}`], { encoding: 'utf8' });
    if (run.status !== 0 || !existsSync(spec)) {
      throw new Error(`tslab install failed:\n${run.stdout}${run.stderr}`);
    }
  }
  return share;
}

/** One notebook as nbformat 4 JSON (only what the checks read). */
export interface Notebook {
  cells: { cell_type: string; source: string | string[]; execution_count?: number | null; outputs?: Output[] }[];
  metadata: Record<string, unknown>;
}
export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

export interface Execution {
  /** nbconvert's exit status: 0 when every cell ran without an error or a type error. */
  readonly status: number | null;
  /** nbconvert's own messages (the failing cell and its error, when status ≠ 0). */
  readonly log: string;
  /** The executed notebook, when nbconvert wrote one, and its file text. */
  readonly notebook?: Notebook;
  readonly text?: string;
  readonly seconds: number;
}

/**
 * Executes `name` (a notebook in project.folder) in that folder, as Jupyter runs a notebook it
 * opened there; the executed copy goes to a scratch folder, the notebook is not touched.
 */
export function executeNotebook(name: string, project: NotebookProject = CLONE, cellTimeoutSeconds = 600): Execution {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'kmfit-notebook-'));
  try {
    const started = performance.now();
    const run = spawnSync(
      PYTHON,
      ['-m', 'nbconvert', '--to', 'notebook', '--execute', name, '--output-dir', scratch, '--output', name,
        `--ExecutePreprocessor.timeout=${cellTimeoutSeconds}`, '--ExecutePreprocessor.record_timing=False'],
      { cwd: project.folder, encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: kernelPath(project) } },
    );
    const seconds = (performance.now() - started) / 1000;
    const out = path.join(scratch, name);
    const text = existsSync(out) ? readFileSync(out, 'utf8') : undefined;
    const notebook = text === undefined ? undefined : (JSON.parse(text) as Notebook);
    return { status: run.status, log: `${run.stdout}${run.stderr}`, notebook, text, seconds };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** True when nbconvert gave up on a cell that ran past its timeout (the kernel stopped answering). */
export function cellTimedOut(run: Execution): boolean {
  return run.status !== 0 && /CellTimeoutError|A cell timed out while it was being executed/.test(run.log);
}

/** A cell's source or a stream's text as one string. */
export function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join('') : (text ?? '');
}

function main(names: string[]): number {
  const missing = jupyterMissing();
  if (missing) {
    process.stderr.write(`${missing}\n`);
    return 2;
  }
  for (const name of names.length ? names : notebookNames()) {
    const run = executeNotebook(path.basename(name));
    if (run.status !== 0 || run.text === undefined) {
      process.stderr.write(`${name} failed after ${run.seconds.toFixed(1)} s:\n${run.log}\n`);
      return 1;
    }
    writeFileSync(path.join(NOTEBOOK_DIR, path.basename(name)), run.text);
    process.stdout.write(`${name}: ran in ${run.seconds.toFixed(1)} s, outputs written back\n`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
