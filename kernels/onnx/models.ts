/**
 * The ONNX graphs of the onnx backend, one per kernel and shape family, and the data layouts they
 * read.
 *
 * Squared distances come from one GEMM over augmented rows (d > DIRECT_MAX_DIM):
 *   x̃ = [x, ‖x‖², 1] and z̃ = [−2z, 1, ‖z‖²], so x̃·z̃ = ‖x‖² + ‖z‖² − 2x·z = ‖x − z‖²,
 * which folds both norms into the GEMM instead of two more passes over the m×n block (and, for
 * kernels of r²·c, the constant c too: kernels/onnx/expression.ts). Rounding can make it slightly
 * negative: it is clamped at 0 where the kernel's formula needs r² ≥ 0. In float32 that form loses
 * the distance of close points to cancellation (‖x‖² ≈ ‖z‖² ≈ x·z). For small d the GEMM is cheap,
 * so there it runs in float64 (the 'gemm64' form: rows, norms and centers in float64, the result
 * cast to float32 before the kernel), where the cancellation costs nothing a float32 r² can show.
 * (It replaced Σ(x − z)² by Sub and ReduceSumSquare, whose m×n×d intermediate made a block 5–15×
 * slower than wasm at d = 16: 0.55 s against 0.11 s for m = 2 000, n = 16 000, l = 26.)
 *
 * The fused graph holds a range of the centers as initializers, in blocks (blockCenters): each
 * block's GEMM → kernel transform → product with its rows of α, over a tile of rows × block, and
 * the blocks' m×l results are summed. onnxruntime pre-packs each constant block for its GEMM once,
 * when the session is created. α comes in as one input per block (views of the host's weights, so
 * nothing is sliced or copied per call); the rows x as the input `x`.
 */
import type { KernelExpression } from '../kernel.js';
import type { Matrix } from '../../src/matrix.js';
import { BYTE_MAX_DIM, byteBlock, byteColumnsOf, byteDivisorOfRows, type ByteColumns } from './bytes.js';
import { emitKernel, onnxKernel, type OnnxKernel } from './expression.js';
import { OnnxGraph } from './graph.js';
import { DOUBLE, FLOAT, FLOAT16, INT32, INT8, UINT8 } from './schema.js';

/** The precisions of the onnx backend's kernel cache, by TensorProto.DataType (onnxruntime-node's binding has no bfloat16). */
export type OnnxCachePrecision = 'float16' | 'float32';
const PRECISION_TYPES: Readonly<Record<OnnxCachePrecision, number>> = { float16: FLOAT16, float32: FLOAT };

/** Up to this d, the distance GEMM runs in float64 (exact for close points); above, in float32. */
export const FLOAT64_MAX_DIM = 16;

/** The augmented GEMM in float32 ('gemm') or in float64 ('gemm64'). */
export type DistanceForm = 'gemm' | 'gemm64';

export function distanceForm(d: number): DistanceForm {
  return d <= FLOAT64_MAX_DIM ? 'gemm64' : 'gemm';
}

/**
 * The divisor of the byte form (kernels/onnx/bytes.ts) for centers Z, where their values are bytes
 * and d is past the float64 form's (whose small GEMM costs little) and within BYTE_MAX_DIM; else
 * undefined (the float forms).
 */
export function byteFormDivisor(Z: Matrix): number | undefined {
  return suitsByteForm(Z.cols) ? byteDivisorOfRows(Z) : undefined;
}

/** Whether d is past the float64 form's and within BYTE_MAX_DIM: where the byte form is used. */
function suitsByteForm(d: number): boolean {
  return d > FLOAT64_MAX_DIM && d <= BYTE_MAX_DIM;
}

/** Bytes of one value of the form's rows, centers and distances before the cast. */
export function valueBytes(form: DistanceForm): number {
  return form === 'gemm64' ? 8 : 4;
}

/** The rows and columns inputs of the form: float32 or float64 values. */
export type FormValues = Float32Array | Float64Array;

function formArray(form: DistanceForm, length: number): FormValues {
  return form === 'gemm64' ? new Float64Array(length) : new Float32Array(length);
}

