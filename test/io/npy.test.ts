import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import { decodeNpy, decodeNpyElements, decodeNpyPrefix, encodeNpy, halfToFloat, parseNpyHeader, type NpyEncodable } from '../../src/io/npy.js';
import { crc32, crc32Portable, readNpz, writeNpz } from '../../src/io/npz.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const itNumpy = it.runIf(RUN_NUMPY_TESTS);

// The fixtures are written by test/fixtures/npy/make_fixtures.py (numpy); the expected values
// below recompute that script's deterministic arrays.
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'npy');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

const range = (n: number, f: (i: number) => number = (i) => i): number[] => Array.from({ length: n }, (_, i) => f(i));
const SIGNED = range(12, (i) => i - 5);
const UNSIGNED = range(12);
const FLOATS = range(12, (i) => (i - 5) * 0.25);


const tempDir = temporaryDirectory('npy');

function expectKmfitError(f: () => unknown, code: string, ...fragments: string[]): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KmfitError);
  const err = caught as KmfitError;
  expect(err.code).toBe(code);
  for (const fragment of fragments) expect(err.message).toContain(fragment);
}

describe('decodeNpy: dtypes and byte orders (numpy-written fixtures)', () => {
  const cases: [string, string, Function, number[]][] = [
    ['i1', 'int8', Int8Array, SIGNED],
    ['i2', 'int16', Int16Array, SIGNED],
    ['i4', 'int32', Int32Array, SIGNED],
    ['i8', 'int64', Float64Array, SIGNED],
    ['u1', 'uint8', Uint8Array, UNSIGNED],
    ['u2', 'uint16', Uint16Array, UNSIGNED],
    ['u4', 'uint32', Uint32Array, UNSIGNED],
    ['u8', 'uint64', Float64Array, UNSIGNED],
    ['f2', 'float16', Float32Array, FLOATS],
    ['f4', 'float32', Float32Array, FLOATS],
    ['f8', 'float64', Float64Array, FLOATS],
  ];
  for (const [code, dtype, ctor, values] of cases) {
    const orders = code.endsWith('1') ? ['le'] : ['le', 'be'];
    for (const order of orders) {
      it(`${code}_${order}.npy → ${ctor.name} (${dtype})`, () => {
        const a = decodeNpy(fixture(`${code}_${order}.npy`), `${code}_${order}.npy`);
        expect(a.dtype).toBe(dtype);
        expect(a.shape).toEqual([3, 4]);
        expect(a.data).toBeInstanceOf(ctor);
        expect(Array.from(a.data)).toEqual(values);
      });
    }
  }

  it('bool → Uint8Array of 0/1', () => {
    const a = decodeNpy(fixture('bool.npy'));
    expect(a.dtype).toBe('bool');
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(a.data)).toEqual([1, 0, 1, 1, 0]);
  });

  it('float16 special values are exact', () => {
    const a = decodeNpy(fixture('f2_special.npy'));
    const d = Array.from(a.data);
    expect(Object.is(d[0], 0)).toBe(true);
    expect(Object.is(d[1], -0)).toBe(true);
    expect(d.slice(2, 4)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(d[4])).toBe(true);
    expect(d[5]).toBe(2 ** -24);
    expect(d[6]).toBe(65504);
    expect(d[7]).toBe(0.333251953125); // float16(1/3)
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
  });

  it('int64 values a double holds exactly decode, even beyond 2^53', () => {
    const a = decodeNpy(fixture('i8_exact_large.npy'));
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(a.data)).toEqual([2 ** 60, -(2 ** 62), 2 ** 53, -(2 ** 63)]);
  });

  it('int64 / uint64 values a double cannot hold are refused, naming the value', () => {
    expectKmfitError(() => decodeNpy(fixture('i8_inexact.npy'), 'i8_inexact.npy'), 'IO_ERROR', 'i8_inexact.npy', '9007199254740993', 'int64');
    expectKmfitError(() => decodeNpy(fixture('u8_inexact.npy'), 'u8_inexact.npy'), 'IO_ERROR', '18446744073709551615', 'uint64');
  });

  it("reads the '=' (native) byte order as little-endian", () => {
    const a = decodeNpy(fixture('native_eq_i4.npy'));
    expect(a.data).toBeInstanceOf(Int32Array);
    expect(Array.from(a.data)).toEqual([1, -2, 3]);
  });
});

