/**
 * `kmfit resume` with hand-edited checkpoints: the command line a checkpoint keeps is held to the
 * training command's own rules, and the files it names are written or read only in the
 * checkpoint's folder unless this invocation names them (--save, --data, --labels, --test); a run
 * trained with --no-save writes no model, and neither does its resume unless given --save.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/index.js';
import { CHECKPOINT_FILE, readModelFile, writeModelFile, type ModelFileContents } from '../../src/io/modelFile.js';
import { encodeNpy } from '../../src/io/npy.js';
import { runMain } from '../helpers/cli.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';
import { runKmfit } from '../reliability/helpers/process.js';
import { expectSameModel } from '../reliability/helpers/runs.js';

const root = temporaryDirectory('resume-files');
const run = path.join(root, 'run'); // the training's folder: data, checkpoint, model
const other = path.join(root, 'other'); // somewhere else
const original = path.join(run, 'run.checkpoint');
const TRAIN = ['toy.npy', '--backend', 'js', '--batch-size', '20', '--subsample', '100', '--q', '8', '--epochs', '1', '--seed', '2'];

beforeAll(() => {
  mkdirSync(run);
  mkdirSync(other);
  const next = lcg(4);
  const data = new Float32Array(200 * 4);
  for (let i = 0; i < 200; i++) {
    for (let j = 0; j < 3; j++) data[i * 4 + j] = next();
    data[i * 4 + 3] = data[i * 4] > 0.5 ? 1 : 0;
  }
  writeFileSync(path.join(run, 'toy.npy'), encodeNpy({ data, shape: [200, 4] }));
  const trained = runKmfit(run, [...TRAIN, '--checkpoint', 'run.checkpoint', '--save', 'run.kmfit', '--quiet']);
  expect(trained.stderr).toBe('');
  expect(trained.status).toBe(0);
});

/** A copy of the checkpoint at `file` with its stored arguments edited by hand. */
async function edited(file: string, edit: (args: Record<string, unknown>) => void): Promise<string> {
  const decoded = await readModelFile(original, CHECKPOINT_FILE);
  const { format: _format, formatVersion: _version, ...header } = structuredClone(decoded.header);
  edit((header.context as { args: Record<string, unknown> }).args);
  const arrays: ModelFileContents['arrays'] = {};
  for (const [name, array] of Object.entries(decoded.arrays)) arrays[name] = { data: array.data as Float32Array, shape: array.shape };
  await writeModelFile(file, { header, arrays }, CHECKPOINT_FILE);
  return file;
}

/** `kmfit resume …` run for at most 60 s: a read of a FIFO would hang it. */
function resume(...args: string[]): { status: number | null; stderr: string; line: string } {
  const out = runKmfit(root, ['resume', ...args, '--quiet', '--epochs', '2']);
  return { status: out.status, stderr: out.stderr, line: out.stderr.trim() };
}

