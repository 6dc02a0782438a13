/**
 * NumPy `.npz` archives: plain zip files with one `<name>.npy` member per array (numpy's
 * `np.savez` stores members, `np.savez_compressed` deflates them).
 *
 * The zip structure is parsed here rather than with fflate's `unzipSync`, which trusts the
 * archive: it reads past the end of a cut-short file without noticing, silently returns short
 * members, and checks no CRC. kmfit must tell a damaged model file from a good one, so this reader
 * validates every offset and size against the bytes it has and checks each member's CRC-32. fflate
 * is still used for the DEFLATE decompression itself.
 *
 * Compression on write: members are stored, not deflated. Measured with this module on Node 20
 * (2-core x86 build machine):
 *   - stored, a 190 MB float32 model (MNIST centers + weights): writeModelFile 0.56 s, of which
 *     the CRC-32 is 0.04 s (native zlib.crc32; 0.24 s in portable JS) and the rest the disk write
 *     and fsync; readModelFile 0.25 s. The file is the size of the arrays;
 *   - fflate deflate level 1, dense trained-weight-like floats (200 MB): 6.3 s to compress and
 *     1.6 s to inflate on every load, for a file only 7 % smaller (low mantissa bits are noise);
 *   - fflate deflate level 1, MNIST training images as float32 centers (188 MB, ~80 % zeros):
 *     1.9 s to compress and 1.0 s to inflate, for a file 10 % of the size.
 * Deflate costs 4-10x the save and load time for, on dense data, almost nothing; saving and
 * loading at the speed of the disk matters more than disk space, so kmfit stores.
 * (Readers accept both; a user may recompress a model with any zip tool and kmfit still reads it.)
 */
import * as zlib from 'node:zlib';
import { inflateSync } from 'fflate';
import { KmfitError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// CRC-32 (the zip / IEEE 802.3 polynomial, reflected: 0xEDB88320), slicing-by-8 tables.
// ---------------------------------------------------------------------------------------------

const CRC_TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1];
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) table[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(table);
  }
  return tables;
})();

/**
 * CRC-32 of `bytes`, continuing from `previous`: start with `crc32(bytes)` and feed later chunks
 * with `crc32(next, previous)`; the result is the unsigned CRC as zip stores it. Uses Node's native
 * zlib.crc32 (Node ≥ 20.15; ~5 GB/s) when present, else the portable version (~0.8 GB/s).
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return NATIVE_CRC32 ? NATIVE_CRC32(bytes, previous) >>> 0 : crc32Portable(bytes, previous);
}

const NATIVE_CRC32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

/** The same CRC-32 in plain JavaScript (slicing-by-8). */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  let c = ~previous >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

/**
 * True when `bytes` starts like a zip archive: a local file header, or the end record of an empty
 * archive. A prefix of those four bytes (including no bytes at all) counts as "starts like" too,
 * so a zip cut short anywhere is still recognized as one.
 */
export function looksLikeZip(bytes: Uint8Array): boolean {
  const local = [0x50, 0x4b, 0x03, 0x04];
  const empty = [0x50, 0x4b, 0x05, 0x06];
  const n = Math.min(4, bytes.length);
  let isLocal = true;
  let isEmpty = true;
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== local[i]) isLocal = false;
    if (bytes[i] !== empty[i]) isEmpty = false;
  }
  return isLocal || isEmpty;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
function u64(b: Uint8Array, o: number): number {
  // Exact below 2^53, which every offset into a Uint8Array is; larger values fail the range checks.
  return u32(b, o) + u32(b, o + 4) * 0x100000000;
}

/** What is wrong with an archive: not a zip at all, a damaged or cut-short zip, or a zip feature kmfit does not read. */
export type ZipProblemKind = 'not-zip' | 'damaged' | 'unsupported';

export interface ZipProblem {
  problem: ZipProblemKind;
  /** What is wrong, without the file's name (callers add it). */
  message: string;
}

/** One member of a zip archive, located and validated against the archive's bytes. */
export interface ZipEntry {
  name: string;
  /** 0: stored, 8: deflated (other methods are reported by `listZipEntries` as unsupported only on extraction). */
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the member's (compressed) data in the archive. */
  dataStart: number;
}

/**
 * Parses the structure of a zip archive (end record, zip64 records, central directory, local
 * headers) and checks that every offset and size lies inside `bytes`. Member data is not read.
 */
