/**
 * The parts of the WebAssembly JavaScript API the wasm backend uses, typed here because the
 * project's TypeScript lib (ES2022, no DOM) declares no WebAssembly namespace. Reached through
 * globalThis, so that an engine without WebAssembly is reported, not a ReferenceError.
 */

export interface WasmMemory {
  /** For a shared memory, a SharedArrayBuffer of the current size (growing never detaches it). */
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

/** A compiled module: opaque, structured-cloneable to workers. */
export type WasmModule = object;

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

export interface WasmApi {
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
  validate(bytes: Uint8Array): boolean;
  /** Synchronous compilation: fine for small modules (browsers refuse large ones on the main thread). */
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

/** The engine's WebAssembly object, or undefined where there is none. */
export function webAssembly(): WasmApi | undefined {
  const api: unknown = Reflect.get(globalThis, 'WebAssembly');
  return typeof api === 'object' && api !== null ? (api as WasmApi) : undefined;
}
