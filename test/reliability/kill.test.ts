/**
 * The kmfit command killed: SIGKILL in the middle of training, SIGKILL in the middle of writing a
 * checkpoint (paused there deterministically by a preloaded observer of the atomic writes), and
 * Ctrl-C, SIGTERM and SIGHUP. Each time, `kmfit resume` must finish with the model of an uninterrupted run of the same
 * command and seed, bit for bit (js backend), and the checkpoint path must never hold a broken file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/file.js';
import { loadModel } from '../../src/index.js';
import { CHECKPOINT_FILE, readModelFile } from '../../src/io/modelFile.js';
import { encodeNpy } from '../../src/io/npy.js';
import { lcg } from '../helpers/data.js';
import { expectSameModel } from './helpers/runs.js';
import { CLI, runKmfit, startKmfit } from './helpers/process.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('kill');
const file = (name: string) => path.join(dir, name);
// 1500 points in batches of 10: 150 iterations per epoch, 600 in all, a checkpoint every 10.
const TRAIN = ['toy.npy', '--backend', 'js', '--batch-size', '10', '--subsample', '300', '--q', '20', '--epochs', '4', '--seed', '5'];
const EVERY = 10;
/** After which checkpoint each SIGKILL lands (of 60). */
const KILLS = [1, 23, 47];

function tempsOf(checkpoint: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(`.${path.basename(checkpoint)}.`));
}

beforeAll(() => {
  const next = lcg(5);
  const n = 1500;
  const d = 8;
  const data = new Float32Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += data[i * (d + 1) + j] = next();
    data[i * (d + 1) + d] = sum > d / 2 ? 1 : 0;
  }
  writeFileSync(file('toy.npy'), encodeNpy({ data, shape: [n, d + 1] }));
  const reference = runKmfit(dir, [...TRAIN, '--save', 'reference.kmfit', '--quiet']);
  expect(reference.stderr).toBe('');
  expect(reference.status).toBe(0);
  expect(existsSync(file('reference.checkpoint'))).toBe(false); // not asked for, removed after the run
});

describe('SIGKILL in the middle of training', () => {
  it(`resumes to the uninterrupted model after each of ${KILLS.length} kills`, async () => {
    const reference = await loadModel(file('reference.kmfit'));
    for (const [i, after] of KILLS.entries()) {
      const checkpoint = file(`killed-${i}.checkpoint`);
      const model = `killed-${i}.kmfit`;
      const run = startKmfit(dir, [...TRAIN, '--checkpoint', checkpoint, '--checkpoint-every', String(EVERY), '--save', model, '--quiet'], checkpoint);
      await run.waitFor(new RegExp(`^kmfit-test: renamed ${after} `));
      run.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
      const saved = await readCheckpoint(checkpoint);
      expect(saved.state.totalIterations).toBeGreaterThanOrEqual(after * EVERY);
      const resumed = runKmfit(dir, ['resume', checkpoint, '--quiet']);
      expect(resumed.stderr).toBe('');
      expect(resumed.status).toBe(0);
      expectSameModel(await loadModel(file(model)), reference);
      expect(existsSync(checkpoint)).toBe(true); // asked for: kept
    }
  });
});

