/**
 * NumPy `.npy` codec: reads format versions 1.0, 2.0 and 3.0, writes 1.0.
 *
 * The format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   magic `\x93NUMPY`, major and minor version bytes, the header length (uint16 LE in 1.0, uint32
 *   LE in 2.0 and 3.0), the header — a Python dict literal such as
 *   `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and ending in
 *   `\n` (latin-1 in 1.0/2.0, UTF-8 in 3.0) — then the raw element bytes.
 *
 * Decoding choices (documented for users in docs/model-format.md):
 *   - the result is always in C (row-major) order; Fortran-order files are transposed on read;
 *   - the result never aliases the input bytes (decoding copies), so callers may mutate it freely;
 *   - float16 is widened to Float32Array (exactly: every float16 is a float32);
 *   - int64 and uint64 become Float64Array, element by element, and decoding fails when an element
 *     is not exactly representable as a double (|v| > 2^53 with low bits set) rather than silently
 *     rounding it. Plain numbers are what the rest of kmfit (and most users) want; a BigInt64Array
 *     would leak into every caller;
 *   - bool becomes a Uint8Array of 0/1;
 *   - the byte order `=` (native) is read as little-endian — numpy itself always writes `<` or `>`.
 */
import { KmfitError } from '../errors.js';

/** The typed arrays a decoded .npy file comes back as. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** NumPy's name of the dtype as stored in the file (before any widening on read). */
export type NpyDtype =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64';

export interface NpyArray {
  /** The elements in C order, as the natural JS typed array (see the module comment for widening). */
  data: NpyData;
  /** Dimensions; `[]` for a 0-d (scalar) array. */
  shape: number[];
  /** NumPy's dtype name as stored in the file, e.g. 'float32' (data is a Float32Array), 'int64' (Float64Array). */
  dtype: NpyDtype;
}

/** Typed arrays `encodeNpy` writes, and the dtype each becomes. */
export type NpyEncodable =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Uint16Array;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when `bytes` starts with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

export interface DtypeInfo {
  dtype: NpyDtype;
  kind: 'b' | 'i' | 'u' | 'f';
  itemsize: number;
}

const DTYPES: Record<string, DtypeInfo> = {
  b1: { dtype: 'bool', kind: 'b', itemsize: 1 },
  i1: { dtype: 'int8', kind: 'i', itemsize: 1 },
  i2: { dtype: 'int16', kind: 'i', itemsize: 2 },
  i4: { dtype: 'int32', kind: 'i', itemsize: 4 },
  i8: { dtype: 'int64', kind: 'i', itemsize: 8 },
  u1: { dtype: 'uint8', kind: 'u', itemsize: 1 },
  u2: { dtype: 'uint16', kind: 'u', itemsize: 2 },
  u4: { dtype: 'uint32', kind: 'u', itemsize: 4 },
  u8: { dtype: 'uint64', kind: 'u', itemsize: 8 },
  f2: { dtype: 'float16', kind: 'f', itemsize: 2 },
  f4: { dtype: 'float32', kind: 'f', itemsize: 4 },
  f8: { dtype: 'float64', kind: 'f', itemsize: 8 },
};

/** Human names for the dtype kinds kmfit refuses, keyed by numpy's type character. */
const UNSUPPORTED_KINDS: Record<string, string> = {
  O: 'object (Python objects, stored with pickle)',
  U: 'unicode string',
  S: 'byte string',
  a: 'byte string',
  c: 'complex',
  V: 'void / raw bytes',
  M: 'datetime64',
  m: 'timedelta64',
};

function fail(name: string, problem: string): never {
  throw new KmfitError('IO_ERROR', `${name}: ${problem}`);
}

/** The parsed pieces of a .npy header. */
export interface NpyHeader {
  info: DtypeInfo;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte. */
  dataOffset: number;
  /** Number of data bytes the header promises. */
  dataLength: number;
}

/**
 * Decodes a .npy file held in memory. `name` (a path or member name) is only used in error
 * messages. Extra bytes after the data are ignored, as numpy does; see `decodeNpyPrefix` to learn
 * where the array ended.
 */
export function decodeNpy(bytes: Uint8Array, name = 'the .npy data'): NpyArray {
  return decodeNpyPrefix(bytes, name).array;
}

