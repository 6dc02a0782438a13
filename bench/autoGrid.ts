/**
 * `kmfit bench --grid`: for each shape of a grid (d × l at fixed m and n), every CPU backend 'auto'
 * chooses among timed on the fused block, and the one 'auto' takes there — its own short timing
 * (src/solver/capacity.ts timeBackends), done afresh — with its time relative to the fastest. The
 * bar (issue 21): within 10 % of the fastest on every shape.
 */
import type { Backend } from '../src/backends/backend.js';
import { timeBackends, type BackendChoice } from '../src/solver/capacity.js';
import { backendBlock, benchInterleaved, type BenchResult, type BenchShape, type TimedBlock } from './fusedBlock.js';
import { benchKernel, uniformMatrix } from './timing.js';

/** The grid of the issue: d ∈ {4, 16, 64, 256, 784}, l ∈ {1, 10, 26}, at m = 2 000 and n = 16 000. */
export const AUTO_GRID: readonly BenchShape[] = [4, 16, 64, 256, 784].flatMap((d) => [1, 10, 26].map((l) => ({ m: 2000, n: 16_000, d, l })));

/** 'auto' is within this factor of the fastest backend on a shape. */
export const AUTO_BAR = 1.1;

export interface GridResult extends BenchShape {
  /** Median seconds of the fused block, per backend (in the candidates' order). */
  readonly seconds: Readonly<Record<string, number>>;
  /** What 'auto' took, and the times of its own short timing. */
  readonly auto: string;
  readonly choice: BackendChoice;
  /** auto's block time over the fastest one's (1: it took the fastest). */
  readonly ratio: number;
}

/** The grid result of one shape from the block times and 'auto''s choice. */
export function gridResult(shape: BenchShape, results: readonly BenchResult[], choice: BackendChoice): GridResult {
  const seconds = Object.fromEntries(results.map((r) => [r.backend, r.medianSeconds]));
  const fastest = Math.min(...results.map((r) => r.medianSeconds));
  return { ...shape, seconds, auto: choice.name, choice, ratio: seconds[choice.name] / fastest };
}

/** Times every candidate on each shape (median of `repetitions` interleaved rounds) and asks 'auto'. */
export async function benchGrid(candidates: readonly Backend[], shapes: readonly BenchShape[], repetitions: number, onShape?: (result: GridResult) => void): Promise<GridResult[]> {
  const out: GridResult[] = [];
  for (const shape of shapes) {
    const blocks: TimedBlock[] = [];
    try {
      for (const backend of candidates) blocks.push(await backendBlock(backend, shape));
      const results = await benchInterleaved(blocks, shape, repetitions);
      // The same centers backendBlock made (its seed 1), as a run would time its own rows.
      const choice = await timeBackends(candidates, benchKernel(shape.d), uniformMatrix(shape.n, shape.d, 1), shape.l, { cache: false });
      out.push(gridResult(shape, results, choice));
      onShape?.(out[out.length - 1]);
    } finally {
      for (const block of blocks) block.dispose();
    }
  }
  return out;
}

/** The grid as table rows: the shape, each backend's seconds, 'auto''s pick, its ratio to the fastest, and its own timing. */
export function gridTable(results: readonly GridResult[], backends: readonly string[]): string[][] {
  const header = ['m', 'n', 'd', 'l', ...backends.map((b) => `${b} s`), 'auto', 'auto ÷ fastest', `auto's timing (${backends.join(', ')}, ms)`];
  const rows = results.map((r) => [
    String(r.m),
    String(r.n),
    String(r.d),
    String(r.l),
    ...backends.map((b) => (r.seconds[b] === undefined ? '—' : r.seconds[b].toFixed(3))),
    r.auto,
    `${r.ratio.toFixed(2)}${r.ratio > AUTO_BAR ? ' ✗' : ''}`,
    r.choice.times.map((t) => (t.seconds * 1000).toFixed(1)).join(', '),
  ]);
  return [header, ...rows];
}