/**
 * Bytes above which glibc's malloc always maps memory of its own for an allocation and gives it
 * back on free (32 MiB, its largest dynamic mmap threshold), with a margin. Smaller blocks come
 * from its heap, whose freed space stays resident: onnxruntime's transient copies of each
 * initializer (parsed, then converted, then pre-packed) made ≈1.3× the centers' size stay behind
 * with 6 MB blocks, and ≈0.1× with blocks past this size.
 */
const OWN_MAPPING_BYTES = 33 * 2 ** 20;
/** The fewest centers per GEMM block: below, the GEMMs are too short to run at full speed. */
const MIN_GEMM_BLOCK = 2048;

/** Centers per block of the fused graph, for d features. */
export function blockCenters(form: DistanceForm, d: number): number {
  const columns = Math.ceil(OWN_MAPPING_BYTES / ((d + 2) * valueBytes(form)) / 64) * 64;
  return Math.max(MIN_GEMM_BLOCK, columns);
}

/** The shape of the rows input: m × (d+2). */
export function rowsShape<T extends number | string>(rows: T, d: number): (T | number)[] {
  return [rows, d + 2];
}

/** The shape of kernelBlock's columns input: n × (d+2). */
export function columnsShape<T extends number | string>(columns: T, d: number): (T | number)[] {
  return [columns, d + 2];
}

/** ‖row‖², summed in float64 (rounded to float32 when stored in the float32 form's inputs). */
function squaredNorm(data: Float32Array, start: number, d: number): number {
  let sum = 0;
  for (let k = 0; k < d; k++) sum += data[start + k] * data[start + k];
  return sum;
}

/** The rows input for `form`: [x, ‖x‖², 1] per row (m × (d+2)), in the form's precision. */
export function rowsInput(form: DistanceForm, X: Matrix): FormValues {
  const { rows: m, cols: d } = X;
  const out = formArray(form, m * (d + 2));
  for (let i = 0; i < m; i++) {
    out.set(X.data.subarray(i * d, (i + 1) * d), i * (d + 2));
    out[i * (d + 2) + d] = squaredNorm(X.data, i * d, d);
    out[i * (d + 2) + d + 1] = 1;
  }
  return out;
}

/** The other side of the distance for kernelBlock: [−2y, 1, ‖y‖²] per row (n × (d+2)), in the form's precision. */
export function columnsInput(form: DistanceForm, Y: Matrix): FormValues {
  const { rows: n, cols: d } = Y;
  const out = formArray(form, n * (d + 2));
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < d; k++) out[j * (d + 2) + k] = -2 * Y.data[j * d + k];
    out[j * (d + 2) + d] = 1;
    out[j * (d + 2) + d + 1] = squaredNorm(Y.data, j * d, d);
  }
  return out;
}

/**
 * Centers j0…j1 as one GEMM block, transposed and scaled: (d+2) × w, column j =
 * scale·[−2z_j; 1; ‖z_j‖²], so that x̃ times it is scale·r².
 */
function transposedBlock(form: DistanceForm, Z: Matrix, j0: number, j1: number, scale: number): FormValues {
  const d = Z.cols;
  const w = j1 - j0;
  const out = formArray(form, (d + 2) * w);
  for (let j = 0; j < w; j++) {
    const row = (j0 + j) * d;
    for (let k = 0; k < d; k++) out[k * w + j] = -2 * scale * Z.data[row + k];
    out[d * w + j] = scale;
    out[(d + 1) * w + j] = scale * squaredNorm(Z.data, row, d);
  }
  return out;
}

/**
 * s = scale·r² (float32) between the rows `x` and the centers `centers`, clamped to the sign of the
 * scale where the kernel needs it (kernels/onnx/expression.ts). Centers are [−2z, 1, ‖z‖²] rows
 * (w × (d+2); Gemm applies the scale), or their transpose with the scale applied (the layout of the
 * initializers, which MatMul pre-packs). In the gemm64 form the product is float64, cast to float32.
 */
function squaredDistances(graph: OnnxGraph, form: DistanceForm, x: string, centers: string, kernel: OnnxKernel, transposed = false): string {
  const gemm = transposed
    ? graph.node('MatMul', [x, centers])
    : graph.node('Gemm', [x, centers], { transB: { int: 1 }, alpha: { float: kernel.scale } });
  const product = form === 'gemm64' ? graph.node('Cast', [gemm], { to: { int: FLOAT } }) : gemm;
  if (!kernel.clamp) return product;
  return kernel.scale > 0 ? graph.node('Relu', [product]) : graph.node('Min', [product, graph.scalar(0)]);
}