describe('SIGKILL while a checkpoint is being written', () => {
  async function killDuringWrite(pause: string, name: string) {
    const checkpoint = file(`${name}.checkpoint`);
    const run = startKmfit(dir, [...TRAIN, '--checkpoint', checkpoint, '--checkpoint-every', String(EVERY), '--save', `${name}.kmfit`, '--quiet'], checkpoint, pause);
    const [stage, write] = pause.split(':');
    await run.waitFor(new RegExp(`^kmfit-test: ${stage} ${write} `));
    run.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    return checkpoint;
  }

  it('after the first bytes of the temporary file: the previous checkpoint is intact and resumes', async () => {
    const checkpoint = await killDuringWrite('partial:3', 'partial');
    expect((await readCheckpoint(checkpoint)).state.totalIterations).toBe(2 * EVERY);
    const [temp] = tempsOf(checkpoint);
    await expect(readModelFile(path.join(dir, temp), CHECKPOINT_FILE)).rejects.toMatchObject({ code: 'MODEL_FILE_TRUNCATED' });
    expect(runKmfit(dir, ['resume', checkpoint, '--quiet']).status).toBe(0);
    expect(tempsOf(checkpoint)).toEqual([]); // the stale temporary was cleaned up
    expectSameModel(await loadModel(file('partial.kmfit')), await loadModel(file('reference.kmfit')));
  });

  it('written and flushed but not yet renamed: still the previous checkpoint, and it resumes', async () => {
    const checkpoint = await killDuringWrite('written:5', 'written');
    expect((await readCheckpoint(checkpoint)).state.totalIterations).toBe(4 * EVERY);
    expect(tempsOf(checkpoint)).toHaveLength(1);
    expect(runKmfit(dir, ['resume', checkpoint, '--quiet']).status).toBe(0);
    expectSameModel(await loadModel(file('written.kmfit')), await loadModel(file('reference.kmfit')));
  });

  it('during the very first checkpoint: no file at the path, and resume says so', async () => {
    const checkpoint = await killDuringWrite('partial:1', 'first');
    expect(existsSync(checkpoint)).toBe(false);
    expect(tempsOf(checkpoint)).toHaveLength(1);
    await expect(readCheckpoint(checkpoint)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

// Ctrl-C, what batch schedulers and `docker stop` send, and a closed terminal: the same stop.
describe.each([
  { signal: 'SIGINT', code: 130, note: 'interrupted: stopping after the current iteration (Ctrl-C again quits at once)' },
  { signal: 'SIGTERM', code: 143, note: 'SIGTERM received: stopping after the current iteration (a second SIGTERM quits at once)' },
  { signal: 'SIGHUP', code: 129, note: 'SIGHUP received: stopping after the current iteration (a second SIGHUP quits at once)' },
] as const)('$signal', ({ signal, code, note }) => {
  it(`stops after the current iteration, saves a checkpoint and the model so far, exits ${code}; resume finishes the run`, async () => {
    const name = signal.toLowerCase();
    const checkpoint = file(`${name}.checkpoint`); // the default one, beside the model
    const run = startKmfit(dir, [...TRAIN, '--save', `${name}.kmfit`], checkpoint);
    // The end of epoch 1: its checkpoint's first bytes. Training goes on while a checkpoint is
    // written (src/checkpoint/schedule.ts), so the signal lands in epoch 2 or, on a slow test
    // process, a later one; never after the last (the run would not be stopped).
    await run.waitFor(/^kmfit-test: partial 1 /);
    run.kill(signal);
    const { code: exitCode, signal: killedBy, stdout } = await run.exited;
    expect(killedBy).toBeNull();
    expect(exitCode).toBe(code);
    expect(stdout).toContain(note);
    expect(stdout).toContain(`checkpoint saved to ${checkpoint}`);
    expect(stdout).toContain(`saved to ${file(`${name}.kmfit`)}`);
    expect(stdout).toContain(`kmfit resume ${checkpoint}`);
    const partial = await loadModel(file(`${name}.kmfit`));
    expect(partial.stoppedBy).toBe('aborted');
    const saved = await readCheckpoint(checkpoint);
    expect(saved.state.totalIterations).toBeGreaterThan(150);
    expect(saved.state.totalIterations).toBeLessThan(600);

    const resumed = runKmfit(dir, ['resume', checkpoint]);
    expect(resumed.status).toBe(0);
    const done = saved.state.epochsDone;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(resumed.stdout).toContain(`resuming ${checkpoint}: ${done} of 4 epochs done, `);
    expectSameModel(await loadModel(file(`${name}.kmfit`)), await loadModel(file('reference.kmfit')));
    expect(existsSync(checkpoint)).toBe(false); // not asked for: removed once the run is complete
  });
});

describe('Ctrl-C with the model in another folder than the data, one with a space in its name', () => {
  it('the resume command it prints names the data file, quotes the path, and works as printed in a shell', async () => {
    mkdirSync(file("Jo's models"));
    const checkpoint = file("Jo's models/apart.checkpoint");
    const run = startKmfit(dir, [...TRAIN, '--save', "Jo's models/apart.kmfit"], checkpoint);
    await run.waitFor(/^kmfit-test: partial 1 /);
    run.kill('SIGINT');
    const { code, stdout } = await run.exited;
    expect(code).toBe(130);
    const command = `kmfit resume '${dir}/Jo'\\''s models/apart.checkpoint' --data ${file('toy.npy')}`;
    expect(stdout).toContain(`\nContinue with: ${command}\n`);
    // Pasted into a shell, with kmfit being this build.
    const resumed = spawnSync('sh', ['-c', `${process.execPath} ${CLI} ${command.slice('kmfit '.length)}`], { cwd: dir, encoding: 'utf8' });
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expectSameModel(await loadModel(file("Jo's models/apart.kmfit")), await loadModel(file('reference.kmfit')));
  });
});

describe('kmfit resume refuses what it cannot continue', () => {
  it('a model file: one line saying what it is, exit 2', () => {
    const out = runKmfit(dir, ['resume', 'reference.kmfit']);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('it is a trained kmfit model');
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });
});
