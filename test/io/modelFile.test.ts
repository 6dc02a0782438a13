import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import {
  decodeModelFile,
  encodeModelFile,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  readModelFile,
  writeModelFile,
  type ModelFileContents,
} from '../../src/io/modelFile.js';
import { encodeNpy } from '../../src/io/npy.js';
import { readNpz, writeNpz } from '../../src/io/npz.js';
import { RUN_NUMPY_TESTS, runPython } from '../helpers/numpy.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const itNumpy = it.runIf(RUN_NUMPY_TESTS);

// Fault injection for the atomic-write tests: when `failAfterBytes` is set, writes to files opened
// with 'wx' (the atomic writer's temporary file) fail with ENOSPC once that many bytes are written.
const faults = vi.hoisted(() => ({ failAfterBytes: -1 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof actual.open>) => {
    const handle = await actual.open(...args);
    if (faults.failAfterBytes >= 0 && args[1] === 'wx') {
      const limit = faults.failAfterBytes;
      const realWrite = handle.write.bind(handle);
      let written = 0;
      Object.defineProperty(handle, 'write', {
        value: async (buffer: Uint8Array, offset: number, length: number) => {
          if (written + length > limit) {
            if (limit > written) await realWrite(buffer, offset, limit - written);
            written = limit;
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          const result = await realWrite(buffer, offset, length);
          written += result.bytesWritten;
          return result;
        },
      });
    }
    return handle;
  };
  return { ...actual, open };
});

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'npy');


const root = temporaryDirectory('model');
let dirCount = 0;
/** A fresh empty directory per test. */
const freshDir = (): string => {
  const dir = join(root, `t${dirCount++}`);
  mkdirSync(dir);
  return dir;
};

beforeEach(() => {
  faults.failAfterBytes = -1;
});

function caught(f: () => unknown): KmfitError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(KmfitError);
    return err as KmfitError;
  }
  throw new Error('expected a KmfitError, but nothing was thrown');
}

async function caughtAsync(f: () => Promise<unknown>): Promise<KmfitError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(KmfitError);
    return err as KmfitError;
  }
  throw new Error('expected a KmfitError, but nothing was thrown');
}

const bitsOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function sampleContents(): ModelFileContents {
  const n = 7;
  const d = 5;
  const l = 3;
  const centers = new Float32Array(n * d);
  for (let i = 0; i < centers.length; i++) centers[i] = Math.fround(Math.sin(i + 1) * 10);
  // Values that catch lossy round trips: -0, NaN with a payload, a subnormal, the extremes.
  centers[0] = -0;
  new Uint32Array(centers.buffer)[1] = 0x7fc12345;
  centers[2] = 1e-45;
  centers[3] = 3.4028234663852886e38;
  const weights = new Float32Array(n * l).map((_, i) => (i - 10) / 7);
  return {
    header: {
      kind: 'classification',
      kernel: { name: 'gaussian', bandwidth: 5.5 },
      classes: ['cat', 'dog', 'émeu'],
      trainedAt: '2024-01-01T00:00:00Z',
      skipped: undefined,
    },
    arrays: {
      centers: { data: centers, shape: [n, d] },
      weights: { data: weights, shape: [n, l] },
      scale: { data: new Float64Array([1 / 3, Math.PI]), shape: [2] },
      labels: { data: new Int32Array([0, 1, 2, 1, 0, 2, 1]), shape: [n] },
      mask: { data: new Uint8Array([1, 0, 1]), shape: [3] },
      bias: { data: new Float64Array([0.25]), shape: [] },
    },
  };
}

/** A zip with a hand-made kmfit.json and optional members. */
function craft(json: string, members: Record<string, Uint8Array> = {}): Uint8Array {
  return writeNpz({ 'kmfit.json': new TextEncoder().encode(json), ...members });
}

