/**
 * Loading the wasm backend's compiled kernels: the two builds embedded by kernels/wasm/build.mjs,
 * which one this engine accepts (WebAssembly.validate, as tfjs does), and the typed exports.
 *
 * Relaxed SIMD is on by default from Node 22 and in current browsers; Node 20 accepts it only with
 * V8's --experimental-wasm-relaxed-simd. Setting that flag at run time, before compiling, works in
 * Node 20 and is process-wide, so it is done once, only in Node, and only if validation fails
 * without it.
 */
import { BLOCKS_RELAXED_WASM, BLOCKS_SIMD_WASM } from '../../../kernels/wasm/generated/modules.js';
import { webAssembly, type WasmModule } from './engine.js';
import { MAX_PAGES } from './heap.js';
import { nodeBuiltin } from '../system.js';

export type WasmVariant = 'relaxed' | 'simd';

/** The device code's exports (kernels/wasm/assembly/blocks.ts); pointers are byte offsets. */
export interface BlockExports {
  packRowPanels(src: number, rows: number, d: number, dst: number, norms: number): void;
  packCenterPanels(src: number, rows: number, d: number, dst: number, norms: number): void;
  squaredDistances(
    xp: number, xn: number, rowPanels: number, zp: number, zn: number, centerPanels: number,
    d: number, out: number, ldt: number, direct: number,
  ): void;
  transform(ptr: number, count: number, kind: number, c0: number, c1: number): void;
  timesWeights(
    tile: number, ldt: number, rowPanels: number, cols: number, alpha: number, l: number,
    outT: number, ldo: number,
  ): void;
  /** timesWeights for rows j at a table of addresses: row j's values start at table[j] + offset (bytes). */
  timesWeightsOfRows(
    rows: number, offset: number, rowPanels: number, cols: number, alpha: number, l: number,
    outT: number, ldo: number,
  ): void;
  /** rowTable: 0 for rows at k, k + cols values, …; else a table of the rows' addresses. */
  cachedProduct(
    k: number, rowTable: number, precision: number, r0: number, r1: number, cols: number, at: number, lda: number, l: number,
    out: number, widened: number, sums: number,
  ): void;
  roundRows(src: number, rows: number, n: number, ld: number, dst: number, precision: number): void;
  expInPlace(ptr: number, count: number): void;
  logInPlace(ptr: number, count: number): void;
}

const EXPORT_NAMES: readonly (keyof BlockExports)[] = [
  'packRowPanels', 'packCenterPanels', 'squaredDistances', 'transform', 'timesWeights', 'timesWeightsOfRows', 'cachedProduct', 'roundRows',
  'expInPlace', 'logInPlace',
];

/** The bytes of a base64-embedded build. */
export function decodeBase64(text: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'));
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let relaxedBytes: Uint8Array | undefined;
let simdBytes: Uint8Array | undefined;
const compiled = new Map<WasmVariant, Promise<WasmModule>>();
let relaxedFlagTried = false;

function bytesOf(variant: WasmVariant): Uint8Array {
  if (variant === 'relaxed') return (relaxedBytes ??= decodeBase64(BLOCKS_RELAXED_WASM));
  return (simdBytes ??= decodeBase64(BLOCKS_SIMD_WASM));
}

export interface WasmSupport {
  readonly available: boolean;
  readonly reason?: string;
  /** The best build this engine runs: 'relaxed' or 'simd'. */
  readonly variant?: WasmVariant;
}

/** Whether a build validates here; for 'relaxed' in Node 20, after enabling V8's flag once. */
export function variantSupported(variant: WasmVariant): boolean {
  return engineAccepts(bytesOf(variant), variant);
}

/**
 * Whether this engine accepts the given build of any of the modules in kernels/wasm/ (the same
 * flag logic serves the kernel blocks and the eigensolver's dense loops).
 */
export function engineAccepts(bytes: Uint8Array, variant: WasmVariant): boolean {
  const wasm = webAssembly();
  if (!wasm) return false;
  if (wasm.validate(bytes)) return true;
  if (variant !== 'relaxed' || relaxedFlagTried) return false;
  relaxedFlagTried = true;
  const v8 = nodeBuiltin<typeof import('node:v8')>('node:v8');
  if (!v8) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return wasm.validate(bytes);
}

/** What the wasm backend can do in this engine, without starting it. */
export function probeSupport(): WasmSupport {
  const wasm = webAssembly();
  if (!wasm) return { available: false, reason: 'this JavaScript engine has no WebAssembly' };
  if (typeof SharedArrayBuffer === 'undefined') {
    return { available: false, reason: 'SharedArrayBuffer is unavailable (a browser page needs cross-origin isolation)' };
  }
  try {
    new wasm.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch (error) {
    return { available: false, reason: `a shared WebAssembly memory cannot be created (${(error as Error).message})` };
  }
  const refusal = compilationRefusal(wasm);
  if (refusal) return { available: false, reason: refusal };
  if (variantSupported('relaxed')) return { available: true, variant: 'relaxed' };
  if (variantSupported('simd')) return { available: true, variant: 'simd' };
  return { available: false, reason: 'this engine does not support WebAssembly SIMD128 with threads' };
}

/** The smallest valid module: the magic number and the version. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/**
 * Why this engine refuses to compile WebAssembly at all, or undefined. A page whose Content
 * Security Policy has neither 'wasm-unsafe-eval' nor 'unsafe-eval' validates modules but refuses
 * to compile them: found here, 'auto' trains on js instead of failing as the kernels compile.
 */
function compilationRefusal(wasm: NonNullable<ReturnType<typeof webAssembly>>): string | undefined {
  try {
    new wasm.Module(EMPTY_MODULE);
    return undefined;
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return `WebAssembly may not be compiled here (${why}); a page allows it with 'wasm-unsafe-eval' in its Content Security Policy's script-src`;
  }
}

/** The compiled module of a build (enabling relaxed SIMD in Node 20 if needed), compiled once per process. */
export function compileVariant(variant: WasmVariant): Promise<WasmModule> {
  const known = compiled.get(variant);
  if (known) return known;
  const wasm = webAssembly();
  if (!wasm || !variantSupported(variant)) {
    return Promise.reject(new Error(`this JavaScript engine does not run the wasm '${variant}' build`));
  }
  const module = wasm.compile(bytesOf(variant));
  compiled.set(variant, module);
  module.catch(() => compiled.delete(variant));
  return module;
}

/** Typed access to an instance's exports; throws if the build lacks one. */
export function bindExports(exports: Readonly<Record<string, unknown>>): BlockExports {
  const bound: Partial<Record<keyof BlockExports, unknown>> = {};
  for (const name of EXPORT_NAMES) {
    const value = exports[name];
    if (typeof value !== 'function') throw new Error(`the wasm kernels lack the export ${name}`);
    bound[name] = value;
  }
  return bound as BlockExports;
}