export function listZipEntries(bytes: Uint8Array): { entries: ZipEntry[] } | ZipProblem {
  const len = bytes.length;
  const damaged = (message: string): ZipProblem => ({ problem: 'damaged', message });
  const outside = (offset: number, size: number): boolean => !(offset >= 0 && size >= 0 && offset + size <= len);

  if (len === 0) return damaged('the file is empty');
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes, and the
  // comment must end exactly at the end of the file (which rules out a signature inside the data).
  let eocd = -1;
  for (let p = len - 22; p >= 0 && p >= len - 22 - 0xffff; p--) {
    if (u32(bytes, p) === SIG_EOCD && p + 22 + u16(bytes, p + 20) === len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    if (looksLikeZip(bytes)) return damaged(`the zip end-of-archive record is missing; the file has ${len} bytes`);
    return { problem: 'not-zip', message: 'not a zip archive' };
  }
  if (u16(bytes, eocd + 4) !== 0 || u16(bytes, eocd + 6) !== 0) {
    return { problem: 'unsupported', message: 'a multi-disk (split) zip archive, which kmfit does not read' };
  }
  let count = u16(bytes, eocd + 10);
  let cdSize = u32(bytes, eocd + 12);
  let cdOffset = u32(bytes, eocd + 16);
  let cdLimit = eocd; // the central directory ends at or before this

  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // Zip64: a locator right before the end record points to the zip64 end record.
    const loc = eocd - 20;
    if (loc < 0 || u32(bytes, loc) !== SIG_ZIP64_LOCATOR) return damaged('the zip64 end-of-archive locator is missing');
    const z = u64(bytes, loc + 8);
    if (outside(z, 56) || z > loc - 56 || u32(bytes, z) !== SIG_ZIP64_EOCD) {
      return damaged('the zip64 end-of-archive record is missing');
    }
    count = u64(bytes, z + 32);
    cdSize = u64(bytes, z + 40);
    cdOffset = u64(bytes, z + 48);
    cdLimit = z;
  }
  if (outside(cdOffset, cdSize) || cdOffset + cdSize > cdLimit) {
    return damaged('the central directory lies outside the file');
  }
  // Every entry takes at least 46 bytes, so a count the directory cannot hold is damage.
  if (count * 46 > cdSize) return damaged(`the central directory is too small for its ${count} entries`);

  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  const utf8 = new TextDecoder('utf-8');
  const cdEnd = cdOffset + cdSize;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(bytes, p) !== SIG_CENTRAL) return damaged(`central directory entry ${i} is malformed`);
    const flags = u16(bytes, p + 8);
    const method = u16(bytes, p + 10);
    const crc = u32(bytes, p + 16);
    let compressedSize = u32(bytes, p + 20);
    let size = u32(bytes, p + 24);
    const nameLength = u16(bytes, p + 28);
    const extraLength = u16(bytes, p + 30);
    const commentLength = u16(bytes, p + 32);
    let localOffset = u32(bytes, p + 42);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > cdEnd) return damaged(`central directory entry ${i} runs past the directory's end`);
    const name = utf8.decode(bytes.subarray(p + 46, p + 46 + nameLength));

    // A zip64 extra field (id 1) holds, in order, the 64-bit values of those of size,
    // compressed size and local offset whose 32-bit fields are 0xFFFFFFFF.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(bytes, e);
      const fieldEnd = e + 4 + u16(bytes, e + 2);
      if (fieldEnd > extraEnd) return damaged(`member "${name}" has a malformed extra field`);
      if (id === 0x0001) {
        let f = e + 4;
        const take = (): number | undefined => {
          if (f + 8 > fieldEnd) return undefined;
          f += 8;
          return u64(bytes, f - 8);
        };
        const short = damaged(`member "${name}" has a short zip64 extra field`);
        if (size === 0xffffffff) {
          const v = take();
          if (v === undefined) return short;
          size = v;
        }
        if (compressedSize === 0xffffffff) {
          const v = take();
          if (v === undefined) return short;
          compressedSize = v;
        }
        if (localOffset === 0xffffffff) {
          const v = take();
          if (v === undefined) return short;
          localOffset = v;
        }
      }
      e = fieldEnd;
    }
    p = next;

    if (flags & 0x0001) {
      return { problem: 'unsupported', message: `member "${name}" is encrypted, which kmfit does not read` };
    }
    if (names.has(name)) return damaged(`the member name "${name}" appears twice`);
    names.add(name);
    if (outside(localOffset, 30) || u32(bytes, localOffset) !== SIG_LOCAL) {
      return damaged(`the local header of member "${name}" is missing`);
    }
    const dataStart = localOffset + 30 + u16(bytes, localOffset + 26) + u16(bytes, localOffset + 28);
    if (outside(dataStart, compressedSize) || dataStart + compressedSize > cdOffset) {
      return damaged(`the data of member "${name}" lies outside the file`);
    }
    if (method === 0 && compressedSize !== size) return damaged(`stored member "${name}" has mismatched sizes`);
    entries.push({ name, method, crc, compressedSize, size, dataStart });
  }
  return { entries };
}

/**
 * The uncompressed bytes of one member listed by `listZipEntries`, CRC-checked. Stored members
 * are views into `bytes` (no copy); deflated ones are inflated into a new array.
 */
