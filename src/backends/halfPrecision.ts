/**
 * float16 and bfloat16 in JavaScript, for kernel caches (src/solver/kernelCache.ts): float32 →
 * 16-bit patterns rounded to nearest, ties to even, and back. Node 20 has no Math.f16round or
 * Float16Array, so the rounding is done on the float32 bits.
 *
 * float16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; largest finite 65504, smallest normal
 * 2^-14, subnormals down to 2^-24. bfloat16: the upper half of a float32 (8 exponent, 7 mantissa
 * bits), so it has float32's range.
 */
import type { CachePrecision, CachedValues } from './backend.js';

export type HalfPrecision = Exclude<CachePrecision, 'float32'>;

/** Bytes of one cached value. */
export function valueBytes(precision: CachePrecision): number {
  return precision === 'float32' ? 4 : 2;
}

const scalar = new Float32Array(1);
const scalarBits = new Uint32Array(scalar.buffer);

/** The bits of Math.fround(x). */
function float32Bits(x: number): number {
  scalar[0] = x;
  return scalarBits[0];
}

/** v / 2^shift rounded to nearest, ties to even (v < 2^31, 1 ≤ shift ≤ 24). */
function shiftRoundingToEven(v: number, shift: number): number {
  const half = 1 << (shift - 1);
  return (v + half - 1 + ((v >>> shift) & 1)) >>> shift;
}

/** The float16 nearest to the float32 with these bits (ties to even); NaN becomes the quiet NaN 0x7e00. */
export function float32BitsToFloat16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) return sign | (magnitude > 0x7f800000 ? 0x7e00 : 0x7c00);
  // Normal float16: take 112 off the exponent (127 − 15) and drop 13 mantissa bits. A carry out of
  // the mantissa bumps the exponent, which is right; past 65504 it reaches 0x7c00 (Inf) or beyond.
  if (magnitude >= 0x38800000) return sign | Math.min(0x7c00, shiftRoundingToEven(magnitude - 0x38000000, 13));
  // Subnormal float16, in units of 2^-24: the float32 mantissa with its implicit 1, shifted down.
  // At most 2^-25 (a tie with 0 at exactly 2^-25) rounds to zero.
  if (magnitude <= 0x33000000) return sign;
  const exponent = magnitude >>> 23;
  return sign | shiftRoundingToEven((magnitude & 0x7fffff) | 0x800000, 126 - exponent);
}

/** The bfloat16 nearest to the float32 with these bits (ties to even): its upper half, rounded. */
export function float32BitsToBfloat16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40; // NaN: keep it quiet
  // Rounding may carry into the exponent, and from the largest finite value into Inf: both right.
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** The float16 bits of Math.fround(x) rounded to nearest (x is rounded to float32 first). */
export function toFloat16Bits(x: number): number {
  return float32BitsToFloat16(float32Bits(x));
}

/** The bfloat16 bits of Math.fround(x) rounded to nearest. */
export function toBfloat16Bits(x: number): number {
  return float32BitsToBfloat16(float32Bits(x));
}

/** The value of float16 bits. */
export function float16ToNumber(h: number): number {
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  const magnitude =
    exponent === 0 ? mantissa * 2 ** -24 : exponent === 31 ? (mantissa ? NaN : Infinity) : (1024 + mantissa) * 2 ** (exponent - 25);
  return h & 0x8000 ? -magnitude : magnitude;
}

/** The value of bfloat16 bits. */
export function bfloat16ToNumber(h: number): number {
  scalarBits[0] = (h & 0xffff) << 16;
  return scalar[0];
}

const tables = new Map<HalfPrecision, Float32Array>();

/** The float32 value of each of the 65 536 bit patterns (256 KiB, built once). */
export function decodingTable(precision: HalfPrecision): Float32Array {
  let table = tables.get(precision);
  if (!table) {
    table = new Float32Array(65536);
    if (precision === 'float16') for (let h = 0; h < 65536; h++) table[h] = float16ToNumber(h);
    else new Uint32Array(table.buffer).set(Uint32Array.from({ length: 65536 }, (_, h) => h << 16));
    tables.set(precision, table);
  }
  return table;
}

/** `values` rounded to the nearest values of `precision` (bit patterns); float32 returns `values`. */
export function roundToPrecision(values: Float32Array, precision: CachePrecision): CachedValues {
  if (precision === 'float32') return values;
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const convert = precision === 'float16' ? float32BitsToFloat16 : float32BitsToBfloat16;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return out;
}

/** Cached values widened to float32 (a copy). */
export function widenToFloat32(values: CachedValues, precision: CachePrecision): Float32Array {
  if (precision === 'float32') {
    if (!(values instanceof Float32Array)) throw new TypeError('float32 cached values must be a Float32Array');
    return values.slice();
  }
  if (!(values instanceof Uint16Array)) throw new TypeError(`${precision} cached values must be a Uint16Array of bit patterns`);
  const table = decodingTable(precision);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = table[values[i]];
  return out;
}