/**
 * s = scale·r² (float32) between byte rows and byte centers (kernels/onnx/bytes.ts), given as
 * `centers` (d × w, k − 128) and their `norms` (w): the integer GEMM, then
 * D²·r² = terms + ‖z‖² − 2·product in int32 (exact, so never below 0), cast once and scaled by scale/D².
 */
function byteDistances(graph: OnnxGraph, rows: ByteRowsInputs, centers: string, norms: string, divisor: number, kernel: OnnxKernel): string {
  const product = graph.node('MatMulInteger', [rows.x, centers]);
  const doubled = graph.node('Mul', [product, rows.minusTwo]);
  const squared = graph.node('Add', [graph.node('Add', [doubled, norms]), rows.terms]);
  return graph.node('Mul', [graph.node('Cast', [squared], { to: { int: FLOAT } }), graph.scalar(kernel.scale / (divisor * divisor))]);
}

/** The byte form's row inputs of a graph: `x` (m × d bytes), `terms` (m × 1), and the int32 −2 they share. */
interface ByteRowsInputs {
  readonly x: string;
  readonly terms: string;
  readonly minusTwo: string;
}

function byteRowsInputs(graph: OnnxGraph, d: number): ByteRowsInputs {
  return { x: graph.input('x', ['m', d], UINT8), terms: graph.input('terms', ['m', 1], INT32), minusTwo: graph.initializer([], Int32Array.of(-2), 'k') };
}

/** The input names and shapes of a fused graph. */
export interface FusedModel {
  readonly bytes: Uint8Array;
  /** Center ranges [j0, j1) of the blocks, in order: input `alpha${b}` takes α's rows j0…j1. */
  readonly blocks: readonly (readonly [number, number])[];
  readonly form: DistanceForm;
  /**
   * Set for the byte form (kernels/onnx/bytes.ts), whose rows are the inputs `x` (bytes) and
   * `terms` (byteRows over this divisor) instead of rowsInput's `x`.
   */
  readonly divisor?: number;
}

/**
 * out (m × l) = Σ_b k(x, Z[block b]) · alpha_b over the centers start…end of Z, held as
 * initializers. Inputs: `x` (see rowsInput), `alpha0`, `alpha1`, … (w_b × l); output `out`.
 * With `divisor`, the byte form over that divisor (Z's values must be bytes over it).
 */
export async function fusedModel(expression: KernelExpression, Z: Matrix, start: number, end: number, outputs: number, divisor?: number): Promise<FusedModel> {
  const graph = new OnnxGraph('kmfit_fused');
  const { form, blocks, products } = weightedBlocks(graph, expression, Z, start, end, outputs, divisor);
  graph.output(products.length === 1 ? products[0] : graph.node('Sum', products), 'out', ['m', outputs]);
  return { bytes: await graph.encode(), blocks, form, ...(divisor !== undefined ? { divisor } : {}) };
}

/**
 * The step of a model on centers (CenterSet.predictAndPullBack) over all of Z, from one
 * evaluation of each block's kernel values K_b = k(x, Z[block b]):
 *   residual (m × l) = Σ_b K_b · alpha_b + offset,   pulled (n × l) = [K_bᵀ · (scale · residual)]_b.
 * Inputs: those of fusedModel, `offset` (m × l) and `scale` (1); outputs `residual`, `pulled`.
 * A graph of its own, because onnxruntime runs every node of a graph whatever the outputs asked
 * for: the pull-back in the fused graph would slow every predict. `divisor`: as fusedModel's.
 */
export async function stepModel(expression: KernelExpression, Z: Matrix, outputs: number, divisor?: number): Promise<FusedModel> {
  const graph = new OnnxGraph('kmfit_step');
  const { form, blocks, values, products } = weightedBlocks(graph, expression, Z, 0, Z.rows, outputs, divisor);
  const offset = graph.input('offset', ['m', outputs]);
  const residual = graph.node('Sum', [...products, offset]);
  const scaled = graph.node('Mul', [residual, graph.input('scale', [1])]);
  const pulled = values.map((k) => graph.node('Gemm', [k, scaled], { transA: { int: 1 } }));
  graph.output(residual, 'residual', ['m', outputs]);
  graph.output(pulled.length === 1 ? pulled[0] : graph.node('Concat', pulled, { axis: { int: 0 } }), 'pulled', [Z.rows, outputs]);
  return { bytes: await graph.encode(), blocks, form, ...(divisor !== undefined ? { divisor } : {}) };
}

