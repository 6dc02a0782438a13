/**
 * Whether onnxruntime's integer GEMM sums exactly on this CPU, which the byte form
 * (kernels/onnx/bytes.ts) needs. MLAS runs MatMulInteger (uint8 × int8) with dot-product
 * instructions that add into int32 where the CPU has them (x86 AVX-512 VNNI or AVX-VNNI, ARM's
 * dot product), and is exact there. On x86 CPUs with AVX2 alone its kernel adds each pair of
 * products in saturating int16 (vpmaddubsw): 255·127 + 255·127 = 64 770 would be clipped to 32 767,
 * a wrong distance and no error. The probe multiplies exactly those pairs, with the int8 side as an
 * initializer (pre-packed, as the fused graphs hold centers) and as an input (as kernel blocks take
 * columns), and compares with the exact sums; the byte form is used only where both are exact.
 */
import { OnnxGraph } from '../../../kernels/onnx/graph.js';
import { INT32, INT8, UINT8 } from '../../../kernels/onnx/schema.js';
import type { OnnxRuntime, OrtSessionOptions } from './runtime.js';

/** The probe's shape: rows, columns and d as large as the byte form's runs, so that MLAS takes its main kernels. */
const ROWS = 64;
const COLUMNS = 64;
const DEPTH = 784;

/** Column j of the int8 side: every value 127, −128, or (every third column) alternating, for both signs' worst pairs. */
function probeValue(j: number, c: number): number {
  if (j % 3 === 2) return c % 2 === 0 ? 127 : -128;
  return j % 3 === 0 ? 127 : -128;
}

async function probe(runtime: OnnxRuntime, options: OrtSessionOptions): Promise<boolean> {
  const held = new Int8Array(DEPTH * COLUMNS); // d × n, for the initializer
  const given = new Int8Array(COLUMNS * DEPTH); // n × d, transposed in the graph
  for (let j = 0; j < COLUMNS; j++) {
    for (let c = 0; c < DEPTH; c++) held[c * COLUMNS + j] = given[j * DEPTH + c] = probeValue(j, c);
  }
  const graph = new OnnxGraph('kmfit_integer_gemm_probe');
  const x = graph.input('x', [ROWS, DEPTH], UINT8);
  const transposed = graph.node('Transpose', [graph.input('y', [COLUMNS, DEPTH], INT8)], { perm: { ints: [1, 0] } });
  graph.output(graph.node('MatMulInteger', [x, graph.initializer([DEPTH, COLUMNS], held, 'z')]), 'held', [ROWS, COLUMNS], INT32);
  graph.output(graph.node('MatMulInteger', [x, transposed]), 'given', [ROWS, COLUMNS], INT32);
  const session = await runtime.createSession(await graph.encode(), options);
  try {
    // Rows of 255 (the worst case with every column) and rows of 255, 0, 255, … (odd positions idle).
    const rows = new Uint8Array(ROWS * DEPTH);
    for (let i = 0; i < ROWS; i++) for (let c = 0; c < DEPTH; c++) rows[i * DEPTH + c] = i % 2 === 0 || c % 2 === 0 ? 255 : 0;
    const result = await session.run({ x: runtime.integerTensor(rows, [ROWS, DEPTH]), y: runtime.integerTensor(given, [COLUMNS, DEPTH]) });
    for (const name of ['held', 'given']) {
      const data = result[name]?.data;
      if (!(data instanceof Int32Array)) return false;
      for (let i = 0; i < ROWS; i++) {
        for (let j = 0; j < COLUMNS; j++) {
          let exact = 0;
          for (let c = 0; c < DEPTH; c++) exact += rows[i * DEPTH + c] * probeValue(j, c);
          if (data[i * COLUMNS + j] !== exact) return false;
        }
      }
    }
    return true;
  } finally {
    await session.release();
  }
}

let probed: Promise<boolean> | undefined;

/** Whether the byte form's integer GEMM is exact here: probed once per process (the CPU does not change). */
export function integerGemmIsExact(runtime: OnnxRuntime, options: OrtSessionOptions): Promise<boolean> {
  probed ??= probe(runtime, options).catch(() => false);
  return probed;
}