/** Like `decodeNpy`, and also returns `end`, the offset just past the array's last data byte. */
export function decodeNpyPrefix(bytes: Uint8Array, name = 'the .npy data'): { array: NpyArray; end: number } {
  const header = parseNpyHeader(bytes, name);
  const { dataOffset, dataLength } = header;
  checkNpyDataLength(header, bytes.length, name);
  const raw = bytes.subarray(dataOffset, dataOffset + dataLength);
  let data = decodeNpyElements(raw, header, name);
  if (header.fortranOrder && header.shape.length > 1) data = fortranToC(data, header.shape);
  return { array: { data, shape: header.shape, dtype: header.info.dtype }, end: dataOffset + dataLength };
}

/**
 * Where the data of the .npy file starting with `bytes` begins, read from the preamble alone (the
 * first 10 or 12 bytes); undefined when `bytes` is too short or not a .npy file. Lets a streaming
 * reader fetch exactly the header before parsing it.
 */
export function npyDataOffset(bytes: Uint8Array): number | undefined {
  if (!isNpy(bytes) || bytes.length < 10) return undefined;
  if (bytes[6] === 1) return 10 + (bytes[8] | (bytes[9] << 8));
  if (bytes.length < 12) return undefined;
  // A longer header is refused by parseNpyHeader from its first bytes: never fetch more.
  return 12 + Math.min(MAX_HEADER_BYTES + 1, (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000);
}

/**
 * The longest header read: numpy's own reader refuses headers over 10 000 bytes by default; a
 * header of thousands of dimensions fits, a 4 GiB one (which the format's uint32 allows) is a
 * damaged or hostile file.
 */
const MAX_HEADER_BYTES = 1 << 20;

/** Fails unless a source of `totalBytes` bytes holds all the data the header promises. */
export function checkNpyDataLength(header: NpyHeader, totalBytes: number, name: string): void {
  const available = totalBytes - header.dataOffset;
  if (available < header.dataLength) {
    fail(
      name,
      `the data is cut short: the header promises ${header.dataLength} bytes (shape (${header.shape.join(', ')}) of ` +
        `${header.info.dtype}) but only ${Math.max(0, available)} follow; the file is truncated or damaged: write it again`,
    );
  }
}

/**
 * Parses the magic, version and header dict of a .npy file from its first bytes (at least up to
 * the data offset; more is ignored). Any problem → IO_ERROR naming `name`.
 */
export function parseNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (!isNpy(bytes)) {
    fail(name, 'not a NumPy .npy file (it does not start with the "\\x93NUMPY" magic string)');
  }
  if (bytes.length < 10) fail(name, `the .npy header is cut short (the file has only ${bytes.length} bytes)`);
  const major = bytes[6];
  const minor = bytes[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    fail(name, `unsupported .npy format version ${major}.${minor}; kmfit reads versions 1.0, 2.0 and 3.0`);
  }
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = bytes[8] | (bytes[9] << 8);
    headerStart = 10;
  } else {
    if (bytes.length < 12) fail(name, `the .npy header is cut short (the file has only ${bytes.length} bytes)`);
    headerLength = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000;
    headerStart = 12;
  }
  if (headerLength > MAX_HEADER_BYTES) {
    fail(name, `the .npy header declares ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} kmfit reads; the file is damaged or not a .npy file`);
  }
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    fail(
      name,
      `the .npy header is cut short: it declares ${headerLength} bytes but the file ends after ` +
        `${bytes.length - headerStart}; the file is truncated or damaged: write it again`,
    );
  }
  const headerBytes = bytes.subarray(headerStart, dataOffset);
  const text = major === 3 ? new TextDecoder('utf-8').decode(headerBytes) : latin1(headerBytes);

  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    fail(name, `the .npy header is not valid (${(e as Error).message}): ${JSON.stringify(text.trim().slice(0, 200))}`);
  }
  if (!(dict instanceof Map)) fail(name, `the .npy header is not a dict: ${JSON.stringify(text.trim().slice(0, 200))}`);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shapeValue = dict.get('shape');
  if (descr === undefined || fortran === undefined || shapeValue === undefined) {
    fail(name, `the .npy header lacks 'descr', 'fortran_order' or 'shape': ${JSON.stringify(text.trim())}`);
  }
  if (typeof fortran !== 'boolean') fail(name, `the .npy header's 'fortran_order' is not True or False`);
  const { info, littleEndian } = parseDescr(descr, name);
  if (!Array.isArray(shapeValue)) fail(name, `the .npy header's 'shape' is not a tuple`);
  const shape: number[] = [];
  let count = 1;
  for (const dim of shapeValue) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      fail(name, `the .npy header's shape has an invalid dimension ${String(dim)}`);
    }
    shape.push(dim);
    count *= dim;
  }
  const dataLength = count * info.itemsize;
  if (!Number.isSafeInteger(dataLength)) fail(name, `the .npy header's shape (${shape.join(', ')}) is impossibly large`);
  return { info, littleEndian, fortranOrder: fortran, shape, dataOffset, dataLength };
}