/** byteDistances to the centers j0…j1 of Z, held as initializers (kernels/onnx/bytes.ts byteBlock). */
function byteCenterBlock(graph: OnnxGraph, rows: ByteRowsInputs, Z: Matrix, divisor: number, j0: number, j1: number, kernel: OnnxKernel): string {
  const w = j1 - j0;
  const block = byteBlock(Z, divisor, j0, j1);
  return byteDistances(graph, rows, graph.initializer([Z.cols, w], block.values, 'z'), graph.initializer([w], block.norms, 'n'), divisor, kernel);
}

/**
 * The rows input of a fused graph, and the blocks of the centers start…end of Z as initializers
 * (blockCenters per block): `each` gets a block's s = scale·r² against the rows, for `kernel`'s
 * scale, with its width and index. The rows are rowsInput's `x`, or with `divisor` the byte form's
 * `x` and `terms` (blocks as wide as the float form's, so that rows are run in the same chunks).
 */
function centerBlocks(graph: OnnxGraph, kernel: OnnxKernel, Z: Matrix, start: number, end: number, divisor: number | undefined, each: (squared: string, w: number, b: number) => void) {
  const d = Z.cols;
  const form = distanceForm(d);
  const byteRows = divisor === undefined ? undefined : byteRowsInputs(graph, d);
  const x = byteRows ? byteRows.x : graph.input('x', rowsShape('m', d), formType(form));
  const blocks: [number, number][] = [];
  const block = blockCenters(form, d);
  for (let j0 = start; j0 < end; j0 += block) {
    const j1 = Math.min(end, j0 + block);
    const w = j1 - j0;
    const squared = byteRows
      ? byteCenterBlock(graph, byteRows, Z, divisor!, j0, j1, kernel)
      : squaredDistances(graph, form, x, graph.initializer([d + 2, w], transposedBlock(form, Z, j0, j1, kernel.scale), 'z'), kernel, true);
    each(squared, w, blocks.length);
    blocks.push([j0, j1]);
  }
  return { form, blocks };
}

/** centerBlocks' blocks with, per block, its kernel values and their product with the input `alpha${b}`. */
function weightedBlocks(graph: OnnxGraph, expression: KernelExpression, Z: Matrix, start: number, end: number, outputs: number, divisor?: number) {
  const kernel = onnxKernel(expression);
  const values: string[] = [];
  const products: string[] = [];
  const { form, blocks } = centerBlocks(graph, kernel, Z, start, end, divisor, (squared, w, b) => {
    values.push(emitKernel(graph, squared, kernel));
    products.push(graph.node('MatMul', [values[b], graph.input(`alpha${b}`, [w, outputs])]));
  });
  return { form, blocks, values, products };
}

/**
 * The graphs of a center group (several kernels over the same centers, a bandwidth search's
 * candidates): each block's squared distances r² once, unscaled, then per kernel k its own
 * s = scale_k·r² (clamped where its formula needs it), its kernel values and their product with its
 * own weights. The one distance GEMM over the block — the m·n·d part — is shared;
 * each further kernel adds the elementwise transform and an m·n·l product.
 */
function groupTransforms(graph: OnnxGraph, squared: string, kernels: readonly OnnxKernel[], exact: boolean): string[] {
  // Clamping r² at 0 clamps every s = scale·r² to the sign of its scale: done once for all who need
  // it, and not at all for the byte form's exact distances.
  let clamped: string | undefined;
  return kernels.map((kernel) => {
    const r2 = kernel.clamp && !exact ? (clamped ??= graph.node('Relu', [squared])) : squared;
    const s = kernel.scale === 1 ? r2 : graph.node('Mul', [r2, graph.scalar(kernel.scale)]);
    return emitKernel(graph, s, kernel);
  });
}

/** The names of a group graph's weights: `alpha${k}_${b}` for kernel k's rows of block b. */
export function groupAlpha(k: number, b: number): string {
  return `alpha${k}_${b}`;
}

