/**
 * The command line on bad input and bad usage, as a user meets it (dist/cli/main.js in a child
 * process): each case of issue 4's "Bad input" list exits with 2 and one line that names the file,
 * the problem and the fix, with no stack trace and no output file left behind; every command has
 * examples in its --help and answers an unknown option with the closest one it has.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/npz.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const cli = path.resolve(__dirname, '../../dist/cli/main.js');
const FIXTURES = path.resolve(__dirname, '../fixtures/npy');
const dir = temporaryDirectory('cli-input');
const file = (name: string) => path.join(dir, name);
const write = (name: string, bytes: Uint8Array | string) => writeFileSync(file(name), bytes);

function kmfit(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
}

/** Exit code 2, and stderr exactly one line: "kmfit: …" containing every fragment, no stack trace. */
function expectOneLine(run: ReturnType<typeof kmfit>, ...fragments: string[]): void {
  expect(run.status, run.stderr).toBe(2);
  expect(run.stderr).toMatch(/^kmfit: [^\n]+\n$/);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  for (const fragment of fragments) expect(run.stderr).toContain(fragment);
}

// A good 4 × 3 table (2 features and a label).
const good = encodeNpy({ data: Float32Array.from([0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1]), shape: [4, 3] });

describe('bad input: exit 2, one line naming the file, the problem and the fix, nothing written', () => {
  write('good.npy', good);
  mkdirSync(file('folder'));
  write('empty.npy', '');
  write('truncated.npy', good.subarray(0, good.length - 8));
  const corrupt = good.slice();
  corrupt.set(new TextEncoder().encode("{'descr': <f4"), 10);
  write('corrupt.npy', corrupt);
  copyFileSync(path.join(FIXTURES, 'object.npy'), file('object.npy'));
  copyFileSync(path.join(FIXTURES, 'structured.npy'), file('structured.npy'));
  write('keys.npz', writeNpz({ 'images.npy': good }));
  write('magic.idx', Uint8Array.from([0, 0, 0x07, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5]));
  write('ragged.csv', 'a,b,label\n1,2,0\n3,4\n');
  write('words.csv', 'a,b,label\n1,2,0\n3,four,1\n');
  write('labels.npy', encodeNpy({ data: Int32Array.from([0, 1, 0]), shape: [3] }));
  write('nan.npy', encodeNpy({ data: Float32Array.from([0, 0, 0, 1, Number.POSITIVE_INFINITY, 1]), shape: [2, 3] }));
  write('zero.svm', '1 0:1 2:3\n');
  write('wide-test.svm', '1 1:1 9:1\n');
  write('narrow.svm', '1 1:1 2:1\n0 2:1\n1 1:1\n0 1:0.5\n');
  write('wide.npy', encodeNpy({ data: Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), shape: [2, 4] }));

  const cases: [string, string[], string[]][] = [
    ['a missing file', ['nope.npy'], ['nope.npy: no such file', 'Give the path of a .npy']],
    ['a directory', ['folder'], ['folder is a directory; give a data file']],
    ['an empty file', ['empty.npy'], ['empty.npy is empty; give a file with data']],
    ['a truncated .npy', ['truncated.npy'], ['truncated.npy: the data is cut short', 'write it again']],
    ['a corrupt header', ['corrupt.npy'], ['corrupt.npy: the .npy header is not valid']],
    ['an object dtype', ['object.npy'], ["object.npy: unsupported dtype '|O'", 'kmfit reads bool, int8–64']],
    ['a structured dtype', ['structured.npy'], ['structured.npy: unsupported dtype: a structured (record) dtype']],
    ['a .npz without the expected keys', ['keys.npz'], ['keys.npz holds images; expected x_train, y_train', 'save it with those names']],
    ['an IDX file with the wrong magic', ['magic.idx'], ['magic.idx is not an IDX file: it starts with 0x00 0x00 0x07 0x02']],
    ['CSV with ragged rows', ['ragged.csv'], ['ragged.csv, line 3: 2 fields where the first row has 3']],
    ['CSV with non-numeric features', ['words.csv'], ['words.csv, line 3: column 2 holds "four", not a number']],
    ['labels of the wrong length', ['good.npy', '--labels', 'labels.npy'], ['labels.npy has 3 labels but good.npy has 4 rows; they must match']],
    ['NaN/Inf', ['nan.npy'], ['nan.npy has a non-finite value', 'row 1, feature 1', 'clean or drop that row']],
    ['a libsvm index 0', ['zero.svm'], ['zero.svm, line 1: feature index 0', 'add 1 to every index']],
    ['a libsvm test file wider than the training data', ['narrow.svm', '--test', 'wide-test.svm'], ['wide-test.svm, line 1: feature index 9 is beyond the 2 features']],
    ['a test file with more features', ['good.npy', '--test', 'wide.npy'], ['wide.npy has 3 features but good.npy has 2; the test data needs the training data\'s columns']],
    ['a bad option value', ['good.npy', '--train-size', '-3'], ['--train-size must be a whole number']],
    ['--test-size without test data (it would be ignored)', ['good.npy', '--test-size', '2'], ['--test-size uses the first N test points, and this run has no test data', 'give --test FILE or --test-split']],
  ];
  for (const [what, args, fragments] of cases) {
    it(what, () => {
      const run = kmfit(...args, '--save', 'out.kmfit', '--epochs', '1');
      expectOneLine(run, ...fragments);
      expect(run.stdout).not.toContain('plan');
      expect(existsSync(file('out.kmfit'))).toBe(false);
    });
  }

  it('a model or checkpoint path that cannot be written: refused before training, nothing written', () => {
    const refused = (args: string[], ...fragments: string[]) => {
      const run = kmfit('good.npy', '--epochs', '1', ...args);
      expectOneLine(run, ...fragments);
      expect(run.stdout).not.toContain('plan');
    };
    refused(['--save', 'missing/out.kmfit'], `--save ${file('missing/out.kmfit')}: the directory ${file('missing')} does not exist; create it first`);
    refused(['--save', 'folder'], `--save ${file('folder')} is a directory; give the model a file name`);
    refused(['--save', 'good.npy/out.kmfit'], `${file('good.npy')} is not a directory`);
    refused(['--save', 'out.kmfit', '--checkpoint', 'missing/run.checkpoint'], `the checkpoint ${file('missing/run.checkpoint')}: the directory ${file('missing')} does not exist`);
    refused(['--save', 'out.kmfit', '--checkpoint', 'folder'], `the checkpoint ${file('folder')} is a directory`);
    expect(existsSync(file('missing'))).toBe(false);
    expect(existsSync(file('out.kmfit'))).toBe(false);
    expect(existsSync(file('folder.checkpoint'))).toBe(false);
    expect(existsSync(file('out.checkpoint'))).toBe(false);
  });

  it('a model file that is not one, and bad data for predict: no predictions file', () => {
    expectOneLine(kmfit('predict', 'good.npy', 'good.npy', '--out', 'p.csv'), 'good.npy is not a kmfit model file');
    expect(existsSync(file('p.csv'))).toBe(false);
    const trained = kmfit('good.npy', '--epochs', '1', '--save', 'good.kmfit', '--quiet');
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toBe(''); // --quiet
    expectOneLine(kmfit('predict', 'good.kmfit', 'nan.npy', '--out', 'p.csv'), 'nan.npy has a non-finite value');
    expectOneLine(kmfit('predict', 'good.kmfit', 'words.csv', '--out', 'p.csv'), 'words.csv, line 3');
    expect(existsSync(file('p.csv'))).toBe(false);
  });
});