describe('model file round trip', () => {
  it('decodes to bit-identical arrays and the same header, with format and formatVersion added', () => {
    const contents = sampleContents();
    const decoded = decodeModelFile(encodeModelFile(contents), 'mem.kmfit');
    expect(decoded.header).toEqual({
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      kind: 'classification',
      kernel: { name: 'gaussian', bandwidth: 5.5 },
      classes: ['cat', 'dog', 'émeu'],
      trainedAt: '2024-01-01T00:00:00Z',
    });
    expect(Object.keys(decoded.arrays)).toEqual(Object.keys(contents.arrays));
    for (const [name, original] of Object.entries(contents.arrays)) {
      const back = decoded.arrays[name];
      expect(back.shape).toEqual(original.shape);
      expect(back.data.constructor).toBe(original.data.constructor);
      expect(bitsOf(back.data)).toEqual(bitsOf(original.data));
    }
  });

  it('is a zip whose first member is kmfit.json, then one .npy per array; encoding is deterministic', () => {
    const bytes = encodeModelFile(sampleContents());
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x50, 0x4b, 0x03, 0x04]);
    expect([...readNpz(bytes).keys()]).toEqual([
      'kmfit.json',
      'centers.npy',
      'weights.npy',
      'scale.npy',
      'labels.npy',
      'mask.npy',
      'bias.npy',
    ]);
    const json = JSON.parse(new TextDecoder().decode(readNpz(bytes).get('kmfit.json')));
    expect(Object.keys(json).slice(0, 2)).toEqual(['format', 'formatVersion']);
    expect(encodeModelFile(sampleContents())).toEqual(bytes);
  });

  it('sets format and formatVersion itself, whatever the header says', () => {
    const contents = { header: { format: 'other', formatVersion: 99, a: 1 }, arrays: {} };
    const decoded = decodeModelFile(encodeModelFile(contents), 'm');
    expect(decoded.header).toEqual({ format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, a: 1 });
    expect(decoded.arrays).toEqual({});
  });

  it('writes and reads a file, leaving nothing else in the directory; overwrites a previous model', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.kmfit');
    await writeModelFile(path, { header: { first: true }, arrays: {} });
    const contents = sampleContents();
    await writeModelFile(path, contents);
    expect(readdirSync(dir)).toEqual(['model.kmfit']);
    const decoded = await readModelFile(path);
    expect(decoded.header.first).toBeUndefined();
    expect(decoded.header.kind).toBe('classification');
    expect(bitsOf(decoded.arrays.centers.data)).toEqual(bitsOf(contents.arrays.centers.data));
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeModelFile(contents));
  });

  it('ignores members other than kmfit.json and .npy arrays', () => {
    const bytes = craft(JSON.stringify({ format: MODEL_FORMAT, formatVersion: 1 }), {
      'x.npy': encodeNpy({ data: new Float32Array([1, 2]), shape: [2] }),
      'README.txt': new TextEncoder().encode('hello'),
    });
    const decoded = decodeModelFile(bytes, 'm');
    expect(Object.keys(decoded.arrays)).toEqual(['x']);
  });

  itNumpy('numpy reads the saved model: np.load, the centers array and json.loads of kmfit.json', async () => {
    const path = join(freshDir(), 'model.kmfit');
    const contents = sampleContents();
    await writeModelFile(path, contents);
    const script = [
      'import json, sys, numpy as np',
      'z = np.load(sys.argv[1])',
      'c = z["centers"]',
      'print(json.dumps({"files": z.files, "dtype": c.dtype.str, "shape": list(c.shape),',
      '  "bits": c.view(np.uint32).ravel().tolist(), "header": json.loads(z["kmfit.json"]),',
      '  "labels": z["labels"].tolist(), "bias": float(z["bias"])}))',
    ].join('\n');
    const out = runPython(script, path) as {
      files: string[];
      dtype: string;
      shape: number[];
      bits: number[];
      header: Record<string, unknown>;
      labels: number[];
      bias: number;
    };
    expect(out.files).toEqual(['kmfit.json', 'centers', 'weights', 'scale', 'labels', 'mask', 'bias']);
    expect(out.dtype).toBe('<f4');
    expect(out.shape).toEqual([7, 5]);
    expect(out.bits).toEqual(Array.from(new Uint32Array(contents.arrays.centers.data.buffer)));
    expect(out.header).toEqual({
      format: 'kmfit-model',
      formatVersion: 1,
      kind: 'classification',
      kernel: { name: 'gaussian', bandwidth: 5.5 },
      classes: ['cat', 'dog', 'émeu'],
      trainedAt: '2024-01-01T00:00:00Z',
    });
    expect(out.labels).toEqual([0, 1, 2, 1, 0, 2, 1]);
    expect(out.bias).toBe(0.25);
  });

  itNumpy('reads a model that Python recompressed with deflate (and the docs snippet runs)', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.kmfit');
    const contents = sampleContents();
    await writeModelFile(path, contents);
    const deflated = join(dir, 'deflated.kmfit');
    const script = [
      'import json, sys, zipfile, numpy as np',
      'src, dst = sys.argv[1], sys.argv[2]',
      'with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:',
      '    for name in zin.namelist():',
      '        zout.writestr(name, zin.read(name))',
      'with np.load(dst) as z:',
      '    header = json.loads(z["kmfit.json"])',
      '    assert header["format"] == "kmfit-model" and header["formatVersion"] <= 1',
      '    centers = z["centers"]',
      '    weights = z["weights"]',
      '    print(json.dumps({"files": z.files, "centers": list(centers.shape), "weights": list(weights.shape)}))',
    ].join('\n');
    expect(runPython(script, path, deflated)).toEqual({
      files: ['kmfit.json', 'centers', 'weights', 'scale', 'labels', 'mask', 'bias'],
      centers: [7, 5],
      weights: [7, 3],
    });
    const decoded = await readModelFile(deflated);
    expect(bitsOf(decoded.arrays.centers.data)).toEqual(bitsOf(contents.arrays.centers.data));
    expect(decoded.header.classes).toEqual(['cat', 'dog', 'émeu']);
  });
});