/**
 * out${k} (m × l) = Σ_b k_k(x, Z[block b]) · alpha${k}_${b} for every kernel k, over the centers
 * start…end of Z held as initializers (blocks as fusedModel's). Inputs: `x` (rowsInput) and the
 * weights (groupAlpha); outputs `out0`, `out1`, …. onnxruntime runs every node whatever outputs
 * are asked for: a kernel left out of a call still costs its transform. `divisor`: as fusedModel's.
 */
export async function fusedGroupModel(expressions: readonly KernelExpression[], Z: Matrix, start: number, end: number, outputs: number, divisor?: number): Promise<FusedModel> {
  const graph = new OnnxGraph('kmfit_fused_group');
  const kernels = expressions.map((expression) => onnxKernel(expression));
  const products: string[][] = kernels.map(() => []);
  const unit = { ...kernels[0], scale: 1, clamp: false };
  const { form, blocks } = centerBlocks(graph, unit, Z, start, end, divisor, (squared, w, b) => {
    groupTransforms(graph, squared, kernels, divisor !== undefined).forEach((values, k) => {
      products[k].push(graph.node('MatMul', [values, graph.input(groupAlpha(k, b), [w, outputs])]));
    });
  });
  products.forEach((terms, k) => graph.output(terms.length === 1 ? terms[0] : graph.node('Sum', terms), `out${k}`, ['m', outputs]));
  return { bytes: await graph.encode(), blocks, form, ...(divisor !== undefined ? { divisor } : {}) };
}

/**
 * The group graph with the centers an input (streamedModel's, for several kernels): inputs `x`,
 * `y` and `alpha${k}_0` (n × l) per kernel; outputs `out${k}`. With `divisor`, the byte form's
 * inputs (byteStreamedModel's) instead of `x` and `y`.
 */
export async function streamedGroupModel(expressions: readonly KernelExpression[], form: DistanceForm, d: number, divisor?: number): Promise<Uint8Array> {
  const graph = new OnnxGraph('kmfit_streamed_group');
  const kernels = expressions.map((expression) => onnxKernel(expression));
  const unit = { ...kernels[0], scale: 1, clamp: false };
  const squared =
    divisor === undefined
      ? squaredDistances(graph, form, graph.input('x', rowsShape('m', d), formType(form)), graph.input('y', columnsShape('n', d), formType(form)), unit)
      : byteColumnDistances(graph, d, divisor, unit);
  groupTransforms(graph, squared, kernels, divisor !== undefined).forEach((values, k) => {
    graph.output(graph.node('MatMul', [values, graph.input(groupAlpha(k, 0), ['n', 'l'])]), `out${k}`, ['m', 'l']);
  });
  return graph.encode();
}

/**
 * Columns per run where the centers are an input rather than initializers (kernel blocks and
 * streamed center sets), with rows chosen to keep the tile near the host's tile size.
 */
export const STREAMED_COLUMNS = 8192;

/** The TensorProto.DataType of the form's rows and columns inputs. */
export function formType(form: DistanceForm): number {
  return form === 'gemm64' ? DOUBLE : FLOAT;
}

/**
 * out (m × l) = k(x, y) · alpha0 with the centers an input: one graph for every small center set
 * of a kernel and feature count. Inputs: `x` (rowsInput), `y` (columnsInput), `alpha0` (n × l);
 * output `out`.
 */
export async function streamedModel(expression: KernelExpression, form: DistanceForm, d: number): Promise<Uint8Array> {
  const kernel = onnxKernel(expression);
  const graph = new OnnxGraph('kmfit_streamed');
  const x = graph.input('x', rowsShape('m', d), formType(form));
  const y = graph.input('y', columnsShape('n', d), formType(form));
  const alpha = graph.input('alpha0', ['n', 'l']);
  const k = emitKernel(graph, squaredDistances(graph, form, x, y, kernel), kernel);
  graph.output(graph.node('MatMul', [k, alpha]), 'out', ['m', 'l']);
  return graph.encode();
}

/**
 * k (m × n) = k(x, y), materialized, for `form`, in `precision` (rounded to nearest by a Cast).
 * Inputs: `x` (rowsInput) and `y` (columnsInput); output `k`.
 */