describe('labels that would train, but likely not as meant: one line asking for --task', () => {
  it('integer labels that look like a quantity (a class per row or two): refused until --task says which', () => {
    // 24 rows; labels 100, 101, … 123: 24 classes of one row each. Then 4 classes of 6 rows each.
    const table = (label: (i: number) => number) =>
      encodeNpy({ data: Float32Array.from({ length: 24 * 3 }, (_, k) => (k % 3 === 2 ? label(Math.floor(k / 3)) : (k * 7) % 11)), shape: [24, 3] });
    write('prices.npy', table((i) => 100 + i));
    write('four.npy', table((i) => i % 4));
    expectOneLine(kmfit('prices.npy', '--epochs', '1', '--save', 'prices.kmfit'), '24 distinct integers among 24 labels', '--task regression');
    expect(existsSync(file('prices.kmfit'))).toBe(false);
    const regression = kmfit('prices.npy', '--epochs', '1', '--save', 'prices.kmfit', '--task', 'regression');
    expect(regression.status, regression.stderr).toBe(0);
    expect(regression.stderr).toBe('');
    const classes = kmfit('prices.npy', '--epochs', '1', '--save', 'classes.kmfit', '--task', 'classification');
    expect(classes.status, classes.stderr).toBe(0);
    expect(classes.stderr).toBe('');
    const four = kmfit('four.npy', '--epochs', '1', '--save', 'four.kmfit');
    expect(four.status, four.stderr).toBe(0);
    expect(four.stderr).toBe('');
  });

  it("names the labels by the CSV header's label column, the last or the one --label gives, in a split too", () => {
    const rows = Array.from({ length: 24 }, (_, i) => `${(i * 7) % 11},${i % 5},${100 + i}`);
    write('prices.csv', ['width,depth,price', ...rows].join('\n'));
    expectOneLine(kmfit('prices.csv', '--epochs', '1', '--no-save'), 'price holds 24 distinct integers among 24 labels', '--task regression');
    expectOneLine(kmfit('prices.csv', '--test-split', '0.25', '--epochs', '1', '--no-save'), 'price holds 18 distinct integers among 18 labels');
    write('reordered.csv', ['price,width,depth', ...rows.map((row) => row.split(',').reverse().join(','))].join('\n'));
    expectOneLine(kmfit('reordered.csv', '--label', 'price', '--epochs', '1', '--no-save'), 'price holds 24 distinct integers');
    // Without a header the labels keep fit()'s name for them.
    write('headless.csv', rows.join('\n'));
    expectOneLine(kmfit('headless.csv', '--epochs', '1', '--no-save'), 'y holds 24 distinct integers');
  });

  it('names a test file in what it says of its labels, and warns of test labels that are not training classes', () => {
    const rows = Array.from({ length: 24 }, (_, i) => `${(i * 7) % 11},${i % 5},${i % 2}`);
    write('classes.csv', ['width,depth,kind', ...rows].join('\n'));
    // A label that is text makes the column text; the message names it, not a number read as text.
    write('text-test.csv', ['width,depth,kind', '1,2,0', '3,4,cat'].join('\n'));
    expectOneLine(kmfit('classes.csv', '--test', 'text-test.csv', '--epochs', '1', '--no-save'), 'text-test.csv\'s labels[1] is "cat"', 'the model\'s classes are numbers (0, 1)');
    // Labels shifted by one: two of the three are no class of the training's; each counts as an error.
    write('shifted-test.csv', ['width,depth,kind', '1,2,1', '3,4,2', '5,6,3'].join('\n'));
    const shifted = kmfit('classes.csv', '--test', 'shifted-test.csv', '--epochs', '1', '--no-save');
    expect(shifted.status, shifted.stderr).toBe(0);
    expect(shifted.stderr).toBe(
      'kmfit: warning: 2 of the 3 test labels are not among the training classes (0, 1), the first 2 at row 1 (0-based); each counts as an error (is the label column the same in both files?)\n',
    );
    // The plan printed before training says so already.
    const planRow = /test labels +2 of the 3 test labels are not among the training classes, the first 2 at row 1 \(0-based\) +\(each counts as an error\)/.exec(shifted.stdout);
    expect(planRow?.index).toBeLessThan(shifted.stdout.indexOf('epoch 1/1'));
    // With --json too, on stderr: stdout stays the report alone.
    const json = kmfit('classes.csv', '--test', 'shifted-test.csv', '--epochs', '1', '--no-save', '--json');
    expect(json.stderr).toBe(shifted.stderr);
    expect(JSON.parse(json.stdout).history).toHaveLength(1);
    // Those two are errors whatever the model predicts.
    expect(Number(/test error ([\d.]+) %/.exec(shifted.stdout)?.[1])).toBeGreaterThanOrEqual(66.66);
    const matching = kmfit('classes.csv', '--test', 'classes.csv', '--epochs', '1', '--no-save');
    expect(matching.status, matching.stderr).toBe(0);
    expect(matching.stderr).toBe('');
  });

  it('warns of a label column that mixes numbers and text, by the row in the file, before a split too', () => {
    const rows = Array.from({ length: 24 }, (_, i) => `${(i * 7) % 11},${i % 5},${i === 17 ? 'cat' : i % 2}`);
    write('stray.csv', ['width,depth,kind', ...rows].join('\n'));
    const warning = 'kmfit: warning: the labels (kind) of stray.csv mix numbers and text: 1 of 24 is text, the first "cat" at row 17 (0-based), so every label is read as text and each distinct one is a class; fix or drop that row if it is a mistake\n';
    for (const split of [[], ['--test-split', '0.25']]) {
      const run = kmfit('stray.csv', ...split, '--epochs', '1', '--no-save');
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toBe(warning);
    }
    // Labels all text, or all numbers: nothing to warn of.
    write('kinds.csv', ['width,depth,kind', ...rows.map((row, i) => row.replace(/,[^,]*$/, i % 2 ? ',cat' : ',dog'))].join('\n'));
    for (const file of ['kinds.csv', 'classes.csv']) expect(kmfit(file, '--epochs', '1', '--no-save').stderr).toBe('');
  });
});

