/**
 * Facts about the host that backends report — cores, free memory, the CPU's name — in Node and in
 * browsers, and the choices CPU backends derive from them (threads, a memory budget). Node's modules are reached through process.getBuiltinModule, never imported, so that
 * a browser bundle of a backend has no node: imports to resolve.
 */

/** A Node built-in module, or undefined outside Node. */
export function nodeBuiltin<T>(id: string): T | undefined {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return undefined;
  return process.getBuiltinModule(id) as T | undefined;
}

import { KmfitError } from '../errors.js';
import type { MemoryBudget } from './backend.js';

type NodeOs = typeof import('node:os');

/** The navigator of a browser (or of Node ≥ 21), if any. */
function navigatorField(name: string): unknown {
  const nav: unknown = Reflect.get(globalThis, 'navigator');
  return typeof nav === 'object' && nav !== null ? Reflect.get(nav, name) : undefined;
}

export function hardwareThreads(): number {
  const os = nodeBuiltin<NodeOs>('node:os');
  if (os) return os.availableParallelism();
  const count = navigatorField('hardwareConcurrency');
  return typeof count === 'number' && count >= 1 ? count : 1;
}

/** Free system memory in bytes; undefined in a browser, which does not say. */
export function freeMemoryBytes(): number | undefined {
  return nodeBuiltin<NodeOs>('node:os')?.freemem();
}

export function cpuName(): string {
  return nodeBuiltin<NodeOs>('node:os')?.cpus()[0]?.model.trim() || 'CPU';
}

/**
 * The threads a CPU backend runs on: `requested`, or one per core.
 * @throws KmfitError INVALID_OPTION unless it is an integer from 1 to 256.
 */
export function threadCount(requested: number | undefined): number {
  const threads = requested ?? hardwareThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new KmfitError('INVALID_OPTION', `threads must be an integer from 1 to 256; got ${String(threads)}. Leave it out to use one per core.`);
  }
  return threads;
}

/** Half of the free system memory: the budget of a backend that computes in main memory. */
export function halfOfFreeMemory(): MemoryBudget {
  // A browser does not say how much memory is free: take 4 GiB as free, so a 2 GiB budget.
  const free = freeMemoryBytes() ?? 4 * 2 ** 30;
  return { bytes: free / 2, source: `half of the ${(free / 2 ** 30).toFixed(1)} GiB of free system memory` };
}
