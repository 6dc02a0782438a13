/**
 * Which kernel transform the wasm workers run: a SIMD transform of the device code, selected by an
 * id and two float32 constants, for the built-in kernels' expressions; otherwise the kernel's JS
 * expression, compiled inside each worker and run over the tile in shared memory.
 *
 * Built-ins are recognized by their expression text (kernels/builtin.ts), not by name: if a
 * built-in's formula ever changes, it silently takes the (correct, slower) JS path instead of a
 * SIMD transform that no longer matches.
 */
import { compileExpression } from '../../../kernels/compile.js';
import type { Kernel } from '../../../kernels/kernel.js';

/** Transform ids, as in kernels/wasm/assembly/blocks.ts (KERNEL_*). 0: the JS expression. */
export const KERNEL_CUSTOM = 0;
export const KERNEL_LAPLACIAN = 1;
export const KERNEL_GAUSSIAN = 2;
export const KERNEL_EXPPOWER = 3;
export const KERNEL_CAUCHY = 4;
export const KERNEL_MATERN32 = 5;
export const KERNEL_MATERN52 = 6;

export interface TransformChoice {
  readonly kind: number;
  readonly c0: number;
  readonly c1: number;
  /** For KERNEL_CUSTOM: the expression the workers compile. */
  readonly custom?: { readonly key: string; readonly js: string; readonly constants: Readonly<Record<string, number>> };
}

type Constants = Readonly<Record<string, number>>;

/** Expression text → transform id and its constants (undefined: not usable, take the JS path). */
const SIMD_EXPRESSIONS = new Map<string, (c: Constants) => [number, number, number] | undefined>([
  ['Math.exp(r * c)', ({ c }) => [KERNEL_LAPLACIAN, c, 0]],
  ['Math.exp(r2 * c)', ({ c }) => [KERNEL_GAUSSIAN, c, 0]],
  // (r²)^h is computed as exp(h·ln r²) with 0^h = 0, which needs h > 0; h ≤ 1 keeps it finite.
  ['Math.exp(Math.pow(r2, h) * c)', ({ c, h }) => (h > 0 && h <= 1 ? [KERNEL_EXPPOWER, c, h] : undefined)],
  ['1 / (1 + r2 * c)', ({ c }) => (c >= 0 ? [KERNEL_CAUCHY, c, 0] : undefined)],
  ['Math.exp(-r * a)', ({ a }) => [KERNEL_LAPLACIAN, -a, 0]],
  ['(1 + a * r) * Math.exp(-a * r)', ({ a }) => [KERNEL_MATERN32, a, 0]],
  ['(1 + a * r + b * r2) * Math.exp(-a * r)', ({ a, b }) => [KERNEL_MATERN52, a, b]],
]);

export function chooseTransform(kernel: Kernel): TransformChoice {
  const { js, constants } = kernel.expression;
  const simd = SIMD_EXPRESSIONS.get(js)?.(constants);
  if (simd && simd.every((value) => Number.isFinite(value))) {
    return { kind: simd[0], c0: simd[1], c1: simd[2] };
  }
  // Validates constant names the same way the workers' compiler will rely on.
  compileExpression(js, constants);
  const key = `${js}\u0000${JSON.stringify(Object.entries(constants).sort())}`;
  return { kind: KERNEL_CUSTOM, c0: 0, c1: 0, custom: { key, js, constants } };
}
