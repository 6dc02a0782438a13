/**
 * Turns a kernel's JavaScript expression of `r2` (squared distance) and/or `r` (distance) into a
 * scalar function and an in-place loop over a Float32Array. One generated loop per kernel keeps the
 * hot call site monomorphic, so V8 inlines the expression instead of calling a closure per element.
 *
 * The expression text is produced by kmfit itself (built-in records, or the translator of parsed
 * mathjs formulas in custom.ts), never taken verbatim from user input.
 */
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
  const factory = new Function(...names, source) as (...args: number[]) => CompiledExpression;
  return factory(...values);
}
