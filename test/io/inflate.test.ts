/** Bounded inflation (src/io/inflate.ts) against Node's zlib: same bytes out, refusals where the sizes lie. */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BoundedInflater, InflateProblem, gzipMember, maxInflatedSize } from '../../src/io/inflate.js';
import { lcg } from '../helpers/data.js';

/** 3 MB of compressible bytes: runs of a few random values. */
function sample(): Uint8Array {
  const next = lcg(42);
  const out = new Uint8Array(3 * 2 ** 20);
  for (let i = 0; i < out.length; ) {
    const value = Math.floor(next() * 256);
    const run = 1 + Math.floor(next() * 40);
    out.fill(value, i, Math.min(out.length, i + run));
    i += run;
  }
  return out;
}

const problemOf = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(InflateProblem);
    return (error as Error).message;
  }
  throw new Error('expected an InflateProblem');
};

describe('BoundedInflater', () => {
  const data = sample();
  const deflated = new Uint8Array(zlib.deflateRawSync(data));

  it('gives what zlib compressed, a header first and then the rest', () => {
    const inflater = new BoundedInflater(deflated, data.length);
    expect(inflater.head(100)).toEqual(data.subarray(0, 100));
    expect(Buffer.compare(inflater.all(data.length), data)).toBe(0); // toEqual is slow on 3 MB
  });

  it('refuses a stream longer or shorter than the size, and a cut one', () => {
    expect(problemOf(() => new BoundedInflater(deflated, data.length).all(data.length - 1))).toBe(`inflates to more than ${data.length - 1} bytes`);
    expect(problemOf(() => new BoundedInflater(deflated, data.length + 1).all(data.length + 1))).toBe(`inflates to ${data.length} bytes, not ${data.length + 1}`);
    expect(problemOf(() => new BoundedInflater(deflated.subarray(0, deflated.length / 2), data.length).all(data.length))).toMatch(/^does not inflate/);
  });

  it("deflate's best ratio (zlib level 9 on zeros) stays within maxInflatedSize", () => {
    for (const size of [1, 1000, 2 ** 24]) {
      const zeros = new Uint8Array(zlib.deflateRawSync(new Uint8Array(size), { level: 9 }));
      expect(size).toBeLessThanOrEqual(maxInflatedSize(zeros.length));
      if (size > 2 ** 20) expect(size).toBeGreaterThan(maxInflatedSize(zeros.length) / 2); // nor loose
    }
  });
});

describe('gzipMember', () => {
  it('finds the data and the trailer behind every optional header field', () => {
    const data = new TextEncoder().encode('hello, gzip\n'.repeat(50));
    const plain = new Uint8Array(zlib.gzipSync(data));
    // The same member with FEXTRA (4 bytes), FNAME, FCOMMENT and FHCRC (a header CRC of 2 bytes).
    const fields = [4, 0, 1, 2, 3, 4, ...new TextEncoder().encode('name.idx\0comment\0'), 0xaa, 0xbb];
    const full = Uint8Array.from([...plain.subarray(0, 10), ...fields, ...plain.subarray(10)]);
    full[3] = 0x04 | 0x08 | 0x10 | 0x02;
    for (const bytes of [plain, full]) {
      const member = gzipMember(bytes);
      expect(new BoundedInflater(member.deflated, data.length).all(data.length)).toEqual(data);
      expect(member.sizeMod32).toBe(data.length);
      expect(member.crc).toBe(zlib.crc32(data));
    }
    expect(problemOf(() => gzipMember(full.subarray(0, 20)))).toBe('is cut short inside its gzip header');
    expect(problemOf(() => gzipMember(Uint8Array.from([0x1f, 0x8b, 7, ...new Uint8Array(20)])))).toBe('uses compression method 7, not DEFLATE (8)');
  });
});
