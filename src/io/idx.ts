import { KmfitError } from '../errors.js';
import { BoundedInflater, InflateProblem, checkCrc, gzipMember, maxInflatedSize } from '../io/inflate.js';

/**
 * IDX, the file format of the original MNIST distribution:
 *   bytes 0–1  0x00 0x00
 *   byte 2     element type: 0x08 ubyte, 0x09 sbyte, 0x0B short (int16), 0x0C int (int32),
 *              0x0D float (float32), 0x0E double (float64)
 *   byte 3     number of dimensions k
 *   then k big-endian uint32 sizes, then the elements in row-major order, big-endian.
 * Files may be gzip-compressed (recognised by the 0x1f 0x8b magic).
 */

export type IdxTypeName = 'ubyte' | 'sbyte' | 'short' | 'int' | 'float' | 'double';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  /** The elements, row-major, in a typed array matching the file's element type (a copy). */
  readonly data: IdxData;
  readonly shape: number[];
  readonly type: IdxTypeName;
}

export interface IdxHeader {
  readonly type: IdxTypeName;
  readonly shape: number[];
  /** Size of the header: 4 + 4·dimensions. */
  readonly headerBytes: number;
  /** Bytes per element. */
  readonly elementBytes: number;
  /** Number of elements the header declares (product of the shape). */
  readonly count: number;
}

const TYPES: Record<number, { name: IdxTypeName; bytes: number }> = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'sbyte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
};

const FORMAT_HINT =
  'an IDX file starts with 0x00 0x00, a type byte (0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, ' +
  '0x0E double) and the number of dimensions';

/** True when `bytes` starts with the gzip magic 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The decompressed bytes of a gzip IDX file, inflated no further than one byte past the size its
 * IDX header declares (readIdx then reports a cut or an overlong file), and, when complete,
 * checked against the gzip trailer's CRC-32 and size. Memory follows the data actually inflated,
 * never the size the trailer or the header claims. A damaged stream → IO_ERROR naming `source`.
 */
function gunzipIdx(bytes: Uint8Array, source: string): Uint8Array {
  const damaged = (why: string) =>
    new KmfitError('IO_ERROR', `${source} looks gzip-compressed but ${why}; the file is probably truncated or damaged — obtain it again.`);
  try {
    const member = gzipMember(bytes);
    const limit = maxInflatedSize(member.deflated.length);
    const inflater = new BoundedInflater(member.deflated, limit);
    const start = inflater.head(4);
    const header = parseIdxHeader(inflater.head(4 + 4 * (start.length === 4 ? start[3] : 0)), source);
    const size = header.headerBytes + header.count * header.elementBytes;
    if (size > limit) {
      throw damaged(
        `its IDX header declares shape [${header.shape.join(', ')}] of ${header.type} (${size} bytes), more than its ` +
          `${member.deflated.length} compressed bytes can hold`,
      );
    }
    inflater.bound(size + 1); // one byte more shows an overlong stream
    const data = inflater.head(size + 1);
    if (data.length === size) {
      if (data.length % 2 ** 32 !== member.sizeMod32) throw damaged(`its gzip trailer declares ${member.sizeMod32} bytes (mod 2^32), not the ${size} it inflates to`);
      checkCrc(data, member.crc);
    }
    return data;
  } catch (error) {
    if (error instanceof InflateProblem) throw damaged(`it ${error.message}`);
    throw error;
  }
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0').toUpperCase();
}

/**
 * Parses an IDX header from the start of `bytes` (which may hold just the header). Foreign or
 * cut-short headers → IO_ERROR naming `source`.
 */
export function parseIdxHeader(bytes: Uint8Array, source: string): IdxHeader {
  if (bytes.length < 4) {
    throw new KmfitError(
      'IO_ERROR',
      `${source} is too short to be an IDX file: ${bytes.length} byte${bytes.length === 1 ? '' : 's'}, ` +
        `while the header alone takes at least 4; the file is truncated or not an IDX file.`,
    );
  }
  const typeInfo = TYPES[bytes[2]];
  const dims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || typeInfo === undefined || dims === 0) {
    const start = Array.from(bytes.subarray(0, 4), hex).join(' ');
    throw new KmfitError(
      'IO_ERROR',
      `${source} is not an IDX file: it starts with ${start}${dims === 0 && typeInfo ? ' (0 dimensions)' : ''}; ` +
        `${FORMAT_HINT}. Check the path (a gzip file needs its 0x1f 0x8b magic intact).`,
    );
  }
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes) {
    throw new KmfitError(
      'IO_ERROR',
      `${source} is cut short inside its IDX header: it declares ${dims} dimensions (a ${headerBytes}-byte header) ` +
        `but has only ${bytes.length} bytes; obtain the file again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const shape: number[] = [];
  let count = 1;
  for (let k = 0; k < dims; k++) {
    const size = view.getUint32(4 + 4 * k, false);
    shape.push(size);
    count *= size;
  }
  return { type: typeInfo.name, shape, headerBytes, elementBytes: typeInfo.bytes, count };
}

/**
 * Decodes `count` big-endian elements of `type` from `body` (which starts at the first element)
 * into a new typed array.
 */
export function decodeIdxElements(body: Uint8Array, type: IdxTypeName, count: number): IdxData {
  switch (type) {
    case 'ubyte': {
      // A copy (not body.slice: on a Node Buffer that would be a view).
      const out = new Uint8Array(count);
      out.set(body.subarray(0, count));
      return out;
    }
    case 'sbyte': {
      const out = new Int8Array(count);
      out.set(new Int8Array(body.buffer, body.byteOffset, count));
      return out;
    }
    default:
      break;
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (type) {
    case 'short': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

/**
 * Reads a whole IDX file held in memory, plain or gzip-compressed. `source` (a path or a name)
 * is used in error messages. Errors → IO_ERROR: not gzip-decodable, not IDX (bad magic), cut
 * short (fewer data bytes than the header declares), or trailing bytes after the data (a file
 * that only looks like IDX).
 */
export function readIdx(bytes: Uint8Array, source: string): IdxArray {
  const gzipped = isGzip(bytes);
  const raw = gzipped ? gunzipIdx(bytes, source) : bytes;
  const header = parseIdxHeader(raw, source);
  const need = header.count * header.elementBytes;
  const have = raw.length - header.headerBytes;
  if (have < need) {
    throw new KmfitError(
      'IO_ERROR',
      `${source} is cut short: its IDX header declares shape [${header.shape.join(', ')}] of ${header.type} ` +
        `(${need} bytes of data) but only ${have} bytes follow the ${header.headerBytes}-byte header; obtain the file again.`,
    );
  }
  if (have > need) {
    throw new KmfitError(
      'IO_ERROR',
      `${source} has ${have - need}${gzipped ? ' or more' : ''} bytes after the data its IDX header declares (shape [${header.shape.join(', ')}] ` +
        `of ${header.type}, ${need} bytes); it is not a well-formed IDX file — check the path or obtain the file again.`,
    );
  }
  const data = decodeIdxElements(raw.subarray(header.headerBytes), header.type, header.count);
  return { data, shape: header.shape, type: header.type };
}
