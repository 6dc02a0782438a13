/**
 * Model files checked as strictly as checkpoints: edited or damaged model files (seeded fuzz over
 * the committed version-1 fixture) are refused by loadModel with one KmfitError every time — never
 * a TypeError, never a model that predicts NaN — and `kmfit info` on them exits 2 with one line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KmfitError } from '../../src/errors.js';
import { loadModel } from '../../src/index.js';
import { MODEL_FILE, decodeModelFile, encodeModelFile, type ModelFileContents } from '../../src/io/modelFile.js';
import { runMain as cli } from '../helpers/cli.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { asyncErrorOf } from '../helpers/errors.js';

const fixture = path.resolve(__dirname, '../fixtures/formats/model-v1.kmfit');
const bytes = new Uint8Array(readFileSync(fixture));
const dir = temporaryDirectory('model-files');

function original(): ModelFileContents {
  const decoded = decodeModelFile(bytes, 'fixture');
  const arrays: ModelFileContents['arrays'] = {};
  for (const [name, array] of Object.entries(decoded.arrays)) arrays[name] = { data: array.data as Float32Array, shape: array.shape };
  return { header: structuredClone(decoded.header), arrays };
}

function write(name: string, contents: ModelFileContents | Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, contents instanceof Uint8Array ? contents : encodeModelFile(contents));
  return file;
}

describe('model files checked as strictly as checkpoints', () => {
  it('the intact fixture loads and kmfit info prints it (so the refusals below are about the edits)', async () => {
    expect((await loadModel(fixture)).plan.n).toBe(40);
    const info = await cli(['info', fixture]);
    expect([info.code, info.stderr]).toEqual([0, '']);
    expect(info.stdout).toContain('40 centers × 3 features');
  });

  it('a model without kernel.bandwidth does not load (it used to, and predicted NaN)', async () => {
    const model = original();
    delete (model.header.kernel as Record<string, unknown>).bandwidth;
    const message = await asyncErrorOf(loadModel(write('no-bandwidth.kmfit', model)), 'MODEL_FILE_FOREIGN');
    expect(message).toContain('its kernel.bandwidth is undefined, not a positive number');
  });

  it('NaN weights and an unknown kernel are refused, naming the field', async () => {
    const nan = original();
    const weights = (nan.arrays.weights.data as Float32Array).slice();
    weights[7] = Number.NaN;
    nan.arrays.weights = { data: weights, shape: nan.arrays.weights.shape };
    expect(await asyncErrorOf(loadModel(write('nan.kmfit', nan)), 'MODEL_FILE_FOREIGN')).toContain('its weights array holds NaN at element 7');
    const kernel = original();
    (kernel.header.kernel as Record<string, unknown>).name = 'toString';
    expect(await asyncErrorOf(loadModel(write('kernel.kmfit', kernel)), 'MODEL_FILE_FOREIGN')).toContain('its kernel is not usable');
  });

  it.each([
    ['an empty stepSizeHalvings', (plan: Record<string, unknown>) => (plan.stepSizeHalvings = []), 'plan.stepSizeHalvings is an empty list'],
    ['a string for λ_1', (plan: Record<string, unknown>) => (plan.lambda1 = 'big'), 'plan.lambda1 is "big", not a finite number'],
    ['no setupSeconds', (plan: Record<string, unknown>) => delete plan.setupSeconds, 'plan.setupSeconds is undefined'],
    ['a plan that is a list', (_: Record<string, unknown>, model: ModelFileContents) => (model.header.plan = []), 'its plan is an array of length 0, not an object'],
  ])('kmfit info on a model with %s: exit 2, one line naming the field, nothing on stdout', async (_, edit, expected) => {
    const model = original();
    edit(model.header.plan as Record<string, unknown>, model);
    const { code, stdout, stderr } = await cli(['info', write('plan.kmfit', model)]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toHaveLength(2); // one line and its newline
    expect(stderr).toContain(expected);
  });
});

/** Header paths a model's reader need not find (optional fields, and the writer's version string). */
const OPTIONAL = /^(kmfitVersion|plan\.(device|capacityCurve|stepSizeHalvings)|history\.\d+\.(trainError|validationMse|validationError|stepSize|halvings))$/;

/** Every path to a value inside a JSON value. */
function leaves(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => leaves((value as Record<string | number, unknown>)[key], [...prefix, key]))];
}

/** A JSON value of another type than `value` (class labels may be strings or numbers: neither). */
function otherType(value: unknown, isClassLabel: boolean, pick: <T>(list: readonly T[]) => T): unknown {
  const all: unknown[] = [null, 7, 'text', true, [], {}, [1, 'a'], { a: 1 }];
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  return pick(all.filter((v) => typeOf(v) !== typeOf(value) && !(isClassLabel && (typeof v === 'number' || typeof v === 'string'))));
}

/** One edit that makes the model unusable: a used field of another type or missing, a bad array, a cut or a flipped byte. */
function damage(next: () => number): Uint8Array {
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const model = original();
  const header = model.header;
  const used = leaves(header).filter((p) => p.length > 0 && !OPTIONAL.test(p.join('.')) && p[0] !== 'format' && p[0] !== 'formatVersion');
  const parentOf = (target: (string | number)[]) => {
    let parent = header as Record<string | number, unknown>;
    for (const key of target.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    return parent;
  };
  switch (Math.floor(next() * 6)) {
    case 0: {
      const target = pick(used);
      const parent = parentOf(target);
      parent[target.at(-1)!] = otherType(parent[target.at(-1)!], target[0] === 'classes', pick);
      break;
    }
    case 1: {
      const target = pick(used);
      const parent = parentOf(target);
      if (Array.isArray(parent)) parent.splice(Number(target.at(-1)), 1); // one list item fewer
      else delete parent[target.at(-1)!];
      break;
    }
    case 2: {
      const name = pick(Object.keys(model.arrays));
      const { data, shape } = model.arrays[name];
      if (next() < 0.3) delete model.arrays[name];
      else if (next() < 0.5) model.arrays[name] = { data: Float64Array.from(data), shape };
      else model.arrays[name] = { data: data.slice(0, data.length - 1), shape: [data.length - 1] };
      break;
    }
    case 3: {
      const name = pick(Object.keys(model.arrays));
      const copy = (model.arrays[name].data as Float32Array).slice();
      copy[Math.floor(next() * copy.length)] = pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      model.arrays[name] = { data: copy, shape: model.arrays[name].shape };
      break;
    }
    case 4:
      return bytes.subarray(0, Math.floor(next() * bytes.length));
    default: {
      // A byte of kmfit.json's stored data (the first member: 30-byte header, 10-byte name): its CRC fails.
      const flipped = bytes.slice();
      const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(18, true);
      flipped[40 + Math.floor(next() * size)] ^= 1 + Math.floor(next() * 255);
      return flipped;
    }
  }
  return encodeModelFile(model, MODEL_FILE);
}

describe('fuzz: edited and damaged model files', () => {
  it('1200 of them: loadModel refuses each with one KmfitError', async () => {
    const next = lcg(1515);
    const CASES = 1200;
    const wrong: string[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const file = write(`fuzz-${i % 8}.kmfit`, damage(next));
      try {
        const model = await loadModel(file);
        wrong.push(`case ${i}: loaded (${model.plan.n} centers)`);
      } catch (error) {
        if (!(error instanceof KmfitError)) wrong.push(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
        else codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect([...codes.keys()].sort()).toEqual(['MODEL_FILE_FOREIGN', 'MODEL_FILE_TRUNCATED']);
  });
});
