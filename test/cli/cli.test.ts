/**
 * The `kmfit` command on files, as a user runs it (the built dist/cli/main.js, in a child process):
 * training from .npy with a test file or a seeded split, the JSON report, predict with and without
 * labels, and exit codes. The answers come from the data itself (MNIST rows and their labels).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../datasets/mnist.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import type { Matrix } from '../../src/matrix.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const dir = temporaryDirectory('cli-files');
const file = (name: string) => path.join(dir, name);

function kmfit(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
}

/** Features with the label appended as the last column, as float32 .npy. */
function writeTable(name: string, X: Matrix, y?: ArrayLike<number>): void {
  const cols = X.cols + (y ? 1 : 0);
  const data = new Float32Array(X.rows * cols);
  for (let i = 0; i < X.rows; i++) {
    data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * cols);
    if (y) data[i * cols + X.cols] = y[i];
  }
  writeFileSync(file(name), encodeNpy({ data, shape: [X.rows, cols] }));
}

/** The same rows as libsvm text: the label, then index:value (1-based) of each non-zero. */
function writeLibsvm(name: string, X: Matrix, y: ArrayLike<number>, width?: number): number {
  let widest = 0;
  const lines = Array.from({ length: X.rows }, (_, i) => {
    const pairs: string[] = [];
    X.data.subarray(i * X.cols, (i + 1) * X.cols).forEach((v, j) => v !== 0 && pairs.push(`${j + 1}:${v}`));
    widest = Math.max(widest, Number(pairs.at(-1)?.split(':')[0] ?? 0));
    // An explicit zero at index `width` on the first line fixes the width there.
    if (i === 0 && width !== undefined) pairs.push(`${width}:0`);
    return [String(y[i]), ...pairs].join(' ');
  });
  writeFileSync(file(name), `# ${name}\n${lines.join('\n')}\n`);
  return widest;
}

let testLabels: ArrayLike<number>;
let testWidest = 0;

beforeAll(async () => {
  const mnist = await loadMnist({ trainSize: 1000, testSize: 300 });
  writeTable('digits.npy', mnist.train.X, mnist.train.y);
  writeTable('digits-test.npy', mnist.test.X, mnist.test.y);
  writeTable('digits-test-features.npy', mnist.test.X);
  writeLibsvm('digits.svm', mnist.train.X, mnist.train.y, 784);
  testWidest = writeLibsvm('digits-test.svm', mnist.test.X, mnist.test.y);
  testLabels = mnist.test.y;
});

let npyReport: { test: unknown; history: unknown[]; plan: { backend: string; device: string; deviceBatchLimit: number; deviceBatchLimitSource: string } };
let npyLabels: number[];

