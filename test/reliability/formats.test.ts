/**
 * Files from earlier kmfits keep working: one committed file of each released format version
 * (test/fixtures/formats/, written by generate.ts there) loads and predicts its independently
 * computed scores, or resumes and converges; additions a newer writer may make are ignored; a
 * newer format version is refused with MODEL_FILE_VERSION. And a fuzz: damaged or edited
 * checkpoints are read, and resumed, either cleanly or with one KmfitError — never another error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import { readCheckpoint } from '../../src/checkpoint/file.js';
import { KmfitError } from '../../src/errors.js';
import { fit, loadModel } from '../../src/index.js';
import { CHECKPOINT_FILE, MODEL_FILE, decodeModelFile, encodeModelFile, type FileKind, type ModelFileContents } from '../../src/io/modelFile.js';
import { CHECKPOINT_AFTER, CHECKPOINT_OPTIONS, checkpointProblem, modelProblem } from '../fixtures/formats/problems.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { exactInterpolant, lcg, relativeError } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const fixtures = path.resolve(__dirname, '../fixtures/formats');
const dir = temporaryDirectory('formats');
/** Every released version of each format; add the new one here when a version is released. */
const MODEL_VERSIONS = [1];
const CHECKPOINT_VERSIONS = [1];

const { X, Y, Xv, Yv } = checkpointProblem();
const validation = { X: Xv, y: Yv };

/** A fixture's bytes. (A Node Buffer's slice() is a view, which the .npy decoder does not expect: copy.) */
function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(fixtures, name)));
}

/** The decoded file as contents that encodeModelFile writes back (arrays by name, header as is). */
function contentsOf(bytes: Uint8Array, kind: FileKind): ModelFileContents {
  const decoded = decodeModelFile(bytes, 'fixture', kind);
  const arrays: ModelFileContents['arrays'] = {};
  for (const [name, array] of Object.entries(decoded.arrays)) {
    arrays[name] = { data: array.data as Float32Array, shape: array.shape };
  }
  return { header: { ...decoded.header }, arrays };
}

function writeVariant(name: string, contents: ModelFileContents, kind: FileKind, version = kind.version): string {
  const file = path.join(dir, name);
  const bytes = encodeModelFile(contents, { ...kind, version });
  writeFileSync(file, bytes);
  return file;
}

describe('model files of every released format version', () => {
  for (const version of MODEL_VERSIONS) {
    it(`version ${version}: loads, predicts the scores computed from its arrays, and the labels`, async () => {
      const model = await loadModel(path.join(fixtures, `model-v${version}.kmfit`));
      const expected = JSON.parse(readFileSync(path.join(fixtures, `model-v${version}.expected.json`), 'utf8'));
      const scores = await model.predictScores(expected.query);
      expect(relativeError(scores.data, expected.scores.flat())).toBeLessThan(1e-5);
      const labels = expected.scores.map((row: number[]) => expected.classes[row.indexOf(Math.max(...row))]);
      expect(await model.predict(expected.query)).toEqual(labels);
      // The fixture's data still says what the model was trained on.
      const { X: trainX, y } = modelProblem();
      expect(await model.score(trainX, y)).toBeGreaterThan(0.9);
    });
  }
});

describe('checkpoints of every released format version', () => {
  for (const version of CHECKPOINT_VERSIONS) {
    it(`version ${version}: resumes where it was saved and converges to K⁻¹Y`, async () => {
      const file = path.join(fixtures, `checkpoint-v${version}.checkpoint`);
      const saved = await readCheckpoint(file);
      expect(saved.state.totalIterations).toBe(CHECKPOINT_AFTER);
      const model = await fit(X, Y, { resumeFrom: file, validation, backend: 'js' });
      expect(model.history).toHaveLength(CHECKPOINT_OPTIONS.epochs);
      expect(model.history.slice(0, saved.state.epochsDone)).toEqual(saved.state.history);
      const kernel = makeKernel(chooseKernel(CHECKPOINT_OPTIONS.kernel), CHECKPOINT_OPTIONS.bandwidth);
      const exact = exactInterpolant(kernel.value, X, Y, Xv).flat();
      expect(relativeError((await model.predictScores(Xv)).data, exact)).toBeLessThan(1e-2);
    });
  }
});