export function extractZipEntry(bytes: Uint8Array, entry: ZipEntry): { data: Uint8Array } | ZipProblem {
  const raw = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = inflateSync(raw, { out: new Uint8Array(entry.size) });
    } catch (err) {
      return { problem: 'damaged', message: `member "${entry.name}" does not inflate (${(err as Error).message})` };
    }
    if (data.length !== entry.size) {
      return { problem: 'damaged', message: `member "${entry.name}" inflates to ${data.length} bytes, not ${entry.size}` };
    }
  } else {
    return {
      problem: 'unsupported',
      message: `member "${entry.name}" uses zip compression method ${entry.method}; kmfit reads stored and deflated members`,
    };
  }
  if (crc32(data) !== entry.crc) {
    return { problem: 'damaged', message: `the CRC-32 checksum of member "${entry.name}" does not match its data` };
  }
  return { data };
}

/**
 * Reads a zip / .npz archive held in memory into its members, keyed by the names as stored (e.g.
 * 'weights.npy'), in archive order. Stored members are views into `bytes` (no copy); deflated ones
 * are inflated. Throws a KmfitError (IO_ERROR) naming `name` and the problem when the archive is
 * not a zip, is cut short or damaged (any offset or size outside the file, a CRC mismatch), or uses
 * a feature outside what numpy writes (encryption, multi-disk, methods other than store/deflate).
 */
export function readNpz(bytes: Uint8Array, name = 'the .npz data'): Map<string, Uint8Array> {
  const fail = (p: ZipProblem): never => {
    const what = p.problem === 'damaged' ? `the zip archive is damaged or cut short: ${p.message}` : p.message;
    throw new KmfitError('IO_ERROR', `${name}: ${what}`);
  };
  const listed = listZipEntries(bytes);
  if ('problem' in listed) return fail(listed);
  const members = new Map<string, Uint8Array>();
  for (const entry of listed.entries) {
    const extracted = extractZipEntry(bytes, entry);
    if ('problem' in extracted) return fail(extracted);
    members.set(entry.name, extracted.data);
  }
  return members;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** The largest archive this writer produces: zip64 is not written, so sizes and offsets fit 32 bits. */
const MAX_ZIP_BYTES = 0xfffffffe;

/** A fixed timestamp (1980-01-01 00:00, the zip epoch) so equal contents give equal bytes. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/**
 * The pieces of a zip archive holding `members` stored (uncompressed), each member given as one or
 * more chunks that are concatenated. Member data chunks are passed through, not copied, so a large
 * archive can be written to a file piece by piece. Concatenated, the pieces are the archive.
 */
export function zipParts(members: ReadonlyArray<readonly [string, readonly Uint8Array[]]>): Uint8Array[] {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const [memberName, chunks] of members) {
    if (seen.has(memberName)) throw new KmfitError('IO_ERROR', `writeNpz: the member name "${memberName}" appears twice`);
    seen.add(memberName);
    const nameBytes = encoder.encode(memberName);
    if (nameBytes.length === 0 || nameBytes.length > 0xffff) {
      throw new KmfitError('IO_ERROR', `writeNpz: the member name "${memberName}" is empty or too long`);
    }
    let crc = 0;
    let size = 0;
    for (const chunk of chunks) {
      crc = crc32(chunk, crc);
      size += chunk.length;
    }
    if (offset + 30 + nameBytes.length + size > MAX_ZIP_BYTES) {
      throw new KmfitError(
        'IO_ERROR',
        `writeNpz: the archive would exceed 4 GiB at member "${memberName}"; kmfit model files are limited to 4 GiB`,
      );
    }
    // Bit 11: the name is UTF-8.
    const flags = 0x0800;
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, flags, true);
    lv.setUint16(8, 0, true); // method: stored
    lv.setUint16(10, DOS_TIME, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, size, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, 0, true);
    local.set(nameBytes, 30);

    const entry = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(entry.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 20, true); // version made by: 2.0, MS-DOS attributes
    cv.setUint16(6, 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, size, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, nameBytes.length, true);
    // extra length, comment length, disk number, internal and external attributes: 0
    cv.setUint32(42, offset, true);
    entry.set(nameBytes, 46);

    parts.push(local, ...chunks);
    central.push(entry);
    offset += local.length + size;
  }
  const cdOffset = offset;
  let cdSize = 0;
  for (const entry of central) cdSize += entry.length;
  if (cdOffset + cdSize + 22 > MAX_ZIP_BYTES) {
    throw new KmfitError('IO_ERROR', 'writeNpz: the archive would exceed 4 GiB; kmfit model files are limited to 4 GiB');
  }
  if (central.length > 0xfffe) throw new KmfitError('IO_ERROR', `writeNpz: too many members (${central.length})`);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, central.length, true);
  ev.setUint16(10, central.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, cdOffset, true);
  parts.push(...central, end);
  return parts;
}

/** Concatenates byte chunks into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/**
 * Writes a zip / .npz archive of `members` (name → bytes, e.g. 'weights.npy' → an encoded .npy),
 * stored without compression (see the module comment for why), in insertion order.
 */
export function writeNpz(members: Record<string, Uint8Array>): Uint8Array {
  return concatBytes(zipParts(Object.entries(members).map(([k, v]) => [k, [v]] as const)));
}
