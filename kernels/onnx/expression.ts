/**
 * Translates a kernel's device-neutral formula (parsed and constant-folded by kernels/expression.ts)
 * into ONNX operators over a tensor of squared distances, node by node: + − × ÷ and negation become
 * Add, Sub, Mul, Div and Neg; Math.exp, log, sqrt, abs, pow, sin, cos, tanh, cosh, sinh, min and
 * max become the ONNX operators of the same names; r is Sqrt(r²), computed once and only if used.
 *
 * Where ONNX and JS could differ, they agree on the inputs kernels see: onnxruntime's Pow follows
 * C's pow, which matches Math.pow for finite arguments (pow(0, h) = 0 for h > 0, pow(x, 0) = 1),
 * and constants are folded in float64 before they become float32 scalars, as in the JS reference.
 */
import { KmfitError } from '../../src/errors.js';
import { parseKernelExpression, type ExpressionNode, type MathFunction } from '../expression.js';
import type { KernelExpression } from '../kernel.js';
import type { OnnxGraph } from './graph.js';

const BINARY = { '+': 'Add', '-': 'Sub', '*': 'Mul', '/': 'Div' } as const;

const OPERATORS: Readonly<Record<MathFunction, string>> = {
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  abs: 'Abs',
  pow: 'Pow',
  sin: 'Sin',
  cos: 'Cos',
  tanh: 'Tanh',
  cosh: 'Cosh',
  sinh: 'Sinh',
  min: 'Min',
  max: 'Max',
};

function failure(expression: KernelExpression): (reason: string) => never {
  return (reason) => {
    throw new KmfitError(
      'INVALID_KERNEL_FORMULA',
      `The onnx backend cannot translate the kernel expression ${JSON.stringify(expression.js)} to ONNX operators: ${reason}. ` +
        'Kernel expressions may use numeric literals, + - * / and parentheses, r, r2, named constants, ' +
        'Math.exp/log/sqrt/abs/pow/sin/cos/tanh/cosh/sinh/min/max, Math.PI and Math.E; use the js or wasm backend otherwise.',
    );
  };
}

/**
 * A kernel ready to emit: its tree over s = scale · r², where the variable r2 stands for s. The
 * distance graph computes s directly, with `scale` folded into the GEMM.
 */
export interface OnnxKernel {
  readonly scale: number;
  readonly root: ExpressionNode;
  readonly expression: KernelExpression;
  /**
   * Whether s must be clamped to the sign of the scale first. The GEMM form's rounding can push
   * r² of close points slightly below 0 (by the float32 rounding of ‖x‖² + ‖z‖², the same error
   * any r² of such points has): a square root, a logarithm or a power would turn that into NaN or
   * a jump, so formulas with r, sqrt, log or pow are clamped; the others are continuous and defined
   * there, and take the rounded value as it is, which saves a pass over the m×n tile.
   */
  readonly clamp: boolean;
}

/** Whether the tree has r, or a function that needs r² ≥ 0. */
function needsClamp(node: ExpressionNode): boolean {
  switch (node.kind) {
    case 'number':
      return false;
    case 'variable':
      return node.name === 'r';
    case 'negate':
      return needsClamp(node.operand);
    case 'binary':
      return needsClamp(node.left) || needsClamp(node.right);
    case 'call':
      return node.fn === 'sqrt' || node.fn === 'log' || node.fn === 'pow' || node.args.some(needsClamp);
  }
}

/** The constant c of a product r2·c or c·r2, or undefined for any other node. */
function factorOfSquared(node: ExpressionNode): number | undefined {
  if (node.kind !== 'binary' || node.op !== '*') return undefined;
  const { left, right } = node;
  if (left.kind === 'variable' && left.name === 'r2' && right.kind === 'number') return right.value;
  if (right.kind === 'variable' && right.name === 'r2' && left.kind === 'number') return left.value;
  return undefined;
}

/**
 * Where r² enters only as r²·c with one constant c and r does not appear (the gaussian's
 * exp(r²·c), the cauchy's 1/(1 + r²·c)), the tree over s = c·r²: the product moves into the
 * distance GEMM, saving a pass over the m×n tile. Otherwise undefined.
 */
function scaledTree(root: ExpressionNode): { scale: number; root: ExpressionNode } | undefined {
  const factors = new Set<number>();
  let other = false;
  const replace = (node: ExpressionNode): ExpressionNode => {
    const factor = factorOfSquared(node);
    if (factor !== undefined) {
      factors.add(factor);
      return { kind: 'variable', name: 'r2' };
    }
    switch (node.kind) {
      case 'number':
        return node;
      case 'variable':
        other = true; // r, or r² outside a product with a constant
        return node;
      case 'negate':
        return { kind: 'negate', operand: replace(node.operand) };
      case 'binary':
        return { kind: 'binary', op: node.op, left: replace(node.left), right: replace(node.right) };
      case 'call':
        return { kind: 'call', fn: node.fn, args: node.args.map(replace) };
    }
  };
  const scaled = replace(root);
  const [scale] = factors;
  const usable = !other && factors.size === 1 && scale !== 0 && Number.isFinite(Math.fround(scale));
  return usable ? { scale, root: scaled } : undefined;
}

/**
 * Parses and checks a kernel's expression for the ONNX graphs; a constant factor of r² moves into
 * the distance GEMM.
 *
 * @throws KmfitError INVALID_KERNEL_FORMULA when the text leaves the vocabulary or does not depend
 *   on the distance.
 */
export function onnxKernel(expression: KernelExpression): OnnxKernel {
  const root = parseKernelExpression(expression, failure(expression));
  // Folded to one number, it would give one value instead of one per entry (and is no kernel).
  if (root.kind === 'number') failure(expression)('it does not depend on r or r2');
  const folded = scaledTree(root);
  return { ...(folded ?? { scale: 1, root }), expression, clamp: needsClamp(root) };
}

/**
 * Adds the nodes computing k elementwise from `squared` (the name of a tensor of s = scale·r², clamped
 * where `kernel.clamp` says) and returns the name of the result, of the same shape.
 *
 * @throws KmfitError INVALID_KERNEL_FORMULA when a constant part of it is not a finite float32.
 */
export function emitKernel(graph: OnnxGraph, squared: string, kernel: OnnxKernel): string {
  const fail = failure(kernel.expression);
  let distance: string | undefined;
  const emit = (node: ExpressionNode): string => {
    switch (node.kind) {
      case 'number':
        if (!Number.isFinite(Math.fround(node.value))) {
          fail(`a constant part of it evaluates to ${node.value}, which is not a finite float32`);
        }
        return graph.scalar(node.value);
      case 'variable':
        if (node.name === 'r2') return squared;
        // Only unscaled trees use r (scaledTree declines them).
        distance ??= graph.node('Sqrt', [squared]);
        return distance;
      case 'negate':
        return graph.node('Neg', [emit(node.operand)]);
      case 'binary':
        return graph.node(BINARY[node.op], [emit(node.left), emit(node.right)]);
      case 'call':
        return graph.node(OPERATORS[node.fn], node.args.map(emit));
    }
  };
  return emit(kernel.root);
}