describe('what a newer kmfit may write', () => {
  it('additions (header keys, arrays, members) to a file of this version are ignored', async () => {
    const model = contentsOf(fixtureBytes(`model-v${MODEL_FILE.version}.kmfit`), MODEL_FILE);
    model.header.futureKey = { anything: [1, 2] };
    model.arrays.future_array = { data: new Float32Array(3), shape: [3] };
    expect((await loadModel(writeVariant('added.kmfit', model, MODEL_FILE))).plan.n).toBe(40);

    const checkpoint = contentsOf(fixtureBytes(`checkpoint-v${CHECKPOINT_FILE.version}.checkpoint`), CHECKPOINT_FILE);
    checkpoint.header.futureKey = 'ignored';
    (checkpoint.header.state as Record<string, unknown>).futureCounter = 7;
    checkpoint.arrays.future_array = { data: new Int32Array(2), shape: [2] };
    const resumed = await fit(X, Y, { resumeFrom: writeVariant('added.checkpoint', checkpoint, CHECKPOINT_FILE), validation, backend: 'js' });
    expect(resumed.history).toHaveLength(CHECKPOINT_OPTIONS.epochs);
  });

  it('a newer format version is refused, naming it and saying to upgrade', async () => {
    const model = contentsOf(fixtureBytes(`model-v${MODEL_FILE.version}.kmfit`), MODEL_FILE);
    const newerModel = writeVariant('newer.kmfit', model, MODEL_FILE, MODEL_FILE.version + 1);
    expect(await asyncErrorOf(loadModel(newerModel), 'MODEL_FILE_VERSION')).toContain('upgrade kmfit');
    const checkpoint = contentsOf(fixtureBytes(`checkpoint-v${CHECKPOINT_FILE.version}.checkpoint`), CHECKPOINT_FILE);
    const newer = writeVariant('newer.checkpoint', checkpoint, CHECKPOINT_FILE, CHECKPOINT_FILE.version + 1);
    expect(await asyncErrorOf(fit(X, Y, { resumeFrom: newer, validation }), 'MODEL_FILE_VERSION')).toContain(`format ${CHECKPOINT_FILE.version + 1}`);
  });
});

/** A JSON value of another kind than `value`, or an edge value of the same kind. */
function otherValue(value: unknown, next: () => number): unknown {
  const choices: unknown[] = [null, -1, 0, 1e300, 2.5, 'text', true, [], {}, [1, 'a'], -0.5, 2 ** 40];
  if (typeof value === 'number') choices.push(value + 1, -value, value * 1000, Math.floor(value / 2));
  return choices[Math.floor(next() * choices.length)];
}

/** Every path to a value inside a JSON object. */
function leaves(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => leaves((value as Record<string | number, unknown>)[key], [...prefix, key]))];
}

function mutateCheckpoint(original: ModelFileContents, next: () => number): ModelFileContents {
  const header = structuredClone(original.header);
  const arrays = { ...original.arrays };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  switch (Math.floor(next() * 4)) {
    case 0: {
      // change a header value
      const target = pick(leaves(header).filter((p) => p.length > 0));
      let parent = header as Record<string | number, unknown>;
      for (const key of target.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      parent[target.at(-1)!] = otherValue(parent[target.at(-1)!], next);
      break;
    }
    case 1: {
      // drop a header key or an array
      if (next() < 0.5) {
        const target = pick(leaves(header).filter((p) => p.length > 0 && typeof p.at(-1) === 'string'));
        let parent = header as Record<string, unknown>;
        for (const key of target.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
        delete parent[target.at(-1) as string];
      } else {
        delete arrays[pick(Object.keys(arrays))];
      }
      break;
    }
    case 2: {
      // an array of another dtype or shape
      const name = pick(Object.keys(arrays));
      const { data, shape } = arrays[name];
      const shorter = Math.max(0, data.length - 1 - Math.floor(next() * 3));
      arrays[name] = next() < 0.5 ? { data: Float64Array.from(data), shape } : { data: data.slice(0, shorter), shape: [shorter] };
      break;
    }
    default: {
      // values inside an array: an out-of-range index, NaN weights, a garbled random state
      const name = pick(Object.keys(arrays));
      const copy = arrays[name].data.slice();
      const at = Math.floor(next() * copy.length);
      copy[at] = pick([-1, 1e9, Number.NaN, 2 ** 31 - 1, 0]);
      arrays[name] = { data: copy, shape: arrays[name].shape };
    }
  }
  return { header, arrays };
}

describe('fuzz: edited and damaged checkpoints', () => {
  it('read and resume either cleanly or with one KmfitError', async () => {
    const bytes = fixtureBytes(`checkpoint-v${CHECKPOINT_FILE.version}.checkpoint`);
    const original = contentsOf(bytes, CHECKPOINT_FILE);
    const next = lcg(77);
    const CASES = 600;
    let refused = 0;
    let resumed = 0;
    const unexpected: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const file = path.join(dir, `fuzz-${i % 8}.checkpoint`);
      if (i % 4 === 3) {
        writeFileSync(file, bytes.subarray(0, Math.floor(next() * bytes.length))); // cut short
      } else {
        writeFileSync(file, encodeModelFile(mutateCheckpoint(original, next), CHECKPOINT_FILE));
      }
      try {
        // A short run: resuming is checked, not the training to the end.
        const model = await fit(X, Y, { resumeFrom: file, validation, epochs: 3, backend: 'js' });
        expect(model.parts.weights.every(Number.isFinite) || model.plan.stepSizeHalvings !== undefined).toBe(true);
        resumed++;
      } catch (error) {
        if (error instanceof KmfitError) refused++;
        else unexpected.push(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
    expect(unexpected.slice(0, 3)).toEqual([]);
    expect(refused + resumed).toBe(CASES);
    expect(refused).toBeGreaterThan(CASES / 2);
  });
});
