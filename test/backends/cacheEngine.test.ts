import { JsBackend } from '../../src/backends/js/index.js';
import { portableCacheEngine } from '../../src/backends/cacheEngine.js';
import { createWasmBackend } from '../../src/backends/wasm/index.js';
import { describeCacheEngine } from './cacheConformance.js';

describeCacheEngine('portable (over js)', () => new JsBackend(), (backend, precision) => portableCacheEngine(backend, precision));
describeCacheEngine('wasm', () => createWasmBackend(), (backend, precision) => backend.cacheEngine!(precision));
// Chunks of 4 KiB: products in many steps, through both alternating scratch regions.
describeCacheEngine('wasm, small chunks', () => createWasmBackend({ cacheChunkBytes: 4096 }), (backend, precision) => backend.cacheEngine!(precision));
describeCacheEngine('wasm, plain SIMD128, one thread', () => createWasmBackend({ variant: 'simd', threads: 1 }), (backend, precision) => backend.cacheEngine!(precision));