describe('damaged and foreign files', () => {
  it('a cut at any byte, down to an empty file, is MODEL_FILE_TRUNCATED', () => {
    const bytes = encodeModelFile(sampleContents());
    for (let cut = 0; cut < bytes.length; cut++) {
      const err = caught(() => decodeModelFile(bytes.subarray(0, cut), 'cut.kmfit'));
      expect(err.code, `cut at ${cut} of ${bytes.length}`).toBe('MODEL_FILE_TRUNCATED');
      expect(err.message).toContain('cut.kmfit is damaged or cut short');
      expect(err.message).toContain('re-save the model, or re-train it');
    }
    expect(caught(() => decodeModelFile(new Uint8Array(), 'empty.kmfit')).message).toContain('the file is empty');
  });

  it('a flipped byte anywhere in array data fails the CRC when the array is read: MODEL_FILE_TRUNCATED', () => {
    const bytes = encodeModelFile(sampleContents());
    const members = readNpz(bytes);
    const centers = members.get('centers.npy') ?? new Uint8Array();
    const at = centers.byteOffset + centers.length - 3;
    const flipped = bytes.slice();
    flipped[at] ^= 0x10;
    // Arrays are decoded when read: the header decodes, reading the arrays throws.
    const decoded = decodeModelFile(flipped, 'flip.kmfit');
    expect(decoded.header.format).toBe(MODEL_FORMAT);
    const err = caught(() => Object.values(decoded.arrays));
    expect(err.code).toBe('MODEL_FILE_TRUNCATED');
    expect(err.message).toContain('CRC-32');
    expect(err.message).toContain('centers.npy');
  });

  it('a zip without kmfit.json is MODEL_FILE_FOREIGN (a plain .npz; numpy’s own savez)', () => {
    const npz = writeNpz({ 'a.npy': encodeNpy({ data: new Float32Array(3), shape: [3] }) });
    const err = caught(() => decodeModelFile(npz, 'arrays.npz'));
    expect(err.code).toBe('MODEL_FILE_FOREIGN');
    expect(err.message).toBe(
      'arrays.npz is not a kmfit model file (it is a NumPy .npz archive of arrays ("a.npy") without a kmfit.json member); ' +
        'models are written by model.save() / kmfit --save',
    );
    const savez = new Uint8Array(readFileSync(join(FIXTURES, 'savez_compressed.npz')));
    expect(caught(() => decodeModelFile(savez, 'savez.npz')).code).toBe('MODEL_FILE_FOREIGN');
    const other = writeNpz({ 'doc.xml': new TextEncoder().encode('<x/>') });
    const e2 = caught(() => decodeModelFile(other, 'doc.zip'));
    expect(e2.code).toBe('MODEL_FILE_FOREIGN');
    expect(e2.message).toContain('a zip archive without a kmfit.json member (it holds "doc.xml")');
    expect(caught(() => decodeModelFile(writeNpz({}), 'empty.zip')).code).toBe('MODEL_FILE_FOREIGN');
  });

  it('a kmfit.json naming another format is MODEL_FILE_FOREIGN', () => {
    const err = caught(() => decodeModelFile(craft('{"format": "other-tool", "formatVersion": 1}'), 'o.zip'));
    expect(err.code).toBe('MODEL_FILE_FOREIGN');
    expect(err.message).toContain('format "other-tool", not "kmfit-model"');
    expect(caught(() => decodeModelFile(craft('{"formatVersion": 1}'), 'o.zip')).message).toContain('(missing)');
  });

  it('non-zip files are MODEL_FILE_FOREIGN, saying what they look like', () => {
    const cases: [string, Uint8Array, string][] = [
      ['image.png', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13), 'it is a PNG image'],
      ['notes.txt', new TextEncoder().encode('x,y\n1,2\n'), 'it looks like a text file starting "x,y\\n1,2\\n"'],
      ['array.npy', encodeNpy({ data: new Float32Array(4), shape: [4] }), 'it is a single NumPy .npy array'],
      ['model.gz', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0), 'it is gzip-compressed data'],
      ['blob.bin', Uint8Array.of(0, 1, 2, 3, 0xfe, 0xff, 6, 7, 8), 'it starts with the bytes 00 01 02 03 fe ff 06 07, not a zip signature'],
      ['pk.txt', new TextEncoder().encode('PK is not enough'), 'it looks like a text file starting "PK is not enough"'],
    ];
    for (const [name, bytes, what] of cases) {
      const err = caught(() => decodeModelFile(bytes, name));
      expect(err.code, name).toBe('MODEL_FILE_FOREIGN');
      expect(err.message).toBe(`${name} is not a kmfit model file (${what}); models are written by model.save() / kmfit --save`);
    }
    // ...but a proper prefix of the zip signature is what a cut model file starts with.
    for (const prefix of ['P', 'PK', 'PK\x03']) {
      expect(caught(() => decodeModelFile(new TextEncoder().encode(prefix), 'short')).code).toBe('MODEL_FILE_TRUNCATED');
    }
  });

  it('a newer format version is MODEL_FILE_VERSION', () => {
    const bytes = craft(JSON.stringify({ format: MODEL_FORMAT, formatVersion: 2, somethingNew: [1] }), {
      'x.npy': new TextEncoder().encode('not even an npy: version 2 may encode arrays differently'),
    });
    const err = caught(() => decodeModelFile(bytes, 'new.kmfit'));
    expect(err.code).toBe('MODEL_FILE_VERSION');
    expect(err.message).toBe('new.kmfit was written by a newer kmfit (format 2); this kmfit reads format ≤ 1: upgrade kmfit');
  });

  it('a broken kmfit.json (bad JSON, not an object, a bad formatVersion) is MODEL_FILE_TRUNCATED', () => {
    const cases: [string, string][] = [
      ['{"format": "kmfit-model", "formatVersion": 1', 'is not valid JSON'],
      ['[1, 2]', 'is not a JSON object'],
      ['{"format": "kmfit-model", "formatVersion": "1"}', 'formatVersion is "1", not a positive integer'],
      ['{"format": "kmfit-model"}', 'formatVersion is missing'],
      ['{"format": "kmfit-model", "formatVersion": 0.5}', 'formatVersion is 0.5'],
    ];
    for (const [json, fragment] of cases) {
      const err = caught(() => decodeModelFile(craft(json), 'h.kmfit'));
      expect(err.code, json).toBe('MODEL_FILE_TRUNCATED');
      expect(err.message).toContain(fragment);
    }
    const latin1 = writeNpz({ 'kmfit.json': Uint8Array.of(0x7b, 0xe9, 0x7d) });
    expect(caught(() => decodeModelFile(latin1, 'h.kmfit')).code).toBe('MODEL_FILE_TRUNCATED');
  });

  it('an array member shorter or longer than its .npy header says is MODEL_FILE_TRUNCATED (when read)', () => {
    const decodeArrays = (bytes: Uint8Array, source: string) => Object.values(decodeModelFile(bytes, source).arrays);
    const npy = encodeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [4] });
    const json = JSON.stringify({ format: MODEL_FORMAT, formatVersion: 1 });
    const short = caught(() => decodeArrays(craft(json, { 'w.npy': npy.subarray(0, npy.length - 4) }), 's.kmfit'));
    expect(short.code).toBe('MODEL_FILE_TRUNCATED');
    expect(short.message).toContain('member w.npy: the data is cut short');
    const long = new Uint8Array(npy.length + 2);
    long.set(npy);
    const extra = caught(() => decodeArrays(craft(json, { 'w.npy': long }), 'l.kmfit'));
    expect(extra.code).toBe('MODEL_FILE_TRUNCATED');
    expect(extra.message).toContain('member w.npy has 2 bytes after its array data');
    const notNpy = caught(() => decodeArrays(craft(json, { 'w.npy': new TextEncoder().encode('hello') }), 'n.kmfit'));
    expect(notNpy.code).toBe('MODEL_FILE_TRUNCATED');
  });

  it('readModelFile: a missing path is FILE_NOT_FOUND, a directory IO_ERROR', async () => {
    const dir = freshDir();
    const missing = await caughtAsync(() => readModelFile(join(dir, 'nope.kmfit')));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toContain('nope.kmfit: no such file');
    expect((await caughtAsync(() => readModelFile(join(dir, 'no-dir', 'm.kmfit')))).code).toBe('FILE_NOT_FOUND');
    const isDir = await caughtAsync(() => readModelFile(dir));
    expect(isDir.code).toBe('IO_ERROR');
    expect(isDir.message).toContain('is a directory');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    expect((await caughtAsync(() => readModelFile(text))).message).toContain(`${text} is not a kmfit model file`);
  });
});

