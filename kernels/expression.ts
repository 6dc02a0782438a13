/**
 * Parses a kernel's device-neutral formula (KernelExpression: JS text over r2, r, named constants,
 * numeric literals, + - * / and parentheses, and a closed set of Math members) into a syntax tree,
 * for the backends that translate it into their own device code (WGSL in kernels/webgpu/, ONNX
 * operators in kernels/onnx/).
 *
 * The text is parsed, not pattern-replaced: a tokenizer and a recursive-descent parser accept
 * exactly that vocabulary and reject everything else by name, so nothing outside it can reach a
 * device. The same parser serves built-in kernels and custom formulas, because custom.ts already
 * lowers mathjs formulas into this JS vocabulary; parsing the JS (rather than the original mathjs
 * text) means one translator per device covers every kernel a backend can be handed.
 *
 * Sub-expressions made only of literals and constants are folded in float64 (JS semantics), so
 * that a device never evaluates them itself in f32, where pow(0, 0), 1/0 or an overflow are
 * errors or other values than the reference's.
 */
import type { KernelExpression } from './kernel.js';

type BinaryOp = '+' | '-' | '*' | '/';

export type ExpressionNode =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'variable'; readonly name: 'r' | 'r2' }
  | { readonly kind: 'negate'; readonly operand: ExpressionNode }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: ExpressionNode; readonly right: ExpressionNode }
  | { readonly kind: 'call'; readonly fn: MathFunction; readonly args: readonly ExpressionNode[] };

/** Math functions of the vocabulary and their float64 meaning (for folding). */
const FUNCTIONS = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  pow: Math.pow,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  cosh: Math.cosh,
  sinh: Math.sinh,
  min: Math.min,
  max: Math.max,
} as const;
export type MathFunction = keyof typeof FUNCTIONS;

const MATH_CONSTANTS: Readonly<Record<string, number>> = { PI: Math.PI, E: Math.E };

function isMathFunction(name: string): name is MathFunction {
  return Object.prototype.hasOwnProperty.call(FUNCTIONS, name);
}

function arityProblem(fn: MathFunction, count: number): string | undefined {
  if (fn === 'min' || fn === 'max') return count >= 1 ? undefined : `Math.${fn}() needs at least one argument`;
  const expected = fn === 'pow' ? 2 : 1;
  return count === expected ? undefined : `Math.${fn}() takes ${expected} argument(s), got ${count}`;
}

interface Token {
  readonly text: string;
  readonly at: number;
}

const TOKEN = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_$][A-Za-z0-9_$]*)|([-+*/(),.]))/y;

function tokenize(text: string, fail: (reason: string) => never): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(text);
    if (!match) {
      const rest = text.slice(at).trimStart();
      fail(`unexpected character ${JSON.stringify(rest[0])} at "${rest.slice(0, 12)}"`);
    }
    const body = match[1] ?? match[2] ?? match[3];
    tokens.push({ text: body, at: TOKEN.lastIndex - body.length });
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parses the expression; identifiers other than r, r2 and the constants are rejected. */
function parse(expression: KernelExpression, fail: (reason: string) => never): ExpressionNode {
  const tokens = tokenize(expression.js, fail);
  let position = 0;
  const peek = (): string | undefined => tokens[position]?.text;
  const next = (): string => {
    const token = tokens[position++];
    if (!token) fail('it ends too early');
    return token.text;
  };
  const expect = (text: string): void => {
    const found = next();
    if (found !== text) fail(`expected "${text}" but found "${found}"`);
  };

  /** One precedence level: `operand`s joined left to right by the operators `ops`. */
  const level = (ops: readonly BinaryOp[], operand: () => ExpressionNode) => (): ExpressionNode => {
    let node = operand();
    for (let op = peek(); ops.includes(op as BinaryOp); op = peek()) {
      position++;
      node = { kind: 'binary', op: op as BinaryOp, left: node, right: operand() };
    }
    return node;
  };
  const product = level(['*', '/'], () => unary());
  const sum = level(['+', '-'], product);
  const unary = (): ExpressionNode => {
    const op = peek();
    if (op === '-') {
      position++;
      return { kind: 'negate', operand: unary() };
    }
    if (op === '+') {
      position++;
      return unary();
    }
    return primary();
  };
  const primary = (): ExpressionNode => {
    const token = next();
    if (token === '(') {
      const inner = sum();
      expect(')');
      return inner;
    }
    if (/^[\d.]/.test(token)) {
      const value = Number(token);
      if (!Number.isFinite(value)) fail(`the literal ${token} is not a finite number`);
      return { kind: 'number', value };
    }
    if (!/^[A-Za-z_$]/.test(token)) fail(`unexpected "${token}"`);
    if (token === 'Math') {
      expect('.');
      const member = next();
      if (Object.prototype.hasOwnProperty.call(MATH_CONSTANTS, member)) return { kind: 'number', value: MATH_CONSTANTS[member] };
      if (!isMathFunction(member)) {
        fail(`Math.${member} is not supported (use ${Object.keys(FUNCTIONS).map((f) => `Math.${f}`).join(', ')}, Math.PI, Math.E)`);
      }
      expect('(');
      const args: ExpressionNode[] = [];
      if (peek() !== ')') {
        args.push(sum());
        while (peek() === ',') {
          position++;
          args.push(sum());
        }
      }
      expect(')');
      const problem = arityProblem(member, args.length);
      if (problem) fail(problem);
      return { kind: 'call', fn: member, args };
    }
    if (peek() === '(' || peek() === '.') fail(`unknown function or object "${token}"`);
    if (token === 'r' || token === 'r2') return { kind: 'variable', name: token };
    if (Object.prototype.hasOwnProperty.call(expression.constants, token)) {
      return { kind: 'number', value: expression.constants[token] };
    }
    fail(`unknown name "${token}" (only r, r2 and the constants ${Object.keys(expression.constants).join(', ') || '(none)'})`);
  };

  if (tokens.length === 0) fail('it is empty');
  const root = sum();
  if (position < tokens.length) fail(`unexpected "${tokens[position].text}" after a complete expression`);
  return root;
}

/** Folds literal-only sub-expressions in float64, as the JS reference computes them. */
function fold(node: ExpressionNode): ExpressionNode {
  switch (node.kind) {
    case 'number':
    case 'variable':
      return node;
    case 'negate': {
      const operand = fold(node.operand);
      return operand.kind === 'number' ? { kind: 'number', value: -operand.value } : { kind: 'negate', operand };
    }
    case 'binary': {
      const left = fold(node.left);
      const right = fold(node.right);
      if (left.kind === 'number' && right.kind === 'number') {
        const a = left.value;
        const b = right.value;
        const value = node.op === '+' ? a + b : node.op === '-' ? a - b : node.op === '*' ? a * b : a / b;
        return { kind: 'number', value };
      }
      return { kind: 'binary', op: node.op, left, right };
    }
    case 'call': {
      const args = node.args.map(fold);
      const values: number[] = [];
      for (const arg of args) if (arg.kind === 'number') values.push(arg.value);
      if (values.length === args.length) {
        const fn: (...xs: number[]) => number = FUNCTIONS[node.fn];
        return { kind: 'number', value: fn(...values) };
      }
      return { kind: 'call', fn: node.fn, args };
    }
  }
}

/**
 * The folded syntax tree of a kernel expression. `fail` is called with the reason when the text
 * leaves the vocabulary; it throws the caller's error.
 */
export function parseKernelExpression(expression: KernelExpression, fail: (reason: string) => never): ExpressionNode {
  return fold(parse(expression, fail));
}
