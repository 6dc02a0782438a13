/**
 * Full disks and the files writes leave behind, on a real full disk (a small tmpfs, filled up):
 * periodic checkpoints that fail (ENOSPC, or EROFS on a read-only mount) are reported and training
 * goes on to the model an uninterrupted run gives; a model save that fails leaves nothing and keeps
 * the model usable (library), or says where the run can still be found (CLI); the temporaries of
 * killed writes go on the next write.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/file.js';
import { fit, loadModel, type CheckpointReport, type FitOptions, type KernelModel } from '../../src/index.js';
import { writeFileAtomic } from '../../src/io/atomicWrite.js';
import { encodeNpy } from '../../src/io/npy.js';
import { lcg } from '../helpers/data.js';
import { fillDisk, smallDisk, temporaryDirectory } from '../helpers/temporary.js';
import { runKmfit } from './helpers/process.js';
import { expectSameModel, threeClasses } from './helpers/runs.js';

const dir = temporaryDirectory('disk-test');
const DISK_BYTES = 256 * 1024; // room for several of the checkpoints and models below, once emptied
const disk = smallDisk(DISK_BYTES);
const diskPath = 'path' in disk ? disk.path : '';
const skipReason = 'unavailable' in disk ? disk.unavailable : undefined;

const { X, y } = threeClasses();
// 240 points in batches of 10: 24 iterations per epoch, 72 in all.
const OPTIONS: FitOptions = { backend: 'js', batchSize: 10, subsampleSize: 100, q: 10, epochs: 3, seed: 1 };
let reference: KernelModel;

beforeAll(async () => {
  reference = await fit(X, y, OPTIONS);
});

/** The disk's files other than the filler. */
const onDisk = () => readdirSync(diskPath).filter((name) => name !== 'filler').sort();

