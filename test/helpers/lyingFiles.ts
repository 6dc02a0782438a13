/**
 * Files that lie about their sizes, built byte by byte for the readers' tests: zip archives with
 * any declared sizes (zip64 included), DEFLATE bombs, gzip streams with any trailer, IDX and .npy
 * headers of any shape. Nothing here uses the code under test except the CRC-32.
 */
import * as zlib from 'node:zlib';
import { crc32 } from '../../src/crc32.js';

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Bytes of a little-endian layout: [value, byteCount] pairs (8-byte ones as BigInt-safe numbers). */
function le(...fields: [number, number][]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, [, size]) => n + size, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [value, size] of fields) {
    if (size === 2) view.setUint16(at, value, true);
    else if (size === 4) view.setUint32(at, value, true);
    else view.setBigUint64(at, BigInt(value), true);
    at += size;
  }
  return out;
}

const ZEROS_PER_UNIT = 16 * 2 ** 20;
/** 16 MiB of zeros as non-final DEFLATE blocks ending on a byte boundary (a full flush): ~16 KB. */
const ZERO_UNIT = new Uint8Array(zlib.deflateRawSync(new Uint8Array(ZEROS_PER_UNIT), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH }));
/** An empty final block (fixed Huffman codes, just the end-of-block code). */
const FINAL_BLOCK = Uint8Array.of(0x03, 0x00);
const ZERO_UNIT_CRC_STEP = new Uint8Array(ZEROS_PER_UNIT);

/**
 * A raw DEFLATE stream of `prefix` followed by `units` × 16 MiB of zeros (about 1000:1), with the
 * CRC-32 and size of what it inflates to. Built from one compressed unit repeated, so a 1 GiB bomb
 * costs nothing to make.
 */
export function deflateBomb(prefix: Uint8Array, units: number): { deflated: Uint8Array; crc: number; size: number } {
  const head = new Uint8Array(zlib.deflateRawSync(prefix, { finishFlush: zlib.constants.Z_FULL_FLUSH }));
  let crc = crc32(prefix);
  for (let i = 0; i < units; i++) crc = crc32(ZERO_UNIT_CRC_STEP, crc);
  return { deflated: concat([head, ...Array<Uint8Array>(units).fill(ZERO_UNIT), FINAL_BLOCK]), crc, size: prefix.length + units * ZEROS_PER_UNIT };
}

/** Plain DEFLATE of `data`, with its CRC-32 and size. */
export function deflate(data: Uint8Array): { deflated: Uint8Array; crc: number; size: number } {
  return { deflated: new Uint8Array(zlib.deflateRawSync(data)), crc: crc32(data), size: data.length };
}

export interface ZipMember {
  readonly name: string;
  /** The member's bytes as stored in the archive (compressed for method 8). */
  readonly data: Uint8Array;
  readonly method: 0 | 8;
  readonly crc: number;
  /** The uncompressed size the archive declares (a lie, or not). */
  readonly size: number;
  /** Declare the size through a zip64 extra field (whatever its value). */
  readonly zip64?: boolean;
}

/** A zip archive of `members` exactly as declared. */
export function zip(members: readonly ZipMember[]): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = encoder.encode(m.name);
    const big = m.zip64 || m.size >= 0xffffffff;
    const sizeField = big ? 0xffffffff : m.size;
    const extra = big ? le([1, 2], [8, 2], [m.size, 8]) : new Uint8Array(0);
    const common = le([big ? 45 : 20, 2], [0x0800, 2], [m.method, 2], [0, 2], [0x21, 2], [m.crc, 4], [m.data.length, 4], [sizeField, 4], [name.length, 2], [extra.length, 2]);
    const local = concat([le([0x04034b50, 4]), common, name, extra]);
    const central = concat([le([0x02014b50, 4], [20, 2]), common, le([0, 2], [0, 2], [0, 2], [0, 4], [offset, 4]), name, extra]);
    locals.push(local, m.data);
    centrals.push(central);
    offset += local.length + m.data.length;
  }
  const directory = concat(centrals);
  const end = le([0x06054b50, 4], [0, 2], [0, 2], [members.length, 2], [members.length, 2], [directory.length, 4], [offset, 4], [0, 2]);
  return concat([...locals, directory, end]);
}

/** A gzip file around raw DEFLATE data, with the trailer given (true or not). */
export function gzip(deflated: Uint8Array, crc: number, size: number): Uint8Array {
  return concat([Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), deflated, le([crc, 4], [size % 2 ** 32, 4])]);
}

/** An IDX header (ubyte elements) of `shape`. */
export function idxHeader(shape: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((size, k) => new DataView(out.buffer).setUint32(4 + 4 * k, size, false));
  return out;
}

/** A .npy header (format 1.0, or 2.0 with `headerLength` forcing the uint32 length field) for float32 of `shape`. */
export function npyHeader(shape: readonly number[], headerLength?: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  if (headerLength !== undefined) {
    return concat([Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0), le([headerLength, 4]), encoderOf(dict + '\n')]);
  }
  const padded = dict.padEnd(Math.ceil((dict.length + 11) / 64) * 64 - 11) + '\n';
  return concat([Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0), le([padded.length, 2]), encoderOf(padded)]);
}

function encoderOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
