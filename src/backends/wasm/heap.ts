/**
 * Host-side allocation of the wasm backend's one shared WebAssembly.Memory: a first-fit free list
 * over [RESERVED_BYTES, memory size), grown with memory.grow when nothing fits. The device code
 * never allocates; it only reads and writes the regions the host hands it.
 *
 * wasm32 memories hold at most 65536 pages of 64 KiB (4 GiB) and never shrink: freed regions are
 * reused, not returned to the system.
 */

import type { WasmMemory } from './engine.js';

export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536;
export const MAX_BYTES = PAGE_BYTES * MAX_PAGES;
/** Page 0 holds the module's static data (constants of the exp/log approximations). */
export const RESERVED_BYTES = PAGE_BYTES;
/** Regions start on cache lines, which also satisfies every SIMD alignment. */
const ALIGN = 64;

/** Thrown when a request cannot fit in 4 GiB, or the system refuses to grow the memory. */
export class HeapFullError extends Error {
  constructor(
    readonly requested: number,
    readonly inUse: number,
    readonly systemRefused: boolean,
  ) {
    super(
      systemRefused
        ? `the system refused to grow WebAssembly memory to hold ${requested} more bytes`
        : `${requested} bytes do not fit in the 4 GiB WebAssembly memory (${inUse} bytes in use)`,
    );
    this.name = 'HeapFullError';
  }
}

interface Block {
  start: number;
  size: number;
}

export class WasmHeap {
  /** Free blocks, sorted by start, never adjacent (merged on free). */
  private readonly freeBlocks: Block[] = [];
  private readonly sizes = new Map<number, number>();
  private used = 0;

  constructor(readonly memory: WasmMemory) {
    const size = memory.buffer.byteLength;
    if (size > RESERVED_BYTES) this.freeBlocks.push({ start: RESERVED_BYTES, size: size - RESERVED_BYTES });
  }

  /** Bytes currently allocated. */
  get usedBytes(): number {
    return this.used;
  }

  /** Bytes of the memory as grown so far. */
  get capacityBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A region of at least `bytes` bytes (contents undefined), 64-byte aligned. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let index = this.freeBlocks.findIndex((block) => block.size >= size);
    if (index < 0) {
      this.grow(size);
      index = this.freeBlocks.findIndex((block) => block.size >= size);
      if (index < 0) throw new HeapFullError(bytes, this.used, false);
    }
    const block = this.freeBlocks[index];
    const start = block.start;
    if (block.size === size) this.freeBlocks.splice(index, 1);
    else {
      block.start += size;
      block.size -= size;
    }
    this.sizes.set(start, size);
    this.used += size;
    return start;
  }

  free(start: number): void {
    const size = this.sizes.get(start);
    if (size === undefined) return;
    this.sizes.delete(start);
    this.used -= size;
    let index = this.freeBlocks.findIndex((block) => block.start > start);
    if (index < 0) index = this.freeBlocks.length;
    this.freeBlocks.splice(index, 0, { start, size });
    // Merge with the next, then with the previous block.
    const next = this.freeBlocks[index + 1];
    if (next && start + size === next.start) {
      this.freeBlocks[index].size += next.size;
      this.freeBlocks.splice(index + 1, 1);
    }
    const previous = this.freeBlocks[index - 1];
    if (previous && previous.start + previous.size === start) {
      previous.size += this.freeBlocks[index].size;
      this.freeBlocks.splice(index, 1);
    }
  }

  /** Whether `bytes` more could be allocated without passing 4 GiB (ignoring fragmentation). */
  fits(bytes: number): boolean {
    return this.used + bytes <= MAX_BYTES - RESERVED_BYTES;
  }

  /** A Float32Array over [start, start + 4·count). Views stay valid when the memory grows. */
  f32(start: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, start, count);
  }

  /** A Float64Array over [start, start + 8·count) (start a multiple of 8). */
  f64(start: number, count: number): Float64Array {
    return new Float64Array(this.memory.buffer, start, count);
  }

  /** A Uint32Array over [start, start + 4·count). */
  u32(start: number, count: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, start, count);
  }

  /** A Uint16Array over [start, start + 2·count). */
  u16(start: number, count: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, start, count);
  }

  /** Grows the memory so that a free block of `size` bytes exists at its end. */
  private grow(size: number): void {
    const current = this.memory.buffer.byteLength;
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    const tail = last && last.start + last.size === current ? last.size : 0;
    const needed = Math.ceil((size - tail) / PAGE_BYTES);
    const available = MAX_PAGES - current / PAGE_BYTES;
    if (needed > available) throw new HeapFullError(size, this.used, false);
    // Some slack (an eighth of what exists) so that a slowly growing batch does not grow every call.
    const pages = Math.min(available, Math.max(needed, Math.ceil(current / PAGE_BYTES / 8)));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(needed);
      } catch {
        throw new HeapFullError(size, this.used, true);
      }
    }
    const grown = this.memory.buffer.byteLength;
    if (tail > 0) last.size += grown - current;
    else this.freeBlocks.push({ start: Math.max(current, RESERVED_BYTES), size: grown - Math.max(current, RESERVED_BYTES) });
  }
}