describe.skipIf(skipReason)(`a full disk${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('periodic checkpoints that fail are reported and training goes on; those after space is freed resume exactly', async () => {
    const filler = fillDisk(diskPath);
    const checkpoint = path.join(diskPath, 'run.checkpoint');
    const reports: CheckpointReport[] = [];
    const model = await fit(X, y, {
      ...OPTIONS,
      checkpoint: { path: checkpoint, everyIterations: 8 },
      onCheckpoint: (report) => {
        reports.push(report);
        if (reports.length === 3) rmSync(filler); // space comes back after three failures
      },
    });
    expectSameModel(model, reference);
    expect(reports.map((r) => r.error?.code)).toEqual([...Array(3).fill('IO_ERROR'), ...Array(6).fill(undefined)]);
    expect(reports[0].error!.message).toMatch(/run\.checkpoint: the disk is full/);
    expect(reports.map((r) => r.totalIterations)).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72]);
    expect(onDisk()).toEqual(['run.checkpoint']); // no temporary left by the failed writes
    expect((await readCheckpoint(checkpoint)).state.totalIterations).toBe(72);
    await model.dispose();

    // The last checkpoint written holds the whole run: resuming it for more epochs is one longer run.
    const longer = await fit(X, y, { ...OPTIONS, epochs: 4 });
    const resumed = await fit(X, y, { ...OPTIONS, epochs: 4, resumeFrom: checkpoint });
    expectSameModel(resumed, longer);
    await Promise.all([longer.dispose(), resumed.dispose()]);
    rmSync(checkpoint);
  });

  it('when every checkpoint fails, the final one too, fit still returns the model', async () => {
    const filler = fillDisk(diskPath);
    const reports: CheckpointReport[] = [];
    const model = await fit(X, y, { ...OPTIONS, checkpoint: { path: path.join(diskPath, 'never.checkpoint') }, onCheckpoint: (r) => reports.push(r) });
    expectSameModel(model, reference);
    expect(reports).toHaveLength(3); // after each epoch; the last one is also where the run stopped
    expect(reports.every((r) => r.error?.code === 'IO_ERROR')).toBe(true);
    expect(onDisk()).toEqual([]);
    await model.dispose();
    rmSync(filler);
  });

  it('a disk that refuses writes (read-only: EROFS, as EACCES is for root) is reported the same way', async () => {
    execFileSync('mount', ['-o', 'remount,ro', diskPath]);
    try {
      const reports: CheckpointReport[] = [];
      const model = await fit(X, y, { ...OPTIONS, checkpoint: { path: path.join(diskPath, 'ro.checkpoint') }, onCheckpoint: (r) => reports.push(r) });
      expectSameModel(model, reference);
      expect(reports.map((r) => r.error?.code)).toEqual(['IO_ERROR', 'IO_ERROR', 'IO_ERROR']);
      expect(reports[0].error!.message).toMatch(/ro\.checkpoint: permission denied \(EROFS/);
      await model.dispose();
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', diskPath]);
    }
    expect(onDisk()).toEqual([]);
  });

  it('a model save on a full disk rejects with IO_ERROR, leaves no file, and the model saves elsewhere', async () => {
    const filler = fillDisk(diskPath);
    const model = await fit(X, y, OPTIONS);
    await expect(model.save(path.join(diskPath, 'model.kmfit'))).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/disk is full/) });
    expect(onDisk()).toEqual([]);
    const elsewhere = path.join(dir, 'rescued.kmfit');
    await model.save(elsewhere);
    const loaded = await loadModel(elsewhere);
    expect(await loaded.predict(X)).toEqual(await model.predict(X));
    await Promise.all([model.dispose(), loaded.dispose()]);
    rmSync(filler);
  });
});

describe.skipIf(skipReason)('the kmfit command on a full disk', () => {
  const cli = path.join(dir, 'cli');
  // 300 points in batches of 10, 2 epochs: 60 iterations.
  const TRAIN = ['toy.npy', '--backend', 'js', '--batch-size', '10', '--subsample', '100', '--q', '10', '--epochs', '2', '--seed', '3'];

  beforeAll(() => {
    const next = lcg(9);
    const data = new Float32Array(300 * 5);
    for (let i = 0; i < 300; i++) {
      let sum = 0;
      for (let j = 0; j < 4; j++) sum += data[i * 5 + j] = next();
      data[i * 5 + 4] = sum > 2 ? 1 : 0;
    }
    mkdirSync(cli);
    writeFileSync(path.join(cli, 'toy.npy'), encodeNpy({ data, shape: [300, 5] }));
    const run = runKmfit(cli, [...TRAIN, '--save', 'reference.kmfit', '--quiet']);
    expect(run.stderr).toBe('');
  });

  it('the model cannot be saved: one line saying so and how to write it from the checkpoint, which resumes to the same model', async () => {
    const filler = fillDisk(diskPath);
    const checkpoint = path.join(cli, 'full.checkpoint');
    const run = runKmfit(cli, [...TRAIN, '--save', path.join(diskPath, 'full.kmfit'), '--checkpoint', checkpoint, '--quiet']);
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kmfit: the model was not saved: cannot write .*full\.kmfit: the disk is full/);
    expect(lines[0]).toContain(`The checkpoint ${checkpoint} holds the run as it ended`);
    expect(lines[0]).toContain(`kmfit resume ${checkpoint} --save OTHER/PATH.kmfit`);
    expect(onDisk()).toEqual([]);
    rmSync(filler);

    const rescue = runKmfit(cli, ['resume', checkpoint, '--save', 'rescued.kmfit', '--quiet']);
    expect(rescue.stderr).toBe('');
    expect(rescue.status).toBe(0);
    expectSameModel(await loadModel(path.join(cli, 'rescued.kmfit')), await loadModel(path.join(cli, 'reference.kmfit')));
  });

  it('the model cannot be saved after --no-checkpoint: one line that names no checkpoint, and says what to do', () => {
    const filler = fillDisk(diskPath);
    const run = runKmfit(cli, [...TRAIN, '--save', path.join(diskPath, 'lost.kmfit'), '--no-checkpoint', '--quiet']);
    rmSync(filler);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^kmfit: the model was not saved: cannot write .*lost\.kmfit: the disk is full.* No checkpoint holds the run: free some space, or train again with --save on another disk\.\n$/);
    expect(onDisk()).toEqual([]);
  });

  it('the checkpoints cannot be written: one warning, training goes on, the model is the same', async () => {
    const filler = fillDisk(diskPath);
    const run = runKmfit(cli, [...TRAIN, '--checkpoint', path.join(diskPath, 'cp.checkpoint'), '--checkpoint-every', '5', '--save', 'warned.kmfit', '--json']);
    expect(run.status).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1); // 12 failures, one warning (--quiet would hide it; --json keeps stdout for the result)
    expect(lines[0]).toMatch(/^kmfit: warning: checkpoint not written: cannot write .*cp\.checkpoint: the disk is full.*; training goes on$/);
    expect(onDisk()).toEqual([]);
    expectSameModel(await loadModel(path.join(cli, 'warned.kmfit')), await loadModel(path.join(cli, 'reference.kmfit')));
    rmSync(filler);
  });
});

describe('temporaries of atomic writes', () => {
  it('those of dead processes go on the next write to their path; those of live writers and other paths stay', async () => {
    const folder = temporaryDirectory('temporaries');
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // exited and reaped
    const stale = [`.m.kmfit.${dead}-0123abcd.tmp`, '.m.kmfit.0123456789ab.tmp', `.m.kmfit.${process.pid}-0123abcd.tmp`];
    const kept = ['.m.kmfit.1-0123abcd.tmp', `.other.kmfit.${dead}-0123abcd.tmp`, '.m.kmfit.notes.txt']; // pid 1 is always running
    for (const name of [...stale, ...kept]) writeFileSync(path.join(folder, name), 'x');
    // Two writes of the same path at once: neither takes the other's temporary for a leftover.
    await Promise.all([writeFileAtomic(path.join(folder, 'm.kmfit'), new Uint8Array(1 << 20)), writeFileAtomic(path.join(folder, 'm.kmfit'), new Uint8Array(1 << 20))]);
    expect(readdirSync(folder).sort()).toEqual([...kept, 'm.kmfit'].sort());
    expect(existsSync(path.join(folder, 'm.kmfit'))).toBe(true);
  });
});