describe('decodeNpy: shapes, order and versions', () => {
  it('0-d scalar', () => {
    const a = decodeNpy(fixture('scalar_f8.npy'));
    expect(a.shape).toEqual([]);
    expect(Array.from(a.data)).toEqual([3.5]);
  });

  it('3-d C order', () => {
    const a = decodeNpy(fixture('arange_3d_i4.npy'));
    expect(a.shape).toEqual([2, 3, 4]);
    expect(a.data).toBeInstanceOf(Int32Array);
    expect(Array.from(a.data)).toEqual(range(24));
  });

  it('empty array', () => {
    const a = decodeNpy(fixture('empty_f4.npy'));
    expect(a.shape).toEqual([0, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.length).toBe(0);
  });

  it('Fortran order is returned in C order (3-d float64, 2-d big-endian int16)', () => {
    const a = decodeNpy(fixture('fortran_3d_f8.npy'));
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data)).toEqual(range(24));
    const b = decodeNpy(fixture('fortran_2d_be_i2.npy'));
    expect(b.shape).toEqual([3, 4]);
    expect(b.data).toBeInstanceOf(Int16Array);
    expect(Array.from(b.data)).toEqual(SIGNED);
  });

  it('format versions 2.0 and 3.0', () => {
    for (const name of ['v2_f4.npy', 'v3_f4.npy']) {
      const bytes = fixture(name);
      expect(bytes[6]).toBe(name.startsWith('v2') ? 2 : 3);
      const a = decodeNpy(bytes);
      expect(a.shape).toEqual([3, 4]);
      expect(Array.from(a.data)).toEqual(FLOATS);
    }
  });

  it('never aliases the input bytes, and decodes from an unaligned offset', () => {
    const src = fixture('f4_le.npy');
    const shifted = new Uint8Array(src.length + 1);
    shifted.set(src, 1);
    const view = shifted.subarray(1);
    const a = decodeNpy(view);
    expect(Array.from(a.data)).toEqual(FLOATS);
    a.data[0] = 123;
    expect(decodeNpy(view).data[0]).toBe(-1.25);
  });

  it('decodeNpyElements with view: a view of raw where its bytes are the values already, else a copy', () => {
    const elements = (file: string) => {
      const bytes = fixture(file);
      const header = parseNpyHeader(bytes, file);
      return { header, raw: bytes.subarray(header.dataOffset) };
    };
    const little = elements('f4_le.npy');
    const shared = decodeNpyElements(little.raw, little.header, 'f4', 0, { view: true });
    expect(shared.buffer).toBe(little.raw.buffer);
    expect(Array.from(shared)).toEqual(FLOATS);
    expect(decodeNpyElements(little.raw, little.header, 'f4').buffer).not.toBe(little.raw.buffer);
    // Unaligned: a copy, with the same values.
    const shifted = new Uint8Array(little.raw.length + 1);
    shifted.set(little.raw, 1);
    const unaligned = decodeNpyElements(shifted.subarray(1), little.header, 'f4', 0, { view: true });
    expect(unaligned.buffer).not.toBe(shifted.buffer);
    expect(Array.from(unaligned)).toEqual(FLOATS);
    // Big-endian bytes are swapped in a copy; raw keeps its own.
    const big = elements('f4_be.npy');
    const before = Array.from(big.raw);
    expect(Array.from(decodeNpyElements(big.raw, big.header, 'f4', 0, { view: true }))).toEqual(FLOATS);
    expect(Array.from(big.raw)).toEqual(before);
  });

  it("decodes a Node Buffer (whose slice() is a view into Buffer's shared pool)", () => {
    // A small Buffer lives at an offset inside Buffer's pool; a view of it must not be mistaken for
    // a copy.
    const pooled = Buffer.from(fixture('f4_le.npy'));
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(Array.from(decodeNpy(pooled).data)).toEqual(FLOATS);
  });

  it('ignores bytes after the data (like numpy) and reports where the array ended', () => {
    const src = fixture('i4_le.npy');
    const padded = new Uint8Array(src.length + 5);
    padded.set(src);
    const { array, end } = decodeNpyPrefix(padded);
    expect(end).toBe(src.length);
    expect(Array.from(array.data)).toEqual(SIGNED);
  });
});

