/**
 * Typed arrays that grow by doubling, for readers that do not know the row count in advance (CSV,
 * libsvm): numbers go straight into typed memory, never into arrays of JS numbers.
 */
type GrowableKind = Float32Array | Float64Array | Int32Array;

export class Growable<T extends GrowableKind> {
  private data: T;
  length = 0;

  constructor(private readonly make: (length: number) => T, initial = 1024) {
    this.data = make(initial);
  }

  /** Room for `extra` more elements; returns the storage (valid until the next reserve). */
  reserve(extra: number): T {
    const need = this.length + extra;
    if (need > this.data.length) {
      const grown = this.make(Math.max(2 * this.data.length, need));
      grown.set(this.data.subarray(0, this.length) as never);
      this.data = grown;
    }
    return this.data;
  }

  push(value: number): void {
    this.reserve(1)[this.length++] = value;
  }

  /** The elements, as a view of the storage (no copy; valid until the next push). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }

  /** The elements, trimmed to their length (a copy, so the spare capacity is freed). */
  trimmed(): T {
    return this.data.slice(0, this.length) as T;
  }
}
