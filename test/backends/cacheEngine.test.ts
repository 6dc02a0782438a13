import { describe, expect, it } from 'vitest';
import { portableCacheEngine } from '../../src/backends/cacheEngine.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { webAssembly } from '../../src/backends/wasm/engine.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { bindExports, compileVariant } from '../../src/backends/wasm/modules.js';
import { roundToPrecision } from '../../src/backends/halfPrecision.js';
import { lcg } from '../helpers/data.js';
import { CACHE_WIDENED_BYTES, PRECISION_IDS } from '../../src/backends/wasm/protocol.js';
import { createOnnxBackend, onnxSupport } from '../../src/backends/onnx/index.js';
import { describeCacheEngine } from './cacheConformance.js';

// onnx: where onnxruntime-node is installed, always in CI (a missing one fails there).
const onnx = (await onnxSupport()).available || process.env.CI === 'true';

describeCacheEngine('portable (over js)', () => new JsBackend(), (backend, precision) => portableCacheEngine(backend, precision));
describeCacheEngine('wasm', () => createWasmBackend(), (backend, precision) => backend.cacheEngine!(precision));
// Chunks of 4 KiB: products and blocks in many steps, through both alternating scratch regions.
describeCacheEngine('wasm, small chunks', () => createWasmBackend({ cacheChunkBytes: 4096, blockChunkBytes: 4096 }), (backend, precision) => backend.cacheEngine!(precision));
if (onnx) describeCacheEngine('onnx (float16 and float32 in the graph, bfloat16 portable)', () => createOnnxBackend(), (backend, precision) => backend.cacheEngine!(precision));
describeCacheEngine('wasm, plain SIMD128, one thread', () => createWasmBackend({ variant: 'simd', threads: 1 }), (backend, precision) => backend.cacheEngine!(precision));

describe('wasm cache engine', () => {
  it("uses the device code's precision ids and widened-buffer size", async () => {
    const wasm = webAssembly()!;
    const memory = new wasm.Memory({ initial: 2, maximum: 65536, shared: true });
    const { exports } = await wasm.instantiate(await compileVariant('simd'), { env: { memory } });
    const value = (name: string) => Reflect.get(Object(exports[name]), 'value');
    expect([value('CACHE_FLOAT32'), value('CACHE_FLOAT16'), value('CACHE_BFLOAT16')]).toEqual([
      PRECISION_IDS.float32, PRECISION_IDS.float16, PRECISION_IDS.bfloat16,
    ]);
    expect(4 * value('CACHE_COL_BLOCK') * 4).toBe(CACHE_WIDENED_BYTES);
  });

  for (const variant of ['relaxed', 'simd'] as const) {
    it(`rounds blocks in place as halfPrecision.ts does, on awkward float32 values (${variant} build)`, async () => {
      const wasm = webAssembly()!;
      const memory = new wasm.Memory({ initial: 2, maximum: 65536, shared: true });
      const exports = bindExports((await wasm.instantiate(await compileVariant(variant), { env: { memory } })).exports);
      // 37 rows of 29 values in rows of 32 (ld): random bit patterns of every magnitude, then float16's
      // ties, subnormals, overflow and specials.
      const rows = 37;
      const n = 29;
      const ld = 32;
      const next = lcg(5);
      const bits = Uint32Array.from({ length: rows * ld }, (_, i) => (i % 2 ? Math.floor(next() * 2 ** 32) : ((Math.floor(next() * 2 ** 32) & 0x87ffffff) | 0x30000000) >>> 0));
      const values = new Float32Array(bits.buffer);
      values.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, 3e38, Infinity, -Infinity, NaN, -NaN, 0, -0, 2 ** -25, 3 * 2 ** -25, 6.1e-5, -6.1e-5, 2 ** -14 * (1 - 2 ** -11), 1e-45, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
      const packed = new Float32Array(rows * n);
      for (let i = 0; i < rows; i++) packed.set(values.subarray(i * ld, i * ld + n), i * n);
      const at = 65536;
      for (const precision of ['float16', 'bfloat16'] as const) {
        new Float32Array(memory.buffer, at, rows * ld).set(values);
        exports.roundRows(at, rows, n, ld, at, precision === 'float16' ? 1 : 2);
        expect(Array.from(new Uint16Array(memory.buffer, at, rows * n))).toEqual(Array.from(roundToPrecision(packed, precision)));
      }
    });
  }
});