describe('decodeNpy: errors name the file and the problem', () => {
  const unsupported: [string, string[]][] = [
    ['object.npy', ["'|O'", 'object']],
    ['unicode.npy', ["'<U2'", 'unicode']],
    ['bytes.npy', ["'|S2'", 'byte string']],
    ['complex.npy', ["'<c8'", 'complex']],
    ['structured.npy', ['structured']],
    ['datetime.npy', ["'<M8[D]'", 'datetime64']],
  ];
  for (const [name, fragments] of unsupported) {
    it(`unsupported dtype: ${name}`, () => {
      expectKmfitError(() => decodeNpy(fixture(name), `fixtures/${name}`), 'IO_ERROR', `fixtures/${name}`, 'unsupported dtype', ...fragments);
    });
  }

  it('truncated data', () => {
    expectKmfitError(() => decodeNpy(fixture('truncated_f8.npy'), 'truncated_f8.npy'), 'IO_ERROR', 'truncated_f8.npy', 'cut short', '96 bytes', 'only 40');
  });

  it('truncated header, at every cut point', () => {
    const src = fixture('f4_le.npy');
    for (let cut = 0; cut < 128; cut++) {
      expectKmfitError(() => decodeNpy(src.subarray(0, cut), 'x.npy'), 'IO_ERROR', 'x.npy');
    }
  });

  it('not a numpy file', () => {
    expectKmfitError(() => decodeNpy(new TextEncoder().encode('hello, world'), 'notes.txt'), 'IO_ERROR', 'notes.txt', 'not a NumPy .npy file');
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);
    expectKmfitError(() => decodeNpy(png, 'image.png'), 'IO_ERROR', 'not a NumPy .npy file');
  });

  it('unknown format version', () => {
    const bytes = fixture('f4_le.npy').slice();
    bytes[6] = 4;
    expectKmfitError(() => decodeNpy(bytes, 'v4.npy'), 'IO_ERROR', 'v4.npy', 'version 4.0');
  });

  it('a header that is not a dict literal', () => {
    const bytes = fixture('f4_le.npy').slice();
    bytes[10] = '['.charCodeAt(0);
    expectKmfitError(() => decodeNpy(bytes, 'bad.npy'), 'IO_ERROR', 'bad.npy', 'header');
  });
});

