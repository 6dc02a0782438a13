/**
 * DEFLATE decompression (zip members, gzip files) that never allocates more than a caller's
 * bound. fflate's one-shot calls allocate the size a file declares (a zip's size field, a gzip
 * trailer) before looking at the data, and gunzipSync checks no CRC. Here the compressed bytes are
 * pushed through fflate's streaming inflater in small slices, so that memory follows the output
 * actually produced; a caller first inflates a few bytes (a .npy or IDX header), learns from them
 * how many bytes the data needs, and then inflates exactly that many, refusing a stream that gives
 * more or fewer.
 */
import { Inflate } from 'fflate';
import { crc32 } from '../crc32.js';

/**
 * The most output one byte of DEFLATE input can give: a 258-byte match coded in about 2 bits
 * (zlib's "technical details": 1032:1). A declared size beyond this many times the compressed size
 * is a lie, found before any inflation.
 */
export const MAX_DEFLATE_RATIO = 1032;

/**
 * Compressed bytes per push: at most ~16 MiB of output each (a bomb overshoots a bound by no more).
 * Smaller slices cost time: the 26 MB Fashion-MNIST training images gunzip in ~1.25x fflate's
 * gunzipSync with 16 KiB slices, ~1.5x with 8 KiB, ~2x with 4 KiB (medians of 2, one run).
 */
const INPUT_SLICE = 16 * 1024;
/**
 * Compressed bytes per push near a target (a header's end, the declared size): ~4 MiB of output at
 * most. Smaller ones cost time: fflate spends about 1 ms on a push whatever its size.
 */
const MIN_SLICE = 4 * 1024;

/** Why a stream was refused: corrupt data, or more or fewer bytes than expected. */
export class InflateProblem extends Error {}

/** The largest output `compressedBytes` of DEFLATE data can possibly give. */
export function maxInflatedSize(compressedBytes: number): number {
  return MAX_DEFLATE_RATIO * compressedBytes + 258;
}

/** Inflates `input` (raw DEFLATE) on demand, keeping at most `limit` bytes of output. */
export class BoundedInflater {
  private output = new Uint8Array(0);
  private length = 0;
  private consumed = 0;
  private tooLong = false;
  private readonly stream: Inflate;

  constructor(
    private readonly input: Uint8Array,
    private limit: number,
  ) {
    this.stream = new Inflate((chunk) => this.append(chunk));
  }

  /** The first `n` bytes of output, or all of it when the stream ends sooner. */
  head(n: number): Uint8Array {
    while (this.length < n && !this.tooLong && this.push(n)) {
      // inflate another slice
    }
    return this.output.subarray(0, Math.min(n, this.length));
  }

  /** From now on, keep no more than `size` bytes of output (a bound found from a header). */
  bound(size: number): void {
    this.limit = Math.min(this.limit, size);
    if (this.length > this.limit) {
      this.length = this.limit;
      this.tooLong = true;
    }
  }

  /**
   * The whole output, which must be exactly `size` bytes (no more than the limit given first);
   * InflateProblem otherwise, as soon as the stream passes `size`.
   */
  all(size: number): Uint8Array {
    this.bound(size);
    while (!this.tooLong && this.push(this.limit + 1)) {
      // inflate another slice
    }
    if (this.tooLong) throw new InflateProblem(`inflates to more than ${size} bytes`);
    if (this.length !== size) throw new InflateProblem(`inflates to ${this.length} bytes, not ${size}`);
    return this.output.length === size ? this.output : this.output.subarray(0, size);
  }

  /**
   * Pushes the next slice, no larger than could overshoot `target` output bytes by more than
   * MIN_SLICE × the maximum ratio (~4 MiB); false when the input is used up.
   */
  private push(target: number): boolean {
    if (this.consumed >= this.input.length) return false;
    const wanted = Math.ceil(Math.max(0, target - this.length) / MAX_DEFLATE_RATIO);
    const end = Math.min(this.input.length, this.consumed + Math.min(INPUT_SLICE, Math.max(MIN_SLICE, wanted)));
    try {
      this.stream.push(this.input.subarray(this.consumed, end), end === this.input.length);
    } catch (error) {
      throw new InflateProblem(`does not inflate (${(error as Error).message})`);
    }
    this.consumed = end;
    return true;
  }

  private append(chunk: Uint8Array): void {
    if (this.tooLong || chunk.length === 0) return;
    if (this.length + chunk.length > this.limit) {
      // Keep what fits (a header read from the start stays readable), and stop.
      this.tooLong = true;
      chunk = chunk.subarray(0, this.limit - this.length);
    }
    const need = this.length + chunk.length;
    if (need > this.output.length) {
      // Doubling, capped at the limit: the buffer is never more than twice the output so far.
      const grown = new Uint8Array(Math.min(this.limit, Math.max(need, 2 * this.output.length, 4096)));
      grown.set(this.output.subarray(0, this.length));
      this.output = grown;
    }
    this.output.set(chunk, this.length);
    this.length = need;
  }
}

/** A gzip file (RFC 1952, one member): its DEFLATE data and what its trailer declares. */
export interface GzipMember {
  readonly deflated: Uint8Array;
  /** CRC-32 of the uncompressed data. */
  readonly crc: number;
  /** Uncompressed size modulo 2^32. */
  readonly sizeMod32: number;
}

/** Splits a gzip file into its header, DEFLATE data and trailer; InflateProblem when malformed. */
export function gzipMember(bytes: Uint8Array): GzipMember {
  if (bytes.length < 18) throw new InflateProblem(`is ${bytes.length} bytes, shorter than any gzip file (18)`);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw new InflateProblem('does not start with the gzip magic 0x1f 0x8b');
  if (bytes[2] !== 8) throw new InflateProblem(`uses compression method ${bytes[2]}, not DEFLATE (8)`);
  const flags = bytes[3];
  const end = bytes.length - 8;
  let p = 10;
  if (flags & 0x04) p += 2 + (bytes[p] | (bytes[p + 1] << 8)); // FEXTRA
  for (const flag of [0x08, 0x10]) {
    // FNAME, FCOMMENT: zero-terminated
    if (!(flags & flag)) continue;
    while (p < end && bytes[p] !== 0) p++;
    p++;
  }
  if (flags & 0x02) p += 2; // FHCRC
  if (p > end) throw new InflateProblem('is cut short inside its gzip header');
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + end, 8);
  return { deflated: bytes.subarray(p, end), crc: trailer.getUint32(0, true), sizeMod32: trailer.getUint32(4, true) };
}

/** Fails unless `data` has the CRC-32 `expected`. */
export function checkCrc(data: Uint8Array, expected: number): void {
  if (crc32(data) !== expected) throw new InflateProblem('fails its CRC-32 check: the data is damaged');
}
