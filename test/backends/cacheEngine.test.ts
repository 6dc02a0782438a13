import { describe, expect, it } from 'vitest';
import { portableCacheEngine } from '../../src/backends/cacheEngine.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { webAssembly } from '../../src/backends/wasm/engine.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { compileVariant } from '../../src/backends/wasm/modules.js';
import { CACHE_WIDENED_BYTES, PRECISION_IDS } from '../../src/backends/wasm/protocol.js';
import { describeCacheEngine } from './cacheConformance.js';

describeCacheEngine('portable (over js)', () => new JsBackend(), (backend, precision) => portableCacheEngine(backend, precision));
describeCacheEngine('wasm', () => createWasmBackend(), (backend, precision) => backend.cacheEngine!(precision));
// Chunks of 4 KiB: products in many steps, through both alternating scratch regions.
describeCacheEngine('wasm, small chunks', () => createWasmBackend({ cacheChunkBytes: 4096 }), (backend, precision) => backend.cacheEngine!(precision));
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
});
