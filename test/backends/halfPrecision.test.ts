import { describe, expect, it } from 'vitest';
import {
  bfloat16ToNumber, decodingTable, float16ToNumber, float32BitsToBfloat16, float32BitsToFloat16, roundToPrecision,
  toBfloat16Bits, toFloat16Bits, widenToFloat32,
} from '../../src/backends/halfPrecision.js';
import { lcg } from '../helpers/data.js';
import { nearestHalfBits } from './cacheConformance.js';

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const floatOf = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];

describe('float16', () => {
  it('rounds hand-checked values to nearest, ties to even', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [0, 0x0000], [-0, 0x8000],
      [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], [6.1e-5, 0x03ff], [-6.1e-5, 0x83ff], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002], [floatOf(bitsOf(2 ** -25) + 1), 0x0001], [1e-10, 0x0000], [-1e-10, 0x8000],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2049, 0x6800], [2051, 0x6802], [0.1, 0x2e66],
      [(2 ** -14) * (1 - 2 ** -11), 0x0400], // the largest subnormal's upper tie rounds up into the normals
    ];
    for (const [x, bits] of cases) expect([x, toFloat16Bits(x)]).toEqual([x, bits]);
    const nan = toFloat16Bits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it('decodes hand-checked values, and every bit pattern round-trips', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x8000, 0x7c00, 0xfc00].map(float16ToNumber)).toEqual([
      1, -2, 65504, 2 ** -14, 2 ** -24, -0, Infinity, -Infinity,
    ]);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    const table = decodingTable('float16');
    for (let h = 0; h < 65536; h++) {
      const value = table[h];
      if (Number.isNaN(value)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        expect(float32BitsToFloat16(bitsOf(value)) & 0x7c00).toBe(0x7c00);
      } else if (float32BitsToFloat16(bitsOf(value)) !== h) {
        expect.fail(`0x${h.toString(16)} → ${value} → 0x${float32BitsToFloat16(bitsOf(value)).toString(16)}`);
      }
    }
  });

  it('agrees with a float64 search for the nearest value on random float32 bit patterns', () => {
    const next = lcg(11);
    for (let t = 0; t < 200_000; t++) {
      const bits = Math.floor(next() * 2 ** 32);
      const x = floatOf(bits);
      if (Number.isNaN(x)) continue;
      // Most random patterns are far outside float16's range: bring half of them into it.
      const y = t % 2 ? x : floatOf((bits & 0x87ffffff) | 0x30000000);
      const got = float32BitsToFloat16(bitsOf(y));
      const expected = nearestHalfBits(y, 'float16');
      if (got !== expected) expect.fail(`${y}: 0x${got.toString(16)}, expected 0x${expected.toString(16)}`);
    }
  });
});

describe('bfloat16', () => {
  it('rounds hand-checked values to nearest, ties to even', () => {
    const cases: [number, number][] = [
      [1, 0x3f80], [-2, 0xc000], [0, 0x0000], [-0, 0x8000], [Infinity, 0x7f80], [-Infinity, 0xff80],
      [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81], [3.4e38, 0x7f80],
      [3.38e38, 0x7f7e], [2 ** -133, 0x0001], [2 ** -134, 0x0000], [3 * 2 ** -134, 0x0002], [0.1, 0x3dcd],
    ];
    for (const [x, bits] of cases) expect([x, toBfloat16Bits(x)]).toEqual([x, bits]);
    const nan = toBfloat16Bits(NaN);
    expect((nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0).toBe(true);
    expect(float32BitsToBfloat16(0x7f800001) & 0x7f).not.toBe(0); // a NaN whose payload is in the dropped bits
  });

  it('decodes to the upper half of a float32, and agrees with a float64 search for the nearest value', () => {
    expect([0x3f80, 0xc000, 0x7f80, 0x8000, 0x0001].map(bfloat16ToNumber)).toEqual([1, -2, Infinity, -0, 2 ** -133]);
    const table = decodingTable('bfloat16');
    for (let h = 0; h < 65536; h++) {
      if (!Number.isNaN(table[h]) && float32BitsToBfloat16(bitsOf(table[h])) !== h) expect.fail(`0x${h.toString(16)}`);
    }
    const next = lcg(12);
    for (let t = 0; t < 200_000; t++) {
      const x = floatOf(Math.floor(next() * 2 ** 32));
      if (Number.isNaN(x)) continue;
      const got = float32BitsToBfloat16(bitsOf(x));
      const expected = nearestHalfBits(x, 'bfloat16');
      if (got !== expected) expect.fail(`${x}: 0x${got.toString(16)}, expected 0x${expected.toString(16)}`);
    }
  });
});

describe('bulk conversions', () => {
  it('round float32 arrays to bit patterns and widen them back', () => {
    const values = Float32Array.of(1, -2, 0.1, 65504, 1e-7, -0);
    const f16 = roundToPrecision(values, 'float16');
    expect(Array.from(f16)).toEqual([0x3c00, 0xc000, 0x2e66, 0x7bff, 0x0002, 0x8000]);
    expect(Array.from(widenToFloat32(f16, 'float16'))).toEqual([1, -2, float16ToNumber(0x2e66), 65504, 2 ** -23, -0]);
    const bf16 = roundToPrecision(values, 'bfloat16');
    expect(Array.from(widenToFloat32(bf16, 'bfloat16'))).toEqual(Array.from(bf16, bfloat16ToNumber));
    expect(roundToPrecision(values, 'float32')).toBe(values);
    expect(() => widenToFloat32(values, 'float16')).toThrow(TypeError);
  });
});
