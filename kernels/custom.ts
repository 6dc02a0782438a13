/**
 * Custom kernels written as a mathjs formula of the distance r and named parameters, e.g.
 * 'exp(-r^1.5 / sigma)'. The formula is parsed once with mathjs and translated, node by node, into
 * a JS expression over a closed set of operators and functions, so that it runs as fast as a
 * built-in kernel and can later be translated to other device languages the same way.
 */
import {
  create,
  isConstantNode,
  isFunctionNode,
  isOperatorNode,
  isParenthesisNode,
  isSymbolNode,
  parseDependencies,
  type MathNode,
} from 'mathjs';

let parser: ((formula: string) => MathNode) | undefined;

/**
 * mathjs's parser alone, made on first use: a mathjs instance with only the parser's factories
 * loads in a fraction of the time of the full library (which the bundles then leave out), and a
 * run without a custom kernel never makes one.
 */
function parse(formula: string): MathNode {
  parser ??= create({ parseDependencies }).parse;
  return parser(formula);
}

export class FormulaError extends Error {}

/** mathjs function name → JS expression builder. */
const FUNCTIONS: Readonly<Record<string, (args: string[]) => string>> = {
  exp: ([a]) => `Math.exp(${a})`,
  log: ([a]) => `Math.log(${a})`,
  sqrt: ([a]) => `Math.sqrt(${a})`,
  abs: ([a]) => `Math.abs(${a})`,
  pow: ([a, b]) => `Math.pow(${a}, ${b})`,
  sin: ([a]) => `Math.sin(${a})`,
  cos: ([a]) => `Math.cos(${a})`,
  tanh: ([a]) => `Math.tanh(${a})`,
  cosh: ([a]) => `Math.cosh(${a})`,
  sinh: ([a]) => `Math.sinh(${a})`,
  min: (args) => `Math.min(${args.join(', ')})`,
  max: (args) => `Math.max(${args.join(', ')})`,
};
const ARITY: Readonly<Record<string, number>> = { pow: 2 };

const BINARY: Readonly<Record<string, string>> = {
  add: '+',
  subtract: '-',
  multiply: '*',
  divide: '/',
};

const NAMED_CONSTANTS: Readonly<Record<string, string>> = { pi: 'Math.PI', e: 'Math.E' };

/**
 * The table's own entry for a name from the formula, never an inherited one: with `in` or `[]`,
 * `toString`, `valueOf` or `constructor` would find Object.prototype's members.
 */
function own<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

export interface TranslatedFormula {
  /** JS expression of r (and r2), with parameters as `p_<name>` identifiers. */
  js: string;
  /** Parameter names the formula uses (other than r). */
  parameters: string[];
}

/** Parses and translates a formula; throws FormulaError with the reason. */
export function translateFormula(formula: string): TranslatedFormula {
  let root: MathNode;
  try {
    root = parse(formula);
  } catch (error) {
    throw new FormulaError(`it does not parse: ${(error as Error).message}`);
  }
  const parameters = new Set<string>();
  let usesR = false;

  const visit = (node: MathNode): string => {
    if (isConstantNode(node)) {
      const value: unknown = node.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new FormulaError(`the constant ${String(value)} is not a finite number`);
      }
      return `(${value})`;
    }
    if (isSymbolNode(node)) {
      if (node.name === 'r') {
        usesR = true;
        return 'r';
      }
      const constant = own(NAMED_CONSTANTS, node.name);
      if (constant !== undefined) return constant;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(node.name)) {
        throw new FormulaError(`the name ${JSON.stringify(node.name)} is not usable`);
      }
      parameters.add(node.name);
      return `p_${node.name}`;
    }
    if (isParenthesisNode(node)) return `(${visit(node.content)})`;
    if (isOperatorNode(node)) {
      const parts = node.args.map(visit);
      const fn: string = node.fn;
      if (parts.length === 1 && fn === 'unaryMinus') return `(-${parts[0]})`;
      if (parts.length === 1 && fn === 'unaryPlus') return `(+${parts[0]})`;
      if (parts.length === 2 && fn === 'pow') return `Math.pow(${parts[0]}, ${parts[1]})`;
      const binary = own(BINARY, fn);
      if (parts.length === 2 && binary !== undefined) return `(${parts[0]} ${binary} ${parts[1]})`;
      throw new FormulaError(
        `the operator ${JSON.stringify(node.op)} is not supported (use + - * / ^ and parentheses)`,
      );
    }
    if (isFunctionNode(node)) {
      const name = node.fn.name;
      const build = own(FUNCTIONS, name);
      if (!build) {
        throw new FormulaError(
          `the function ${name}() is not supported; use ${Object.keys(FUNCTIONS).join(', ')}`,
        );
      }
      const expected = own(ARITY, name) ?? (name === 'min' || name === 'max' ? -1 : 1);
      if (expected >= 0 && node.args.length !== expected) {
        throw new FormulaError(`${name}() takes ${expected} argument(s), got ${node.args.length}`);
      }
      return build(node.args.map(visit));
    }
    throw new FormulaError(`${node.type} (${node.toString()}) is not allowed in a kernel formula`);
  };

  const js = visit(root);
  if (!usesR) throw new FormulaError('it does not depend on the distance r');
  return { js, parameters: [...parameters].sort() };
}
