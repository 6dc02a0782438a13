/**
 * Translates a kernel's device-neutral formula (KernelExpression: JS text over r2, r, named
 * constants, numeric literals, + - * / and parentheses, and a closed set of Math members) into a
 * WGSL f32 expression.
 *
 * The text is parsed by kernels/expression.ts (the vocabulary and nothing else), then emitted here.
 *
 * WGSL semantics differ from JS in ways that matter here, and the emitter mends each:
 * - Sub-expressions made only of literals and constants are folded in float64 (JS semantics) and
 *   emitted as one f32 literal. WGSL would otherwise evaluate them at shader-creation time in f32,
 *   where pow(0, 0), 1/0 or an overflow are compile errors rather than values.
 * - WGSL's pow(x, y) is undefined for x < 0 and implementation-defined at x = 0; exppower needs
 *   pow(r2, h) at r2 = 0 to be 0 so that k(0) is right. pow becomes pow_js (tile.wgsl), which
 *   follows Math.pow at x ≤ 0 and y = 0.
 * - tanh(x) is evaluated as (e^2x − 1)/(e^2x + 1) by some drivers (NaN for large |x|): its argument
 *   is clamped to ±15, where tanh is ±1 in f32 anyway.
 * - Every literal is written as an f32 literal (suffix f), so no abstract-float or i32 sneaks in.
 */
import { KmfitError } from '../../src/errors.js';
import { parseKernelExpression, type ExpressionNode } from '../expression.js';
import type { KernelExpression } from '../kernel.js';

/** The f32 literal nearest to `value`, in WGSL syntax (e.g. "-0.5f", "1e-7f"). */
export function f32Literal(value: number): string {
  const rounded = Math.fround(value);
  if (!Number.isFinite(rounded)) throw new RangeError(`${value} is not a finite f32`);
  // String(rounded) is the shortest decimal that reads back as this double, hence as this f32.
  let text = String(Math.abs(rounded));
  if (!/[.e]/.test(text)) text += '.0';
  return rounded < 0 || Object.is(rounded, -0) ? `(-${text}f)` : `${text}f`;
}

function emit(node: ExpressionNode, fail: (reason: string) => never): string {
  switch (node.kind) {
    case 'number':
      if (!Number.isFinite(Math.fround(node.value))) {
        fail(`a constant part of it evaluates to ${node.value}, which is not a finite f32`);
      }
      return f32Literal(node.value);
    case 'variable':
      return node.name;
    case 'negate':
      return `(-${emit(node.operand, fail)})`;
    case 'binary':
      return `(${emit(node.left, fail)} ${node.op} ${emit(node.right, fail)})`;
    case 'call': {
      const args = node.args.map((arg) => emit(arg, fail));
      switch (node.fn) {
        case 'pow':
          return `pow_js(${args[0]}, ${args[1]})`;
        case 'tanh':
          return `tanh(clamp(${args[0]}, -15.0f, 15.0f))`;
        case 'min':
        case 'max':
          return args.reduce((acc, arg) => `${node.fn}(${acc}, ${arg})`);
        default:
          return `${node.fn}(${args[0]})`;
      }
    }
  }
}

/**
 * The WGSL f32 expression of `r2` (squared distance, already clamped at 0) and `r` (its square
 * root) for a kernel expression. Constants are inlined as f32 literals, so the shader text (the
 * pipeline cache key) identifies the kernel and its parameters.
 *
 * @throws KmfitError INVALID_KERNEL_FORMULA when the text leaves the vocabulary or a constant part
 *   of it is not a finite f32.
 * @example wgslKernelExpression({ js: 'Math.exp(r * c)', constants: { c: -0.5 } })
 *   // → 'exp((r * (-0.5f)))'
 */
export function wgslKernelExpression(expression: KernelExpression): string {
  const fail = (reason: string): never => {
    throw new KmfitError(
      'INVALID_KERNEL_FORMULA',
      `The webgpu backend cannot translate the kernel expression ${JSON.stringify(expression.js)} to WGSL: ${reason}. ` +
        'Kernel expressions may use numeric literals, + - * / and parentheses, r, r2, named constants, ' +
        'Math.exp/log/sqrt/abs/pow/sin/cos/tanh/cosh/sinh/min/max, Math.PI and Math.E; use the js or wasm backend otherwise.',
    );
  };
  return emit(parseKernelExpression(expression, fail), fail);
}