describe('kmfit on files', () => {
  it('trains on a .npy with a test file; --json prints only the report; the model lands next to the data', () => {
    const out = kmfit('digits.npy', '--test', 'digits-test.npy', '--epochs', '2', '--json');
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const report = JSON.parse(out.stdout);
    npyReport = report;
    expect(report.plan.n).toBe(1000);
    expect(report.plan.d).toBe(784);
    expect(report.plan.outputs).toBe(10);
    expect(report.history).toHaveLength(2);
    expect(Object.keys(report.history[0]).sort()).toEqual(['elapsedSeconds', 'epoch', 'iterations', 'processSeconds', 'seconds', 'trainError', 'trainMse', 'valError', 'valMse']);
    // processSeconds counts from the process's start, elapsedSeconds from fit()'s: later, by the loading in between.
    for (const h of report.history) expect(h.processSeconds).toBeGreaterThan(h.elapsedSeconds);
    expect(report.history[1].processSeconds - report.history[0].processSeconds).toBeCloseTo(report.history[1].elapsedSeconds - report.history[0].elapsedSeconds, 1);
    expect(report.test.error).toBeLessThan(0.15);
    expect(report.test.error).toBe(report.history[1].valError);
    expect(report.modelPath).toBe(file('digits.kmfit'));
    expect(existsSync(file('digits.kmfit'))).toBe(true);
  });

  it("--json's history has model.history's figures: with the epochs left out, each epoch's residual, and the rule that stopped it", () => {
    const out = kmfit('digits.npy', '--json', '--no-save');
    expect(out.status).toBe(0);
    const report = JSON.parse(out.stdout);
    const residuals: number[] = report.history.map((h: { residual: number }) => h.residual);
    expect(residuals.every((r) => r > 0 && r < 1)).toBe(true);
    // The rule (plan.stopping): the last residual is the first at or below it, unless the cap came first.
    const rule: number = report.plan.stopping.residual;
    expect(residuals.slice(0, -1).every((r) => r > rule)).toBe(true);
    expect(report.stoppedBy === 'converged' ? residuals.at(-1)! <= rule : residuals.length === report.plan.epochs).toBe(true);
  });

  it('predict: labels from a file with its label column scored; the same labels without it', () => {
    const scored = kmfit('predict', 'digits.kmfit', 'digits-test.npy', '--out', 'predicted.npy');
    expect(scored.status).toBe(0);
    expect(scored.stdout).toMatch(/300 rows of .* · error \d+\.\d+ % · predictions written to predicted\.npy/);
    const predicted = decodeNpy(new Uint8Array(readFileSync(file('predicted.npy'))));
    expect(predicted.shape).toEqual([300]);
    const labels = Array.from(predicted.data as Float64Array);
    npyLabels = labels;
    let wrong = 0;
    labels.forEach((label, i) => (wrong += label === testLabels[i] ? 0 : 1));
    expect(scored.stdout).toContain(`error ${((100 * wrong) / 300).toFixed(2)} %`);

    const plain = kmfit('predict', 'digits.kmfit', 'digits-test-features.npy');
    expect(plain.status).toBe(0);
    expect(plain.stdout.trim().split('\n').map(Number)).toEqual(labels);
    expect(plain.stderr).not.toContain('error'); // no labels, no score
    expect(plain.stdout + plain.stderr).not.toContain('\x1b'); // no control characters off a terminal

    const csv = kmfit('predict', 'digits.kmfit', 'digits-test.npy', '--out', 'predicted.csv');
    expect(csv.status).toBe(0);
    expect(readFileSync(file('predicted.csv'), 'utf8').trim().split('\n')).toEqual(['prediction', ...labels.map(String)]);
  });

  it('CSV with a header and string labels: trains by label name, predicts the strings', () => {
    const rows = Array.from({ length: 400 }, (_, i) => {
      const [x, y] = [((i * 37) % 101) / 100, ((i * 59) % 103) / 102];
      return `${x},${y},${(x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1 ? 'inside' : '"out, side"'}`;
    });
    writeFileSync(file('circle.csv'), ['x,y,where', ...rows.slice(0, 300)].join('\n'));
    writeFileSync(file('circle-test.csv'), ['x,y,where', ...rows.slice(300)].join('\n'));
    const trained = kmfit('circle.csv', '--label', 'where', '--test', 'circle-test.csv', '--epochs', '20', '--json');
    expect(trained.status).toBe(0);
    expect(JSON.parse(trained.stdout).test.error).toBeLessThan(0.1);
    const predicted = kmfit('predict', 'circle.kmfit', 'circle-test.csv', '--out', 'circle-predictions.csv');
    expect(predicted.status).toBe(0);
    const lines = readFileSync(file('circle-predictions.csv'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(101);
    expect(new Set(lines.slice(1))).toEqual(new Set(['inside', '"out, side"']));
    const npy = kmfit('predict', 'circle.kmfit', 'circle-test.csv', '--out', 'circle.npy');
    expect(npy.status).toBe(2);
    expect(npy.stderr).toContain('labels are strings, which .npy cannot hold');
  });

  it('libsvm: the same rows as the .npy train the same model; a narrower test file takes the training width', () => {
    expect(testWidest).toBeLessThan(784); // the test file names fewer features than the training one
    const out = kmfit('digits.svm', '--test', 'digits-test.svm', '--epochs', '2', '--json', '--save', 'digits-svm.kmfit');
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect([report.plan.n, report.plan.d]).toEqual([1000, 784]);
    expect(report.test).toEqual(npyReport.test);
    const predicted = kmfit('predict', 'digits-svm.kmfit', 'digits-test.svm', '--out', 'svm-predicted.npy');
    expect(predicted.status, predicted.stderr).toBe(0);
    expect(Array.from(decodeNpy(new Uint8Array(readFileSync(file('svm-predicted.npy')))).data)).toEqual(npyLabels);
  });

  it('text output off a terminal: the plan block, one line per epoch, the result; --train-size and --test-size keep the first rows', () => {
    const out = kmfit('digits.npy', '--test', 'digits-test.npy', '--train-size', '400', '--test-size', '100', '--epochs', '2', '--save', 'small.kmfit');
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f]/); // no control characters but newlines
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^kmfit \S+ · digits\.npy: 400 training and 100 test points, 784 features$/);
    expect(lines[1]).toBe('plan');
    for (const row of ['data', 'kernel', 'subsample s', 'q', 'λ_1, λ_q, λ_new', 'β', 'm* plain → preconditioned', 'device limit m_G', 'batch size m', 'step size η', 'backend', 'set-up']) {
      expect(lines.some((line) => line.startsWith(`  ${row} `)), row).toBe(true);
    }
    expect(lines.filter((line) => /^epoch [12]\/2 {2}\d+\.\d s \(at \d+\.\d s\) {2}train mse \S+ {2}train error \S+ % {2}test mse \S+ {2}test error \S+ %/.test(line))).toHaveLength(2);
    expect(lines.at(-2)).toMatch(/^test error \d+\.\d\d % · test mse \S+ \(epoch 2, /);
    expect(lines.at(-1)).toMatch(/ s in all · peak memory \S+ GiB \(resident\) · model saved to .*small\.kmfit$/);
    const again = kmfit('predict', 'small.kmfit', 'digits-test.npy', '--json');
    expect(JSON.parse(again.stdout).rows).toBe(300);
  });

  it('without test data the result line says how to score one', () => {
    const out = kmfit('digits.npy', '--train-size', '300', '--epochs', '1', '--no-save');
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^1 epoch: .*; no test set scored \(--test FILE, or --test-split 0\.2 to hold out a fifth\)$/);
    expect(lines.at(-1)).toMatch(/ s in all · .*model not saved \(--no-save\)$/);
  });

  it('devices: each backend that runs, with its device, memory and the capacity training measured', () => {
    const out = kmfit('devices', '--json');
    expect(out.status, out.stderr).toBe(0);
    const { auto, backends } = JSON.parse(out.stdout);
    // 'auto' took one of its candidates for the trainings above.
    expect(auto).toContain(npyReport.plan.backend);
    const picked = backends.find((b: { name: string }) => b.name === npyReport.plan.backend);
    expect(picked.device).toBe(npyReport.plan.device);
    expect(picked.memory.bytes).toBeGreaterThan(0);
    // The trainings above (784 features, 10 classes, on 'auto') measured and cached its capacity.
    if (picked.parallel && /parallel capacity of/.test(npyReport.plan.deviceBatchLimitSource)) {
      const sizes = picked.capacity.filter((c: { features: number; outputs: number }) => c.features === 784 && c.outputs === 10);
      expect(sizes.map((c: { batch: number }) => c.batch)).toContain(npyReport.plan.deviceBatchLimit);
    }
    const text = kmfit('devices');
    expect(text.stdout).toContain(`${picked.name} `);
    expect(text.stdout).toMatch(/memory \d+\.\d GiB \(/);
    // onnx says whether byte data take its integer GEMM: exact where the CPU adds dot products into int32 (VNNI).
    const onnx = backends.find((b: { name: string; available: boolean }) => b.name === 'onnx' && b.available);
    if (onnx) {
      expect(onnx.forms).toHaveLength(1);
      if (/\b(avx512_vnni|avx_vnni)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) expect(onnx.forms[0]).toContain('integer GEMM, exact on this CPU');
      expect(text.stdout).toContain(onnx.forms[0]);
    }
  });

  it('--test-split holds out a seeded fraction', () => {
    const first = JSON.parse(kmfit('digits.npy', '--test-split', '0.25', '--epochs', '1', '--json', '--save', 'split.kmfit').stdout);
    const again = JSON.parse(kmfit('digits.npy', '--test-split', '0.25', '--epochs', '1', '--json', '--save', 'split.kmfit').stdout);
    expect(first.plan.n).toBe(750);
    expect(again.test).toEqual(first.test);
  });

  it('bad usage and bad input exit with 2 and one line that names the problem', () => {
    const both = kmfit('digits.npy', '--test', 'digits-test.npy', '--test-split', '0.2');
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('kmfit: Give either --test FILE or --test-split FRACTION, not both.\n');
    const missing = kmfit('nope.npy');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.npy: no such file');
    const mismatch = kmfit('predict', 'digits.kmfit', 'split.kmfit');
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).not.toContain('    at ');
    const badOut = kmfit('predict', 'digits.kmfit', 'digits-test.npy', '--out', 'predicted.txt');
    expect(badOut.status).toBe(2);
    expect(badOut.stderr).toContain('must end in .npy or .csv');
    expect(existsSync(file('predicted.txt'))).toBe(false);
    // --out is checked before the data is read: its problem, not the missing data file's, is named.
    const outFirst = kmfit('predict', 'digits.kmfit', 'no-such-data.npy', '--out', 'predicted.txt');
    expect(outFirst.stderr).toContain('must end in .npy or .csv');
    const noFolder = kmfit('predict', 'digits.kmfit', 'no-such-data.npy', '--out', 'no-such-folder/predicted.csv');
    expect(noFolder.status).toBe(2);
    expect(noFolder.stderr).toContain('no-such-folder does not exist');
  });
});