function parseDescr(descr: PyValue, name: string): { info: DtypeInfo; littleEndian: boolean } {
  if (Array.isArray(descr)) {
    fail(name, 'unsupported dtype: a structured (record) dtype; kmfit reads plain numeric and bool arrays');
  }
  if (typeof descr !== 'string') fail(name, `the .npy header's 'descr' is not a string`);
  const m = /^([<>|=]?)([a-zA-Z])(\d*)(\[.*\])?$/.exec(descr);
  const order = m ? m[1] : '';
  const kindChar = m ? m[2] : '';
  const size = m ? m[3] : '';
  if (m && UNSUPPORTED_KINDS[kindChar] !== undefined) {
    fail(name, `unsupported dtype '${descr}' (${UNSUPPORTED_KINDS[kindChar]}); kmfit reads bool, int8–64, uint8–64 and float16/32/64 arrays`);
  }
  const info = m && m[4] === undefined ? DTYPES[kindChar + size] : undefined;
  if (info === undefined) {
    fail(name, `unsupported dtype '${descr}'; kmfit reads bool, int8–64, uint8–64 and float16/32/64 arrays`);
  }
  if (order === '|' && info.itemsize > 1) {
    fail(name, `invalid dtype '${descr}': the byte order '|' (not applicable) is only valid for 1-byte types`);
  }
  return { info, littleEndian: order !== '>' };
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  }
  return s;
}

/**
 * Copies raw element bytes (a whole number of elements, e.g. one chunk of a file) into the natural
 * typed array, fixing byte order and widening. `firstElement`: the index of raw's first element in
 * the array, for messages. `view`: the caller copies the values out before raw changes (a chunk
 * of a read buffer that is reused), so where raw's bytes are already the values (native byte
 * order, aligned, not bool) they are returned as a view of raw, not copied: a reader's chunks then
 * cost no fresh memory each, which this project's VMs fault in at 2.7 ms per MiB (2026-12-08).
 */