export async function blockModel(expression: KernelExpression, form: DistanceForm, d: number, precision: OnnxCachePrecision = 'float32'): Promise<Uint8Array> {
  const kernel = onnxKernel(expression);
  const graph = new OnnxGraph('kmfit_block');
  const x = graph.input('x', rowsShape('m', d), formType(form));
  const y = graph.input('y', columnsShape('n', d), formType(form));
  const k = emitKernel(graph, squaredDistances(graph, form, x, y, kernel), kernel);
  const type = PRECISION_TYPES[precision];
  graph.output(type === FLOAT ? k : graph.node('Cast', [k], { to: { int: type } }), 'k', ['m', 'n'], type);
  return graph.encode();
}

/**
 * blockModel in the byte form over `divisor` (kernels/onnx/bytes.ts): inputs `x` and `terms`
 * (byteRows), `y` (n × d, byteColumns' values, transposed inside the graph) and `norms` (n);
 * output `k`.
 */
export async function byteBlockModel(expression: KernelExpression, d: number, divisor: number, precision: OnnxCachePrecision = 'float32'): Promise<Uint8Array> {
  const kernel = onnxKernel(expression);
  const graph = new OnnxGraph('kmfit_byte_block');
  const k = emitKernel(graph, byteColumnDistances(graph, d, divisor, kernel), kernel);
  const type = PRECISION_TYPES[precision];
  graph.output(type === FLOAT ? k : graph.node('Cast', [k], { to: { int: type } }), 'k', ['m', 'n'], type);
  return graph.encode();
}

/**
 * streamedModel in the byte form over `divisor`: inputs `x` and `terms` (byteRows), `y` and `norms`
 * (byteColumns, as byteBlockModel's) and `alpha0` (n × l); output `out`.
 */
export async function byteStreamedModel(expression: KernelExpression, d: number, divisor: number): Promise<Uint8Array> {
  const kernel = onnxKernel(expression);
  const graph = new OnnxGraph('kmfit_byte_streamed');
  const k = emitKernel(graph, byteColumnDistances(graph, d, divisor, kernel), kernel);
  graph.output(graph.node('MatMul', [k, graph.input('alpha0', ['n', 'l'])]), 'out', ['m', 'l']);
  return graph.encode();
}

/** byteDistances between the inputs `x`, `terms` (the rows) and `y`, `norms` (the centers, n × d, transposed here). */
function byteColumnDistances(graph: OnnxGraph, d: number, divisor: number, kernel: OnnxKernel): string {
  const rows = byteRowsInputs(graph, d);
  const centers = graph.node('Transpose', [graph.input('y', ['n', d], INT8)], { perm: { ints: [1, 0] } });
  return byteDistances(graph, rows, centers, graph.input('norms', ['n'], INT32), divisor, kernel);
}

/**
 * The byte form's columns input for Y (kernels/onnx/bytes.ts byteColumnsOf) where Y's values are
 * bytes and d suits the form (as byteFormDivisor's), else undefined.
 */
export function byteFormColumns(Y: Matrix): ByteColumns | undefined {
  return suitsByteForm(Y.cols) ? byteColumnsOf(Y) : undefined;
}

/**
 * out (m × l) = k · a for cached kernel values k (m × n, in `precision`) and weights a (n × l,
 * float32): k is widened to float32 and the product summed in float32 (MLAS's SGEMM).
 */
export async function cachedProductModel(precision: OnnxCachePrecision): Promise<Uint8Array> {
  const graph = new OnnxGraph('kmfit_cached_product');
  const type = PRECISION_TYPES[precision];
  const k = graph.input('k', ['m', 'n'], type);
  const widened = type === FLOAT ? k : graph.node('Cast', [k], { to: { int: FLOAT } });
  graph.output(graph.node('MatMul', [widened, graph.input('a', ['n', 'l'])]), 'out', ['m', 'l']);
  return graph.encode();
}

/**
 * out (n × l) = kᵀ · a for float32 rows k (m × n) and a (m × l): a Gemm with transA, so that
 * the rows are read as they were gathered (a kernel cache's subsample panel, K[B, S]ᵀ·G).
 */
export async function transposedProductModel(): Promise<Uint8Array> {
  const graph = new OnnxGraph('kmfit_transposed_product');
  const k = graph.input('k', ['m', 'n']);
  graph.output(graph.node('Gemm', [k, graph.input('a', ['m', 'l'])], { transA: { int: 1 } }), 'out', ['n', 'l']);
  return graph.encode();
}