describe('usage', () => {
  const commands = ['', 'resume', 'predict', 'bench', 'devices', 'info'];

  for (const command of commands) {
    it(`kmfit ${command ? `${command} ` : ''}--help has examples`, () => {
      const run = kmfit(...(command ? [command] : []), '--help');
      expect(run.status, command).toBe(0);
      expect(run.stdout, command).toMatch(/\nExamples:\n {2}kmfit /);
    });
  }

  it('--version prints the version', () => {
    const { version } = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    expect(kmfit('--version').stdout).toBe(`${version}\n`);
  });

  describe('unknown options and typos, for every command: one line with the closest name', () => {
    const cases: [string[], string][] = [
      [['good.npy', '--epoch', '2'], 'unknown option --epoch; did you mean --epochs? (kmfit --help lists the options, with examples)'],
      [['good.npy', '--testSplit', '0.5', '--jsno'], 'unknown option --jsno; did you mean --json?'],
      [['predict', 'm.kmfit', 'd.npy', '--ot', 'p.csv'], 'unknown option --ot; did you mean --out? (kmfit predict --help'],
      [['bench', '--rep', '2'], 'unknown option --rep; did you mean --reps? (kmfit bench --help'],
      [['resume', 'run.checkpoint', '--epoch', '9'], 'unknown option --epoch; did you mean --epochs? (kmfit resume --help'],
      [['devices', '--jsn'], 'unknown option --jsn; did you mean --json? (kmfit devices --help'],
      [['info', 'm.kmfit', '--jsn'], 'unknown option --jsn; did you mean --json? (kmfit info --help'],
      [['--versoin'], 'unknown option --versoin; did you mean --version?'],
      [['predcit', 'm.kmfit', 'd.npy'], 'predcit is neither a command nor a file; did you mean kmfit predict?'],
      [['devicse'], 'devicse: no such file, and not a built-in dataset (mnist, fashion-mnist). Did you mean kmfit devices?'],
      [['good.npy', '--backend', 'wasn'], '--backend wasn is not one of auto, webgpu, onnx, wasm, gpujs, js; did you mean --backend wasm?'],
      [['predict', 'm.kmfit'], 'Not enough non-option arguments: got 1, need at least 2 (kmfit predict --help'],
    ];
    for (const [args, message] of cases) it(`kmfit ${args.join(' ')}`, () => expectOneLine(kmfit(...args), message));
  });

  describe('an option without its value, given twice, or a number option given text: one line naming the option, nothing trained', () => {
    write('tiny.npy', good);
    const cases: [string[], string][] = [
      [['tiny.npy', '--epochs'], '--epochs needs a value (kmfit --help'],
      [['tiny.npy', '--epochs', '--quiet'], '--epochs needs a value'],
      [['tiny.npy', '--save'], '--save needs a value'],
      [['tiny.npy', '--label', '--epochs', '1'], '--label needs a value'],
      [['tiny.npy', '-q'], '-q needs a value'],
      [['predict', 'm.kmfit', 'tiny.npy', '--out'], '--out needs a value (kmfit predict --help'],
      [['tiny.npy', '--epochs', 'abc'], '--epochs takes a number; got "abc"'],
      [['tiny.npy', '--test-split', 'half'], '--test-split takes a number; got "half"'],
      [['tiny.npy', '--seed='], '--seed takes a number; got ""'],
      // An option that takes one value, given twice.
      [['tiny.npy', '--save', 'a.kmfit', '--save', 'b.kmfit'], '--save is given 2 times (a.kmfit, b.kmfit); give it once.'],
      [['tiny.npy', '--save', 'a.kmfit', '--no-save'], '--save and --no-save are both given; give one of them.'],
      // --no-X of an option that takes a value, which yargs passes on as false (or 0: --no-seed trained with seed 0).
      [['tiny.npy', '--no-test'], '--no-test is not an option: --test takes a value; leave it out for its default (kmfit --help'],
      [['tiny.npy', '--no-checkpoint-every'], '--no-checkpoint-every is not an option: --checkpoint-every takes a value'],
      [['tiny.npy', '--no-labels'], '--no-labels is not an option'],
      [['tiny.npy', '--no-seed'], '--no-seed is not an option: --seed takes a value'],
      [['tiny.npy', '--no-backend'], '--no-backend is not an option: --backend takes a value'],
      [['predict', 'm.kmfit', 'tiny.npy', '--no-out'], '--no-out is not an option: --out takes a value; leave it out for its default (kmfit predict --help'],
      [['tiny.npy', '--epochs', '1', '--epochs', '2'], '--epochs is given 2 times (1, 2); give it once.'],
      // A value out of range, or a flag without the data it needs, is named as it was typed.
      [['tiny.npy', '--batch-size', '0'], '--batch-size must be an integer ≥ 1; got 0. (Leave it out for the analytic choice.)'],
      [['tiny.npy', '-q', '-1'], '-q must be an integer in [0, 999]; got -1.'],
      [['tiny.npy', '--subsample', '2.5'], '--subsample must be an integer ≥ 1; got 2.5.'],
      [['tiny.npy', '--checkpoint-every', '0'], '--checkpoint-every must be an integer ≥ 1; got 0.'],
      [['bench', '--reps', '0'], '--reps must be an integer ≥ 1; got 0. (The median of that many timings is reported.)'],
      // Before the table's header is printed (it was printed, then the error).
      [['bench', '--backends', 'js,wasn'], '--backends js,wasn: "wasn" is not one of auto, webgpu, onnx, wasm, gpujs, js; did you mean wasm?'],
      [['bench', '--grid', '--backends', 'wasm'], "--grid times every backend 'auto' chooses among, as 'auto' would; --backends picks the backends of the fused-block table. Give one of them."],
      [['tiny.npy', '--early-stopping', '2'], '--early-stopping judges epochs on test data: give --test FILE or --test-split FRACTION as well.'],
      [['tiny.npy', '--early-stopping', '2', '--test-split', '0.5', '--bandwidth', '1,2'], 'which a bandwidth search keeps apart: drop --early-stopping'],
    ];
    for (const [args, message] of cases) {
      it(`kmfit ${args.join(' ')}`, () => {
        const run = kmfit(...args);
        expectOneLine(run, message);
        expect(run.stdout).toBe('');
        expect(existsSync(file('tiny.kmfit'))).toBe(false);
      });
    }
  });
});
