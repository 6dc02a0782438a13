/**
 * The `gpujs` backend's device code: gpu.js kernel functions, written as source text so that the
 * kernel's formula (`Kernel.expression`, a JS expression of r2 and r) and the sizes are inlined
 * before gpu.js parses them and translates them to its target (plain JS, WebAssembly, WGSL or
 * GLSL). gpu.js computes one output cell per thread:
 *
 * - `distanceTileSource`: tile[i][x] = k(‖X_i − Z_j‖²) for j = min(j0 + x, n − 1), with Z resident
 *   as a kernel constant (uploaded once per center set). The clamp on j lets a tile keep a fixed
 *   width past the last center; those columns are never summed.
 *
 *   r² is summed from differences, Σ (x_k − z_k)², not from ‖x‖² + ‖z‖² − 2x·z: gpu.js's device
 *   modes compute in float32, where the norm form loses r² ≲ 1e-7·‖x‖² to cancellation and
 *   kernels of r = √r² (laplacian, matérn, r^γ) magnify that near r = 0 past the 1e-4 this backend
 *   must meet. The difference form is exact to float32 rounding for every r and costs one
 *   subtraction per term; gpu.js kernels are bound by their element loads, not by arithmetic.
 * - `blockSource`: the same with Y as an argument, for the materialized block k(X, Y).
 * - `productSource`: out[i][c] = Σ_x tile[i][x] · α[j0 + x][c], the product with the weights (a
 *   zero-padded slice of α per tile), fed the tile as a gpu.js pipeline value (device-resident
 *   where the mode has a device).
 */
import type { KernelExpression } from '../kernel.js';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Prefix of the kernel-formula constants among gpu.js constants, clear of the centers' Z. */
const CONSTANT_PREFIX = 'kc_';

export interface TransformSource {
  /** Statements that define r2 (and r when used) from `squared`, then return the expression. */
  readonly body: (squared: string) => string;
  /** gpu.js constants the expression reads (this.constants.kc_<name>). */
  readonly constants: Record<string, number>;
}

/**
 * The kernel formula as gpu.js statements: its named constants become `this.constants.kc_<name>`
 * (gpu.js passes them as floats; literals inlined as text could be typed as integers on GPU
 * targets). Property names after a dot (Math.exp, Math.PI) are left alone.
 */
export function transformSource(expression: KernelExpression): TransformSource {
  const constants: Record<string, number> = {};
  for (const [name, value] of Object.entries(expression.constants)) {
    if (!IDENTIFIER.test(name) || name === 'r' || name === 'r2') {
      throw new Error(`kernel constant name ${JSON.stringify(name)} is not usable`);
    }
    if (!Number.isFinite(value)) throw new Error(`kernel constant ${name} = ${value} is not finite`);
    constants[CONSTANT_PREFIX + name] = value;
  }
  const js = expression.js.replace(/(?<![\w$.])[A-Za-z_$][\w$]*/g, (name) =>
    Object.hasOwn(expression.constants, name) ? `this.constants.${CONSTANT_PREFIX}${name}` : name,
  );
  const needsR = /(?<![\w$.])r(?![\w$])/.test(expression.js);
  return {
    constants,
    body: (squared) =>
      `const r2 = ${squared};\n` + (needsR ? '  const r = Math.sqrt(r2);\n' : '') + `  return ${js};`,
  };
}

function checkSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${value}`);
}

/**
 * Arguments (X, j0): X is rows × d (as an array of rows), j0 the first center of the tile.
 * Constants: Z (n × d, an array of rows) and the formula's. Output [width, rows].
 */
export function distanceTileSource(transform: TransformSource, dim: number, count: number): string {
  checkSize('dim', dim);
  checkSize('count', count);
  return `function (X, j0) {
  const i = this.thread.y;
  const j = Math.min(j0 + this.thread.x, ${count - 1});
  let sum = 0;
  for (let k = 0; k < ${dim}; k++) {
    const t = X[i][k] - this.constants.Z[j][k];
    sum += t * t;
  }
  ${transform.body('sum')}
}`;
}

/** Arguments (X, Y): the materialized block k(X, Y), output [rows(Y), rows(X)]. */
export function blockSource(transform: TransformSource, dim: number): string {
  checkSize('dim', dim);
  return `function (X, Y) {
  const i = this.thread.y;
  const j = this.thread.x;
  let sum = 0;
  for (let k = 0; k < ${dim}; k++) {
    const t = X[i][k] - Y[j][k];
    sum += t * t;
  }
  ${transform.body('sum')}
}`;
}

/**
 * Arguments (tile, alpha): tile is the distance kernel's result (rows × width), alpha =
 * input(width × outputs), the weights of the tile's centers, zero past the last one. Output
 * [outputs, rows].
 */
export function productSource(width: number): string {
  checkSize('width', width);
  return `function (tile, alpha) {
  const i = this.thread.y;
  const c = this.thread.x;
  let sum = 0;
  for (let x = 0; x < ${width}; x++) {
    sum += tile[i][x] * alpha[x][c];
  }
  return sum;
}`;
}