describe('files a checkpoint names', () => {
  it('a model path outside its folder: refused with how to pass --save; the file is untouched; with --save it resumes', async () => {
    const victim = path.join(other, 'notes.txt');
    writeFileSync(victim, 'precious');
    const checkpoint = await edited(path.join(run, 'save-outside.checkpoint'), (args) => (args.save = victim));
    const refused = resume(checkpoint);
    expect(refused.status).toBe(2);
    expect(refused.line.split('\n')).toHaveLength(1);
    expect(refused.line).toBe(
      `kmfit: ${checkpoint} names its model "${victim}" outside the checkpoint's folder ${run}; kmfit resume reads and writes ` +
        `only the files there and the ones you name. Name them yourself: kmfit resume ${checkpoint} --save MODEL.kmfit`,
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readdirSync(other)).toEqual(['notes.txt']);

    const chosen = path.join(other, 'chosen.kmfit');
    const resumed = resume(checkpoint, '--save', chosen);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect((await loadModel(chosen)).history).toHaveLength(2);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('the original model path, in the checkpoint’s folder, is used as before', async () => {
    const checkpoint = await edited(path.join(run, 'same-folder.checkpoint'), (args) => (args.save = path.join(run, 'same-folder.kmfit')));
    const resumed = resume(checkpoint);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(existsSync(path.join(run, 'same-folder.kmfit'))).toBe(true);
  });

  it('data and test files outside its folder are not read (a FIFO there would hang it); named again, they are', async () => {
    const fifo = path.join(other, 'pipe.npy');
    execFileSync('mkfifo', [fifo]);
    const checkpoint = await edited(path.join(run, 'data-outside.checkpoint'), (args) => {
      args.data = fifo;
      args.test = fifo;
    });
    const refused = resume(checkpoint);
    expect(refused.status).toBe(2);
    expect(refused.line).toContain(`names its training data "${fifo}" and test file "${fifo}" outside the checkpoint's folder ${run}`);
    expect(refused.line).toContain(`kmfit resume ${checkpoint} --data ${fifo} --test ${fifo}`);

    // Named in this invocation, the real file is read (and the fingerprint checks that it is the same data).
    const dataOnly = await edited(path.join(run, 'data-named.checkpoint'), (args) => {
      args.data = fifo;
      args.save = path.join(run, 'data-named.kmfit');
    });
    const resumed = resume(dataOnly, '--data', path.join(run, 'toy.npy'));
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect((await loadModel(path.join(run, 'data-named.kmfit'))).history).toHaveLength(2);
  });

  it('a data file that is gone since: one line saying which, and how to name it where it moved; named, it resumes', async () => {
    const moved = path.join(run, 'moved.npy');
    writeFileSync(moved, readFileSync(path.join(run, 'toy.npy')));
    const checkpoint = await edited(path.join(run, 'moved.checkpoint'), (args) => {
      args.data = path.join(run, 'gone.npy');
      args.save = path.join(run, 'moved.kmfit');
    });
    const refused = resume(checkpoint);
    expect(refused.status).toBe(2);
    expect(refused.line).toBe(
      `kmfit: the training data ${path.join(run, 'gone.npy')} that ${checkpoint} was trained with is gone; if it moved, name it: kmfit resume ${checkpoint} --data NEW/PATH`,
    );
    const resumed = resume(checkpoint, '--data', moved);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(existsSync(path.join(run, 'moved.kmfit'))).toBe(true);
  });

  it('a model path that is the data file, in the same folder: refused, the data untouched', async () => {
    const toy = path.join(run, 'toy.npy');
    const before = readFileSync(toy);
    const checkpoint = await edited(path.join(run, 'save-data.checkpoint'), (args) => (args.save = toy));
    const refused = resume(checkpoint);
    expect(refused.status).toBe(2);
    expect(refused.line).toBe(`kmfit: --save ${toy} is also the data file the run reads; give the model a path of its own.`);
    expect(readFileSync(toy).equals(before)).toBe(true);
  });
});

describe('--no-save', () => {
  it('trains and reports without writing a model (its default path is not checked); its checkpoint resumes without saving, or with --save', async () => {
    const folder = temporaryDirectory('no-save');
    writeFileSync(path.join(folder, 'toy.npy'), readFileSync(path.join(run, 'toy.npy')));
    // Where the model would go is a folder: a model path that is checked would be refused.
    mkdirSync(path.join(folder, 'toy.kmfit'));
    const trained = runKmfit(folder, [...TRAIN, '--no-save', '--checkpoint', 'run.checkpoint']);
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    expect(trained.stdout).toContain(' · model not saved (--no-save)\n');
    const json = runKmfit(folder, [...TRAIN, '--no-save', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).modelPath).toBeNull();
    expect(readdirSync(folder).sort()).toEqual(['run.checkpoint', 'toy.kmfit', 'toy.npy']);
    expect(readdirSync(path.join(folder, 'toy.kmfit'))).toEqual([]);

    const again = path.join(folder, 'again.checkpoint');
    writeFileSync(again, readFileSync(path.join(folder, 'run.checkpoint')));
    const resumed = resume(path.join(folder, 'run.checkpoint'));
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['again.checkpoint', 'run.checkpoint', 'toy.kmfit', 'toy.npy']);
    const saved = resume(again, '--save', path.join(folder, 'chosen.kmfit'));
    expect(saved.stderr).toBe('');
    expect(saved.status).toBe(0);
    expect((await loadModel(path.join(folder, 'chosen.kmfit'))).history).toHaveLength(2);
  });

  it('Ctrl-C: no model is written, and the closing line says why', async () => {
    const folder = temporaryDirectory('no-save-interrupted');
    const data = path.join(folder, 'toy.npy');
    writeFileSync(data, readFileSync(path.join(run, 'toy.npy')));
    // Ctrl-C as soon as the first epoch is reported.
    const args = [data, ...TRAIN.slice(1, -4), '--epochs', '3', '--seed', '2', '--no-save', '--checkpoint', path.join(folder, 'run.checkpoint')];
    const { code, stdout: text } = await runMain(args, /epoch 1\/3/);
    expect(code, text).toBe(130);
    expect(text).toMatch(/^interrupted in epoch 2: checkpoint saved .*; the model was not saved \(--no-save\)\.$/m);
    expect(readdirSync(folder).sort()).toEqual(['run.checkpoint', 'toy.npy']);
  }, 60_000);
});

describe('--no-checkpoint', () => {
  it('writes no checkpoint, not even while it trains; Ctrl-C saves the model so far and says the run cannot be resumed', async () => {
    const folder = temporaryDirectory('no-checkpoint');
    const data = path.join(folder, 'toy.npy');
    writeFileSync(data, readFileSync(path.join(run, 'toy.npy')));
    // Where the checkpoint would go is a folder: a checkpoint path that is checked would be refused.
    mkdirSync(path.join(folder, 'toy.checkpoint'));
    const args = [data, ...TRAIN.slice(1, -4), '--epochs', '3', '--seed', '2', '--no-checkpoint'];
    const { code, stdout: text } = await runMain(args, /epoch 1\/3/);
    expect(code, text).toBe(130);
    expect(text).toMatch(/^interrupted in epoch 2: no checkpoint was written, so the run cannot be resumed; .*saved to .*toy\.kmfit/m);
    expect(readdirSync(folder).sort()).toEqual(['toy.checkpoint', 'toy.kmfit', 'toy.npy']);
    expect(readdirSync(path.join(folder, 'toy.checkpoint'))).toEqual([]);
    expect((await loadModel(path.join(folder, 'toy.kmfit'))).stoppedBy).toBe('aborted');
    // To the end: the same model as a run that checkpoints (after each epoch, then removed).
    const whole = runKmfit(folder, [...TRAIN, '--no-checkpoint', '--save', 'whole.kmfit', '--quiet']);
    expect(whole.stderr).toBe('');
    expect(whole.status).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['toy.checkpoint', 'toy.kmfit', 'toy.npy', 'whole.kmfit']);
    // Neither a model nor a checkpoint: it trains and reports, and writes nothing.
    const nothing = runKmfit(folder, [...TRAIN, '--no-checkpoint', '--no-save']);
    expect(nothing.stderr).toBe('');
    expect(nothing.status).toBe(0);
    expect(nothing.stdout).toContain(' · model not saved (--no-save)\n');
    expect(readdirSync(folder).sort()).toEqual(['toy.checkpoint', 'toy.kmfit', 'toy.npy', 'whole.kmfit']);
    const reference = runKmfit(run, [...TRAIN, '--save', 'reference.kmfit', '--quiet']);
    expect(reference.status).toBe(0);
    expectSameModel(await loadModel(path.join(folder, 'whole.kmfit')), await loadModel(path.join(run, 'reference.kmfit')));
  }, 60_000);

  it('with --checkpoint-every: one line saying the two contradict each other', () => {
    const refused = runKmfit(run, [...TRAIN, '--no-checkpoint', '--checkpoint-every', '5', '--no-save']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe('kmfit: --no-checkpoint writes no checkpoint, and --checkpoint-every asks for them: drop one of the two.\n');
  });
});

describe('the command line a checkpoint keeps is held to the training command’s rules', () => {
  const cases: [string, (args: Record<string, unknown>) => void, string][] = [
    ['an option kmfit does not have', (a) => (a.frobnicate = 1), 'unknown option --frobnicate'],
    ['a value outside the choices', (a) => (a.backend = 'nope'), '--backend nope is not one of'],
    ['a value no command line gives', (a) => (a.kernel = { name: 'gaussian' }), 'its --kernel is an object (Object), which no command line gives'],
    ['data that reads as an option', (a) => (a.data = '--save=/tmp/x.kmfit'), 'its data is "--save=/tmp/x.kmfit"'],
    ['extra words', (a) => (a._ = ['more.npy']), 'its command line has extra words'],
  ];
  it.each(cases)('%s: one line, exit 2, nothing written', async (_what, edit, message) => {
    const folder = temporaryDirectory('edited');
    const checkpoint = await edited(path.join(folder, 'edited.checkpoint'), (args) => {
      args.save = path.join(folder, 'edited.kmfit');
      edit(args);
    });
    const refused = resume(checkpoint, '--data', path.join(run, 'toy.npy'));
    expect(refused.status).toBe(2);
    expect(refused.line.split('\n')).toHaveLength(1);
    expect(refused.line).toContain(`kmfit: ${checkpoint} is not a checkpoint this kmfit can use: `);
    expect(refused.line).toContain(message);
    expect(readdirSync(folder)).toEqual(['edited.checkpoint']);
  });

  it('a value that looks like another option stays the value it is', async () => {
    const folder = temporaryDirectory('smuggled');
    const target = path.join(other, 'smuggled.kmfit');
    const checkpoint = await edited(path.join(folder, 'smuggled.checkpoint'), (args) => {
      args.save = path.join(folder, 'smuggled-model.kmfit');
      args.kernel = `--save=${target}`;
    });
    const refused = resume(checkpoint, '--data', path.join(run, 'toy.npy'));
    expect(refused.status).toBe(2);
    expect(refused.line).toContain(`"--save=${target}"`); // taken for a kernel (formula) and refused as one
    expect(existsSync(target)).toBe(false);
  });

  it('a checkpoint of kmfit 0.1, with yargs’ bookkeeping among its arguments, still resumes', async () => {
    const checkpoint = await edited(path.join(run, 'old.checkpoint'), (args) => {
      Object.assign(args, { _: [], $0: 'kmfit', batchSize: args['batch-size'], debug: false });
      args.save = path.join(run, 'old.kmfit');
    });
    const resumed = resume(checkpoint);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect((await loadModel(path.join(run, 'old.kmfit'))).history).toHaveLength(2);
  });
});
