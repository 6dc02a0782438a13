/**
 * Turns a custom kernel's JavaScript expression of `r2` (squared distance) and/or `r` (distance)
 * into a scalar function and an in-place loop over a Float32Array, with `new Function`. One
 * generated loop per kernel keeps the hot call site monomorphic, so V8 inlines the expression
 * instead of calling a closure per element.
 *
 * The expression text is produced by kmfit itself (the translator of parsed mathjs formulas in
 * custom.ts), never taken verbatim from user input. Built-in kernels do not come here: theirs are
 * written out in builtin.ts, so that they run where code generation is forbidden (a page whose
 * Content Security Policy has no 'unsafe-eval'). Tests compile built-ins' expressions here to check
 * them against those.
 */
import { KmfitError } from '../src/errors.js';
import { BUILTIN_KERNEL_NAMES } from './builtin.js';

export interface CompiledExpression {
  value(r2: number): number;
  transform(buf: Float32Array, start: number, end: number): void;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function compileExpression(
  expression: string,
  constants: Readonly<Record<string, number>>,
): CompiledExpression {
  const names = Object.keys(constants);
  for (const name of names) {
    if (!IDENTIFIER.test(name) || name === 'r' || name === 'r2') {
      throw new Error(`kernel constant name ${JSON.stringify(name)} is not usable`);
    }
  }
  const values = names.map((name) => constants[name]);
  // r² below 0 comes from rounding in ‖x‖² + ‖z‖² − 2x·z: clamp before any sqrt.
  const needsR = /\br\b/.test(expression);
  const prelude = `const r2 = raw > 0 ? raw : 0;${needsR ? ' const r = Math.sqrt(r2);' : ''}`;
  const source = `"use strict";
    return {
      value(raw) { ${prelude} return ${expression}; },
      transform(buf, start, end) {
        for (let i = start; i < end; i++) { const raw = buf[i]; ${prelude} buf[i] = ${expression}; }
      },
    };`;
  return generate(names, source)(...values);
}

/**
 * `new Function(...names, source)`.
 * @throws KmfitError UNSUPPORTED_HERE where code generation from strings is forbidden.
 */
function generate(names: string[], source: string): (...args: number[]) => CompiledExpression {
  try {
    return new Function(...names, source) as (...args: number[]) => CompiledExpression;
  } catch (error) {
    // V8 throws an EvalError both under a page's CSP and under node --disallow-code-generation-from-strings.
    if (!(error instanceof EvalError)) throw error;
    throw new KmfitError(
      'UNSUPPORTED_HERE',
      "A custom formula kernel is compiled to JavaScript, which is forbidden here (a page's Content Security Policy " +
        "without 'unsafe-eval' in script-src, or Node's --disallow-code-generation-from-strings): allow 'unsafe-eval', " +
        `or use a built-in kernel (${BUILTIN_KERNEL_NAMES.join(', ')}), which compile no code.`,
      { cause: error },
    );
  }
}
