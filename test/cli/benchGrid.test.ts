/**
 * `kmfit bench --grid`: the grid of shapes the issue asks for, and the table it prints — per shape
 * every backend's time, the one 'auto' took and its time over the fastest — from given results
 * (no timing here).
 */
import { describe, expect, it } from 'vitest';
import { AUTO_BAR, AUTO_GRID, gridResult, gridTable } from '../../bench/autoGrid.js';
import type { BenchResult, BenchShape } from '../../bench/fusedBlock.js';
import type { BackendChoice } from '../../src/solver/capacity.js';

function results(shape: BenchShape, seconds: Record<string, number>): BenchResult[] {
  return Object.entries(seconds).map(([backend, medianSeconds]) => ({ ...shape, backend, kernel: 'laplacian', threads: 2, gflops: 1, medianSeconds }));
}

function choice(name: string): BackendChoice {
  return { name, times: [{ backend: 'onnx', seconds: 0.004 }, { backend: 'wasm', seconds: 0.0035 }], rows: 780, centers: 8192, cached: false };
}

describe('the bench grid', () => {
  it('is d ∈ {4, 16, 64, 256, 784} × l ∈ {1, 10, 26} at m = 2 000, n = 16 000', () => {
    expect(AUTO_GRID).toHaveLength(15);
    expect(new Set(AUTO_GRID.map((s) => s.d))).toEqual(new Set([4, 16, 64, 256, 784]));
    expect(new Set(AUTO_GRID.map((s) => s.l))).toEqual(new Set([1, 10, 26]));
    expect(AUTO_GRID.every((s) => s.m === 2000 && s.n === 16_000)).toBe(true);
    expect(new Set(AUTO_GRID.map((s) => `${s.d},${s.l}`)).size).toBe(15);
  });

  it("gives auto's time over the fastest: 1 when it took the fastest", () => {
    const shape = { m: 2000, n: 16_000, d: 16, l: 26 };
    const timed = results(shape, { onnx: 0.12, wasm: 0.24 });
    expect(gridResult(shape, timed, choice('onnx')).ratio).toBe(1);
    expect(gridResult(shape, timed, choice('wasm')).ratio).toBe(2);
    expect(gridResult(shape, timed, choice('wasm')).seconds).toEqual({ onnx: 0.12, wasm: 0.24 });
  });

  it('prints one row per shape: the shape, each backend, the pick, the ratio (marked past the bar) and its timing', () => {
    const a = { m: 2000, n: 16_000, d: 4, l: 1 };
    const b = { m: 2000, n: 16_000, d: 784, l: 10 };
    const table = gridTable(
      [gridResult(a, results(a, { onnx: 0.088, wasm: 0.112 }), choice('wasm')), gridResult(b, results(b, { onnx: 1.1, wasm: 2.0 }), choice('onnx'))],
      ['onnx', 'wasm'],
    );
    expect(table[0]).toEqual(['m', 'n', 'd', 'l', 'onnx s', 'wasm s', 'auto', 'auto ÷ fastest', "auto's timing (onnx, wasm, ms)"]);
    expect(table).toHaveLength(3);
    // 0.112 / 0.088 = 1.27: past the 10 % bar.
    expect(AUTO_BAR).toBe(1.1);
    expect(table[1]).toEqual(['2000', '16000', '4', '1', '0.088', '0.112', 'wasm', '1.27 ✗', '4.0, 3.5']);
    expect(table[2]).toEqual(['2000', '16000', '784', '10', '1.100', '2.000', 'onnx', '1.00', '4.0, 3.5']);
  });
});