export function decodeNpyElements(raw: Uint8Array, header: NpyHeader, name: string, firstElement = 0, { view = false } = {}): NpyData {
  const { info } = header;
  const n = raw.length / info.itemsize;
  const swap = info.itemsize > 1 && header.littleEndian !== HOST_LITTLE_ENDIAN;
  // float16 and 64-bit integers are converted into a new array anyway: read in place either way.
  const converted = info.dtype === 'float16' || info.dtype === 'int64' || info.dtype === 'uint64';
  const inPlace = (view || converted) && !swap && info.dtype !== 'bool' && raw.byteOffset % info.itemsize === 0;
  // Else a fresh copy: aligned (typed-array views need byteOffset % itemsize == 0) and never
  // aliasing. Not raw.slice(): on a Node Buffer that is a view into Buffer's shared pool.
  const copy = inPlace ? raw : new Uint8Array(raw);
  if (swap) byteSwap(copy, info.itemsize);
  const buf = copy.buffer;
  const at = copy.byteOffset;
  switch (info.dtype) {
    case 'bool': {
      for (let i = 0; i < n; i++) if (copy[i] > 1) copy[i] = 1;
      return copy;
    }
    case 'int8':
      return new Int8Array(buf, at, n);
    case 'int16':
      return new Int16Array(buf, at, n);
    case 'int32':
      return new Int32Array(buf, at, n);
    case 'uint8':
      return copy;
    case 'uint16':
      return new Uint16Array(buf, at, n);
    case 'uint32':
      return new Uint32Array(buf, at, n);
    case 'float32':
      return new Float32Array(buf, at, n);
    case 'float64':
      return new Float64Array(buf, at, n);
    case 'float16': {
      const halves = new Uint16Array(buf, at, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(halves[i]);
      return out;
    }
    case 'int64':
    case 'uint64':
      return int64ToFloat64(new Uint32Array(buf, at, n * 2), info.dtype === 'int64', name, firstElement);
  }
}

function byteSwap(bytes: Uint8Array, itemsize: number): void {
  for (let i = 0; i < bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

const TWO_POW_32 = 4294967296;

/**
 * 64-bit integers (as host-order 32-bit word pairs) to doubles, refusing any value a double cannot
 * hold exactly.
 */
function int64ToFloat64(words: Uint32Array, signed: boolean, name: string, firstElement: number): Float64Array {
  const n = words.length / 2;
  const out = new Float64Array(n);
  const loIndex = HOST_LITTLE_ENDIAN ? 0 : 1;
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i + loIndex];
    const hiU = words[2 * i + 1 - loIndex];
    const hi = signed ? hiU | 0 : hiU;
    // |hi| < 2^21 means |value| < 2^53: exact. Otherwise check through BigInt (rare).
    if (hi >= -0x200000 && hi < 0x200000) {
      out[i] = hi * TWO_POW_32 + lo;
    } else {
      const big = signed ? view.getBigInt64(8 * i, HOST_LITTLE_ENDIAN) : view.getBigUint64(8 * i, HOST_LITTLE_ENDIAN);
      const value = Number(big);
      if (BigInt(value) !== big) {
        fail(
          name,
          `element ${firstElement + i} of this ${signed ? 'int64' : 'uint64'} array, ${big}, cannot be represented exactly as a ` +
            `JavaScript number (|value| > 2^53); kmfit reads 64-bit integers as Float64Array. ` +
            `Convert the array in numpy first, e.g. to float64`,
        );
      }
      out[i] = value;
    }
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Reorders a Fortran-order (column-major) array into C order. */
function fortranToC<T extends NpyData>(src: T, shape: number[]): T {
  const rank = shape.length;
  const n = src.length;
  const out = new (src.constructor as { new (length: number): T })(n);
  if (n === 0) return out;
  // Fortran strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1].
  const fStride = new Array<number>(rank);
  fStride[0] = 1;
  for (let k = 1; k < rank; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
  const index = new Array<number>(rank).fill(0);
  let srcOffset = 0;
  // Walk the output in C order (last index fastest), tracking the source offset incrementally.
  for (let i = 0; i < n; i++) {
    out[i] = src[srcOffset];
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      srcOffset += fStride[k];
      if (index[k] < shape[k]) break;
      srcOffset -= fStride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A Python-literal parser, just big enough for .npy headers: dicts, tuples, lists, strings,
// integers, True/False/None.
// ---------------------------------------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skipSpace();
    if (text[pos] !== ch) throw new Error(`expected '${ch}' at character ${pos}`);
    pos++;
  };
  const parseValue = (): PyValue => {
    skipSpace();
    const ch = text[pos];
    if (ch === '{') return parseDict();
    if (ch === '(') return parseSequence(')');
    if (ch === '[') return parseSequence(']');
    if (ch === "'" || ch === '"') return parseString();
    if (ch !== undefined && /[-+0-9]/.test(ch)) return parseInt();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    throw new Error(`unexpected ${ch === undefined ? 'end of header' : `'${ch}'`} at character ${pos}`);
  };
  const parseDict = (): Map<string, PyValue> => {
    expect('{');
    const map = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return map;
      }
      const key = parseValue();
      if (typeof key !== 'string') throw new Error(`a dict key that is not a string at character ${pos}`);
      expect(':');
      map.set(key, parseValue());
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') throw new Error(`expected ',' or '}' at character ${pos}`);
    }
  };
  const parseSequence = (close: string): PyValue[] => {
    pos++; // the opening bracket
    const items: PyValue[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === close) {
        pos++;
        return items;
      }
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) throw new Error(`expected ',' or '${close}' at character ${pos}`);
    }
  };
  const parseString = (): string => {
    const quote = text[pos++];
    let s = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        pos++;
        const esc = text[pos];
        s += esc === 'n' ? '\n' : esc === 't' ? '\t' : esc;
      } else {
        s += text[pos];
      }
      pos++;
    }
    if (pos >= text.length) throw new Error('an unterminated string');
    pos++;
    return s;
  };
  const parseInt = (): number => {
    const m = /^[-+]?\d+L?/.exec(text.slice(pos, pos + 40));
    if (!m) throw new Error(`a malformed number at character ${pos}`);
    pos += m[0].length;
    return Number(m[0].replace('L', ''));
  };
  const value = parseValue();
  skipSpace();
  if (pos !== text.length) throw new Error(`unexpected text after the header dict at character ${pos}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** The dtypes `encodeNpy` writes, with their .npy descr (little-endian). */
const WRITTEN_DESCR = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  uint32: '<u4',
  int16: '<i2',
  uint16: '<u2',
  int8: '|i1',
  uint8: '|u1',
} as const;

/** A dtype `encodeNpy` and `encodeNpyHeader` write. */
export type NpyWritableDtype = keyof typeof WRITTEN_DESCR;

function dtypeOf(data: NpyEncodable): NpyWritableDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new KmfitError('INVALID_SHAPE', `encodeNpy: unsupported data type ${Object.prototype.toString.call(data)}`);
}

/** The number of elements of `shape`; INVALID_SHAPE for a dimension that is not a count. */
function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new KmfitError('INVALID_SHAPE', `encodeNpy: the shape [${shape.join(', ')}] has an invalid dimension ${dim}`);
    }
    count *= dim;
  }
  return count;
}

/**
 * The header of a .npy file (magic, version, the padded dict) for an array of `dtype` and `shape`,
 * in C order and little-endian: what `encodeNpy` puts before the elements. For a file written in
 * pieces: this header, then exactly `shape`'s element count of little-endian elements.
 */
export function encodeNpyHeader(dtype: NpyWritableDtype, shape: readonly number[]): Uint8Array {
  elementCount(shape);
  const descr = WRITTEN_DESCR[dtype];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1.0 unless the header does not fit a uint16 length (only with thousands of dimensions).
  const version = dict.length + 11 > 0xffff ? 2 : 1;
  const preamble = version === 1 ? 10 : 12;
  // Pad with spaces so that the data starts at a multiple of 64 bytes; the header ends with '\n'.
  const headerLength = Math.ceil((preamble + dict.length + 1) / 64) * 64 - preamble;
  const head = new Uint8Array(preamble + headerLength);
  head.set(MAGIC, 0);
  head[6] = version;
  head[7] = 0;
  if (version === 1) {
    head[8] = headerLength & 0xff;
    head[9] = headerLength >> 8;
  } else {
    new DataView(head.buffer).setUint32(8, headerLength, true);
  }
  for (let i = 0; i < dict.length; i++) head[preamble + i] = dict.charCodeAt(i);
  head.fill(0x20, preamble + dict.length, head.length - 1);
  head[head.length - 1] = 0x0a;
  return head;
}

/**
 * The pieces of an encoded .npy file — the header, then the element bytes — without copying the
 * elements when the host is little-endian (the second piece is then a view of `array.data`'s
 * memory). Concatenated, the pieces are exactly `encodeNpy(array)`.
 */
export function encodeNpyParts(array: { data: NpyEncodable; shape: readonly number[] }): Uint8Array[] {
  const { data, shape } = array;
  const dtype = dtypeOf(data);
  const count = elementCount(shape);
  if (count !== data.length) {
    throw new KmfitError(
      'INVALID_SHAPE',
      `encodeNpy: the shape [${shape.join(', ')}] holds ${count} elements but the data has ${data.length}`,
    );
  }
  const head = encodeNpyHeader(dtype, shape);
  let body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!HOST_LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) {
    body = body.slice();
    byteSwap(body, data.BYTES_PER_ELEMENT);
  }
  return [head, body];
}

/** Encodes an array as a .npy file: format 1.0, little-endian, C order, data aligned to 64 bytes. */
export function encodeNpy(array: { data: NpyEncodable; shape: readonly number[] }): Uint8Array {
  const [head, body] = encodeNpyParts(array);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