describe('encoding errors', () => {
  it('refuses header values JSON cannot hold, bad array names and mismatched shapes', () => {
    const base = sampleContents();
    expect(caught(() => encodeModelFile({ header: { x: [1, NaN] }, arrays: {} })).message).toContain('header.x[1] is NaN');
    expect(caught(() => encodeModelFile({ header: { x: 1n }, arrays: {} })).message).toContain('header.x is a bigint');
    expect(caught(() => encodeModelFile({ header: { d: new Date(0) }, arrays: {} })).message).toContain('header.d is Date');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(caught(() => encodeModelFile({ header: cyclic, arrays: {} })).message).toContain('cycle');
    for (const name of ['', '../x', 'a/b', '.hidden', 'sp ace']) {
      const err = caught(() => encodeModelFile({ header: {}, arrays: { [name]: base.arrays.mask } }));
      expect(err.code).toBe('IO_ERROR');
      expect(err.message).toContain('is not allowed');
    }
    const shape = caught(() => encodeModelFile({ header: {}, arrays: { w: { data: new Float32Array(5), shape: [2, 2] } } }));
    expect(shape.code).toBe('INVALID_SHAPE');
    expect(shape.message).toContain('array "w"');
  });
});

describe('atomic writes', () => {
  it('into a directory that does not exist: FILE_NOT_FOUND, nothing created', async () => {
    const dir = freshDir();
    const err = await caughtAsync(() => writeModelFile(join(dir, 'missing', 'm.kmfit'), sampleContents()));
    expect(err.code).toBe('FILE_NOT_FOUND');
    expect(err.message).toContain('does not exist');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('over a path that is a directory: IO_ERROR, no temporary file left', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'model.kmfit'));
    const err = await caughtAsync(() => writeModelFile(join(dir, 'model.kmfit'), sampleContents()));
    expect(err.code).toBe('IO_ERROR');
    expect(err.message).toContain('is a directory');
    expect(readdirSync(dir)).toEqual(['model.kmfit']);
    expect(readdirSync(join(dir, 'model.kmfit'))).toEqual([]);
  });

  it('replacing a file keeps its permission bits', async () => {
    const path = join(freshDir(), 'private.kmfit');
    await writeModelFile(path, { header: {}, arrays: {} });
    chmodSync(path, 0o600);
    await writeModelFile(path, sampleContents());
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a write that fails midway (disk full) leaves the previous file intact and no temporary', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.kmfit');
    await writeModelFile(path, { header: { version: 'old' }, arrays: {} });
    const before = readFileSync(path);
    for (const limit of [0, 100, 1000]) {
      faults.failAfterBytes = limit;
      const err = await caughtAsync(() => writeModelFile(path, sampleContents()));
      expect(err.code).toBe('IO_ERROR');
      expect(err.message).toContain('the disk is full');
      expect(readdirSync(dir)).toEqual(['model.kmfit']);
      expect(readFileSync(path)).toEqual(before);
    }
    faults.failAfterBytes = -1;
    expect((await readModelFile(path)).header.version).toBe('old');
  });
});