describe('encodeNpy', () => {
  const samples: [string, NpyEncodable, number[]][] = [
    ['<f4', new Float32Array(FLOATS), [3, 4]],
    ['<f8', new Float64Array(range(6, (i) => i / 3)), [2, 3]],
    ['<i4', new Int32Array(SIGNED), [12]],
    ['|u1', new Uint8Array(UNSIGNED), [2, 2, 3]],
    ['<u4', new Uint32Array([0, 1, 4294967295]), [3]],
    ['|i1', new Int8Array([-128, 0, 127]), [3]],
    ['<i2', new Int16Array([-32768, 0, 32767]), [3]],
    ['<u2', new Uint16Array([0, 65535]), [2]],
    ['<f8', new Float64Array([2.5]), []],
    ['<f4', new Float32Array(0), [0, 5]],
  ];

  it('writes version 1.0 with the data at a multiple of 64 bytes, and decodes back', () => {
    for (const [descr, data, shape] of samples) {
      const bytes = encodeNpy({ data, shape });
      expect(bytes[6]).toBe(1);
      const headerLength = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLength) % 64).toBe(0);
      expect(bytes[10 + headerLength - 1]).toBe(0x0a);
      const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
      expect(header).toContain(`'descr': '${descr}'`);
      const back = decodeNpy(bytes);
      expect(back.shape).toEqual(shape);
      expect(back.data).toBeInstanceOf(data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('encodes a view at its own offset, not the whole buffer', () => {
    const whole = new Float32Array([9, 1, 2, 3, 9]);
    const back = decodeNpy(encodeNpy({ data: whole.subarray(1, 4), shape: [3] }));
    expect(Array.from(back.data)).toEqual([1, 2, 3]);
  });

  it('refuses a shape that does not match the data', () => {
    expectKmfitError(() => encodeNpy({ data: new Float32Array(6), shape: [2, 2] }), 'INVALID_SHAPE', '[2, 2]', '4 elements', '6');
    expectKmfitError(() => encodeNpy({ data: new Float32Array(0), shape: [-1, 0] }), 'INVALID_SHAPE', '-1');
    expectKmfitError(() => encodeNpy({ data: new Float32Array(2), shape: [1.5, 2] }), 'INVALID_SHAPE', '1.5');
  });

  itNumpy('numpy reads what encodeNpy writes', () => {
    const files = samples.map(([, data, shape], i) => {
      const file = join(tempDir, `sample${i}.npy`);
      writeFileSync(file, encodeNpy({ data, shape }));
      return file;
    });
    const script = [
      'import json, sys, numpy as np',
      'out = []',
      'for f in sys.argv[1:]:',
      '    a = np.load(f)',
      '    out.append({"descr": a.dtype.str, "shape": list(a.shape), "values": a.ravel().tolist(), "c": bool(a.flags.c_contiguous)})',
      'print(json.dumps(out))',
    ].join('\n');
    const loaded = runPython(script, ...files) as { descr: string; shape: number[]; values: number[]; c: boolean }[];
    samples.forEach(([descr, data, shape], i) => {
      expect(loaded[i].descr).toBe(descr);
      expect(loaded[i].shape).toEqual(shape);
      expect(loaded[i].values).toEqual(Array.from(data));
      expect(loaded[i].c).toBe(true);
    });
  });
});

describe('npz', () => {
  const expectSavezContents = (members: Map<string, Uint8Array>) => {
    expect([...members.keys()]).toEqual(['a.npy', 'b.npy']);
    const a = decodeNpy(members.get('a.npy') ?? new Uint8Array(), 'a.npy');
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data)).toEqual(range(6));
    const b = decodeNpy(members.get('b.npy') ?? new Uint8Array(), 'b.npy');
    expect(b.dtype).toBe('int64');
    expect(Array.from(b.data)).toEqual([1, 2, 3]);
  };

  it('reads np.savez (stored), np.savez_compressed (deflated) and zip64 archives', () => {
    expectSavezContents(readNpz(fixture('savez.npz')));
    expectSavezContents(readNpz(fixture('savez_compressed.npz')));
    expectSavezContents(readNpz(fixture('zip64.npz')));
  });

  it('follows the zip64 end record when the classic end record defers to it', () => {
    // Mark the classic end record's count and offset as "see zip64", as writers do past 65535
    // members or 4 GiB; the reader must then take them from the zip64 end record.
    const bytes = fixture('zip64.npz').slice();
    const eocd = bytes.length - 22;
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(eocd, true)).toBe(0x06054b50);
    dv.setUint16(eocd + 8, 0xffff, true);
    dv.setUint16(eocd + 10, 0xffff, true);
    dv.setUint32(eocd + 16, 0xffffffff, true);
    expectSavezContents(readNpz(bytes));
  });

  it('round-trips writeNpz, in insertion order', () => {
    const a = encodeNpy({ data: new Float32Array(range(6)), shape: [2, 3] });
    const b = encodeNpy({ data: new Int32Array([1, 2, 3]), shape: [3] });
    const members = readNpz(writeNpz({ 'a.npy': a, 'b.npy': b, 'notes.txt': new TextEncoder().encode('hi') }));
    expect([...members.keys()]).toEqual(['a.npy', 'b.npy', 'notes.txt']);
    expect(members.get('a.npy')).toEqual(a);
    expect(members.get('b.npy')).toEqual(b);
    expect(new TextDecoder().decode(members.get('notes.txt'))).toBe('hi');
  });

  it('detects damage: a flipped data byte (CRC), a cut, a non-zip', () => {
    const good = writeNpz({ 'a.npy': encodeNpy({ data: new Float32Array(range(6)), shape: [6] }) });
    const flipped = good.slice();
    flipped[good.length - 100] ^= 1;
    expectKmfitError(() => readNpz(flipped, 'flipped.npz'), 'IO_ERROR', 'flipped.npz', 'CRC-32');
    expectKmfitError(() => readNpz(good.subarray(0, good.length - 1), 'cut.npz'), 'IO_ERROR', 'cut.npz', 'damaged or cut short');
    expectKmfitError(() => readNpz(new TextEncoder().encode('just text'), 'text.npz'), 'IO_ERROR', 'text.npz', 'not a zip archive');
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const bytes = new TextEncoder().encode('123456789abcdefghijklmnop');
    expect(crc32(bytes.subarray(11), crc32(bytes.subarray(0, 11)))).toBe(crc32(bytes));
    expect(crc32(new Uint8Array())).toBe(0);
    // The portable JS version agrees with the native one, chunked or not, at every length mod 8.
    const random = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + (i >> 3) * 31) & 0xff);
    expect(crc32Portable(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    for (let n = 990; n <= 1000; n++) expect(crc32Portable(random.subarray(0, n))).toBe(crc32(random.subarray(0, n)));
    expect(crc32Portable(random.subarray(501), crc32Portable(random.subarray(0, 501)))).toBe(crc32(random));
  });

  itNumpy('numpy reads what writeNpz writes', () => {
    const file = join(tempDir, 'w.npz');
    writeFileSync(
      file,
      writeNpz({
        'x.npy': encodeNpy({ data: new Float32Array(FLOATS), shape: [3, 4] }),
        'y.npy': encodeNpy({ data: new Int32Array([7, 8]), shape: [2] }),
      }),
    );
    const script = [
      'import json, sys, numpy as np',
      'z = np.load(sys.argv[1])',
      'print(json.dumps({k: {"shape": list(z[k].shape), "values": z[k].ravel().tolist()} for k in z.files}))',
    ].join('\n');
    expect(runPython(script, file)).toEqual({
      x: { shape: [3, 4], values: FLOATS },
      y: { shape: [2], values: [7, 8] },
    });
  });
});
