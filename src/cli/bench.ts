/** `kmfit bench`: the fused-block benchmark, rendered as a table (or JSON); `--grid`: 'auto''s choice on a grid of shapes. */
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { BACKEND_NAMES, availableBackends, createAutoCandidates, createBackend } from '../backends/select.js';
import { AUTO_GRID, benchGrid, gridTable } from '../../bench/autoGrid.js';
import type { Backend } from '../backends/backend.js';
import { DEFAULT_SHAPES, OpenBlasBaseline, backendBlock, benchInterleaved, type BenchResult, type BenchShape, type TimedBlock } from '../../bench/fusedBlock.js';
import { KmfitError } from '../errors.js';
import { checkValue, closestName } from '../options.js';
import type { BackendName } from '../backends/select.js';
import { formatNumber } from './render.js';

export interface BenchArgs {
  backends?: string;
  reps: number;
  shape?: string[];
  grid?: boolean;
  bytes?: boolean;
  json?: boolean;
}

function parseShape(text: string): BenchShape {
  const parts = text.split(',').map(Number);
  if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new KmfitError('INVALID_OPTION', `--shape must be four positive integers m,n,d,l; got ${JSON.stringify(text)}.`);
  }
  const [m, n, d, l] = parts;
  return { m, n, d, l };
}

/** --backends as backend names, each checked: a typo is refused before the table's header is printed. */
function parseBackends(text: string): BackendName[] {
  const names = text.split(',');
  const unknown = names.find((name) => !(BACKEND_NAMES as readonly string[]).includes(name));
  if (unknown === undefined) return names as BackendName[];
  const guess = closestName(unknown, BACKEND_NAMES);
  throw new KmfitError(
    'INVALID_OPTION',
    `--backends ${text}: ${JSON.stringify(unknown)} is not one of ${BACKEND_NAMES.join(', ')}${guess ? `; did you mean ${guess}?` : '.'}`,
  );
}

/** Prints a table, its columns padded to their widest cell. */
function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows) process.stdout.write(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd() + '\n');
}

/** `kmfit bench --grid`: every backend 'auto' chooses among, on each shape, and the one it takes. */
async function grid(args: BenchArgs): Promise<void> {
  const shapes = args.shape?.length ? args.shape.map(parseShape) : AUTO_GRID;
  const candidates = await createAutoCandidates({});
  try {
    const names = candidates.map((b) => b.name);
    if (!args.json) {
      process.stdout.write(`kmfit bench --grid · ${os.cpus()[0]?.model ?? 'CPU'} · laplacian fused block · median of ${args.reps} interleaved repetitions · 'auto' chooses among ${names.join(', ')}\n`);
    }
    const results = await benchGrid(candidates, shapes, args.reps, (r) => {
      if (!args.json) process.stderr.write(`  d=${r.d} l=${r.l}: ${names.map((n) => `${n} ${r.seconds[n].toFixed(3)} s`).join(', ')}; auto ${r.auto}\n`);
    });
    if (args.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    else printTable(gridTable(results, names));
  } finally {
    for (const backend of candidates) await backend.dispose();
  }
}

export async function bench(args: BenchArgs): Promise<void> {
  checkValue('--reps', { check: { kind: 'integer', min: 1 }, hint: 'the median of that many timings is reported' }, args.reps);
  if (args.grid && args.bytes) throw new KmfitError('INVALID_OPTION', '--bytes times the fused block on byte data; --grid times the backends on uniform data. Give one of them.');
  if (args.grid && args.backends) {
    throw new KmfitError('INVALID_OPTION', "--grid times every backend 'auto' chooses among, as 'auto' would; --backends picks the backends of the fused-block table. Give one of them.");
  }
  if (args.grid) return grid(args);
  const shapes = (args.shape?.length ? args.shape.map(parseShape) : DEFAULT_SHAPES).map((shape) => (args.bytes ? { ...shape, bytes: true } : shape));
  const names = args.backends ? parseBackends(args.backends) : await availableBackends();
  const say = (text: string) => !args.json && process.stdout.write(text + '\n');
  const backends: Backend[] = [];
  try {
    // Before the header: a backend that is not available here is refused with nothing printed.
    for (const name of names) backends.push(await createBackend(name));
  } catch (error) {
    for (const backend of backends) await backend.dispose();
    throw error;
  }
  say(`kmfit bench · ${os.cpus()[0]?.model ?? 'CPU'} · laplacian fused block${args.bytes ? ' on bytes ÷ 255' : ''} · median of ${args.reps} interleaved repetitions`);

  // The baseline script sits in bench/ at the package root (with the code above), two levels above this module (src/cli or dist/cli).
  const baseline = OpenBlasBaseline.start(fileURLToPath(new URL('../../bench/openblas_fused.py', import.meta.url)));
  if (typeof baseline === 'string') say(baseline);
  const results: BenchResult[] = [];
  try {
    for (const shape of shapes) {
      const blocks: TimedBlock[] = [];
      try {
        for (const backend of backends) blocks.push(await backendBlock(backend, shape));
        if (typeof baseline !== 'string') blocks.push(await baseline.block(shape));
        results.push(...(await benchInterleaved(blocks, shape, args.reps)));
      } finally {
        for (const block of blocks) block.dispose();
      }
    }
  } finally {
    if (typeof baseline !== 'string') baseline.close();
    for (const backend of backends) await backend.dispose();
  }

  if (args.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  const header = ['shape', 'backend', 'threads', 'GFLOP/s', 'median s', '× js', '× openblas'];
  const rows: string[][] = [];
  for (const shape of shapes) {
    const same = results.filter((r) => r.m === shape.m && r.n === shape.n && r.d === shape.d && r.l === shape.l);
    const js = same.find((r) => r.backend === 'js');
    const blas = same.find((r) => r.backend === 'openblas');
    same.forEach((r, i) =>
      rows.push([
        i === 0 ? `m=${r.m} n=${r.n} d=${r.d} l=${r.l}` : '',
        r.backend,
        String(r.threads ?? 'gpu'),
        formatNumber(r.gflops, 3),
        formatNumber(r.medianSeconds, 3),
        js ? formatNumber(r.gflops / js.gflops, 3) : '—',
        blas ? formatNumber(r.gflops / blas.gflops, 3) : '—',
      ]),
    );
  }
  printTable([header, ...rows]);
}
