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
import { KmfitError } from '../errors.js';
import { crc32 } from '../crc32.js';
import { BoundedInflater, InflateProblem, maxInflatedSize } from './inflate.js';
import { npyDataOffset, parseNpyHeader } from './npy.js';

export { crc32, crc32Portable } from '../crc32.js';

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
 * are views into `bytes` (no copy); deflated ones are inflated into a new array, never larger than
 * the size the archive declares, which is refused unless the compressed data could hold it.
 * `expectedSize` (optional) reads the member's first bytes and returns the size its own header
 * says the member has (a .npy header's shape): a deflated member is then checked against it before
 * the rest is inflated.
 */
export function extractZipEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  expectedSize?: (head: (n: number) => Uint8Array) => number,
): { data: Uint8Array } | ZipProblem {
  const damaged = (message: string): ZipProblem => ({ problem: 'damaged', message: `member "${entry.name}" ${message}` });
  const raw = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    if (entry.size > maxInflatedSize(raw.length)) {
      return damaged(`declares ${entry.size} bytes uncompressed, more than its ${raw.length} compressed bytes can hold`);
    }
    try {
      const inflater = new BoundedInflater(raw, entry.size);
      const expected = expectedSize?.((n) => inflater.head(n)) ?? entry.size;
      if (expected !== entry.size) return damaged(`declares ${entry.size} bytes uncompressed but its contents say ${expected}`);
      data = inflater.all(entry.size);
    } catch (error) {
      if (error instanceof InflateProblem) return damaged(error.message);
      throw error;
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
 * The size a .npy member must have, from its first bytes: the header's length and its shape times
 * the item size. A header that does not parse throws its KmfitError (IO_ERROR).
 */
function npyMemberSize(head: (n: number) => Uint8Array, name: string): number {
  const dataOffset = npyDataOffset(head(12));
  if (dataOffset === undefined) return parseNpyHeader(head(12), name).dataOffset; // throws, naming the problem
  const header = parseNpyHeader(head(dataOffset), name);
  return header.dataOffset + header.dataLength;
}

/**
 * A zip / .npz archive held in memory whose members are extracted only when asked for: its
 * structure is checked on opening, each member's data (inflation and CRC) when it is read.
 */
export class ZipArchive {
  private readonly entries: Map<string, ZipEntry>;

  /** Member names, in archive order. */
  readonly names: readonly string[];

  private constructor(
    private readonly bytes: Uint8Array,
    entries: readonly ZipEntry[],
  ) {
    this.entries = new Map(entries.map((e) => [e.name, e]));
    this.names = entries.map((e) => e.name);
  }

  static open(bytes: Uint8Array): ZipArchive | ZipProblem {
    const listed = listZipEntries(bytes);
    return 'problem' in listed ? listed : new ZipArchive(bytes, listed.entries);
  }

  /** The entry of `name`, if the archive has it. */
  entry(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** The bytes of member `name` (see extractZipEntry); a `.npy` member is checked against its header as it inflates. */
  read(name: string): { data: Uint8Array } | ZipProblem {
    const entry = this.entries.get(name);
    if (!entry) return { problem: 'damaged', message: `there is no member "${name}"` };
    return extractZipEntry(this.bytes, entry, name.endsWith('.npy') ? (head) => npyMemberSize(head, `member ${name}`) : undefined);
  }
}

/** The KmfitError (IO_ERROR) for a problem with the .npz `name`. */
function npzError(p: ZipProblem, name: string): KmfitError {
  const what = p.problem === 'damaged' ? `the zip archive is damaged or cut short: ${p.message}` : p.message;
  return new KmfitError('IO_ERROR', `${name}: ${what}`);
}

/**
 * A .npz archive held in memory, opened for reading members on demand: `names` lists them,
 * `read(member)` extracts one. Throws (now or on reading) a KmfitError (IO_ERROR) naming `name`
 * and the problem when the archive is not a zip, is cut short or damaged (any offset or size
 * outside the file, a size its data cannot have, a CRC mismatch), or uses a feature outside what
 * numpy writes (encryption, multi-disk, methods other than store/deflate).
 */
export function openNpz(bytes: Uint8Array, name = 'the .npz data'): { names: readonly string[]; read(member: string): Uint8Array } {
  const archive = ZipArchive.open(bytes);
  if ('problem' in archive) throw npzError(archive, name);
  return {
    names: archive.names,
    read(member) {
      let extracted;
      try {
        extracted = archive.read(member);
      } catch (error) {
        // A .npy header that does not parse, met while inflating: name the archive too.
        if (error instanceof KmfitError) throw new KmfitError(error.code, `${name}: ${error.message}`, { cause: error });
        throw error;
      }
      if ('problem' in extracted) throw npzError(extracted, name);
      return extracted.data;
    },
  };
}

/**
 * Reads every member of a zip / .npz archive held in memory, keyed by the names as stored (e.g.
 * 'weights.npy'), in archive order; see openNpz (which reads only the members asked for).
 */
export function readNpz(bytes: Uint8Array, name = 'the .npz data'): Map<string, Uint8Array> {
  const archive = openNpz(bytes, name);
  return new Map(archive.names.map((member) => [member, archive.read(member)]));
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
