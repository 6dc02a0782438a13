/**
 * `npm run datasets`: MNIST as files, for the command line's main example.
 *   datasets/mnist.npy       60 000 × 785 float32: pixels in [0, 1], then the label
 *   datasets/mnist-test.npy  10 000 × 785, the same layout
 *   datasets/mnist.npz       Keras layout: x_train (uint8, n × 28 × 28, 0–255), y_train, x_test, y_test
 *   datasets/mnist-test-u8.npy  10 000 × 785 uint8: pixels 0–255, then the label (the layout and
 *                            scale of mnist-deformed, whose test set it is)
 * Written atomically; `kmfit datasets/mnist.npy --test datasets/mnist-test.npy` then trains on them.
 *
 * `npm run datasets -- tables`: the tables of the tabular benchmark (datasets/tables.ts): Letter
 * Recognition, diamonds and a 5 000-image Fashion-MNIST subset, as .npy files.
 *
 * `npm run datasets -- mnist-deformed [--n N] [--seed S] [--out FILE]`: N deformed MNIST training
 * digits, uint8 N × 785 (datasets/mnistDeformed.ts; datasets/README.md). Bad arguments: one line
 * on stderr and exit code 2.
 *
 * package.json runs this as `node --import tsx`, not through the tsx command: tsx's parent process
 * SIGKILLs a child that does not answer a Ctrl-C within 30 ms, and a chunk of rows takes longer,
 * so the temporary file would stay behind instead of being removed.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { encodeNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import type { Matrix } from '../src/matrix.js';
import { loadMnist } from './mnist.js';
import { DEFAULT_SEED, MAX_ROWS, defaultFileName, writeMnistDeformed } from './mnistDeformed.js';
import { writeTables } from './tables.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function withLabelColumn(X: Matrix, y: ArrayLike<number>): Uint8Array {
  const cols = X.cols + 1;
  const data = new Float32Array(X.rows * cols);
  for (let i = 0; i < X.rows; i++) {
    data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * cols);
    data[i * cols + X.cols] = y[i];
  }
  return encodeNpy({ data, shape: [X.rows, cols] });
}

function images(X: Matrix): Uint8Array {
  return encodeNpy({ data: Uint8Array.from(X.data, (v) => Math.round(v * 255)), shape: [X.rows, 28, 28] });
}

/** The MNIST test images as uint8 0–255 with the label last: the scale of mnist-deformed's rows. */
async function writeUint8Test(test: { X: Matrix; y: ArrayLike<number> }): Promise<void> {
  const cols = test.X.cols + 1;
  const data = new Uint8Array(test.X.rows * cols);
  for (let i = 0; i < test.X.rows; i++) {
    for (let j = 0; j < test.X.cols; j++) data[i * cols + j] = Math.round(test.X.data[i * test.X.cols + j] * 255);
    data[i * cols + test.X.cols] = test.y[i];
  }
  const file = path.join(here, 'mnist-test-u8.npy');
  await writeFileAtomic(file, encodeNpy({ data, shape: [test.X.rows, cols] }));
}

async function writeMnist(): Promise<void> {
  const mnist = await loadMnist();
  await writeUint8Test(mnist.test);
  await writeFileAtomic(path.join(here, 'mnist.npy'), withLabelColumn(mnist.train.X, mnist.train.y));
  await writeFileAtomic(path.join(here, 'mnist-test.npy'), withLabelColumn(mnist.test.X, mnist.test.y));
  await writeFileAtomic(
    path.join(here, 'mnist.npz'),
    writeNpz({
      'x_train.npy': images(mnist.train.X),
      'y_train.npy': encodeNpy({ data: Uint8Array.from(mnist.train.y), shape: [mnist.train.X.rows] }),
      'x_test.npy': images(mnist.test.X),
      'y_test.npy': encodeNpy({ data: Uint8Array.from(mnist.test.y), shape: [mnist.test.X.rows] }),
    }),
  );
  console.log(`wrote ${['mnist.npy', 'mnist-test.npy', 'mnist.npz', 'mnist-test-u8.npy'].map((f) => path.join('datasets', f)).join(', ')}`);
}

const USAGE = 'usage: npm run datasets [-- tables | -- mnist-deformed [--n N] [--seed S] [--out FILE]]';

/** A bad command line: its message is printed alone, with exit code 2. */
class UsageError extends Error {}

/** Ctrl-C or SIGTERM honoured between chunks: exit code 128 + the signal's number, as a shell reports. */
class Interrupted extends Error {
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    shown: string,
  ) {
    super(`interrupted (${signal}); nothing was written to ${shown}`);
  }
}

interface DeformedArguments {
  n: number;
  seed: number;
  out: string;
}

function parseDeformedArguments(args: string[]): DeformedArguments {
  const options = { n: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages are long and suggest `--` tricks; say what is wrong in our words.
    const message = (error as Error).message;
    const option = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option '${option}'; ${USAGE}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`${option} needs a value (write ${option}=VALUE for one that starts with '-'); ${USAGE}`);
    throw new UsageError(`${message.split('\n')[0]}; ${USAGE}`);
  }
  const [name, ...extra] = parsed.positionals;
  if (name !== 'mnist-deformed') throw new UsageError(`unknown data set '${name}'; the ones to write are tables and mnist-deformed. ${USAGE}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'; ${USAGE}`);
  const n = parseCount(parsed.values.n ?? '1m');
  const seedText = parsed.values.seed ?? String(DEFAULT_SEED);
  const seed = /^\d{1,10}$/.test(seedText) ? Number(seedText) : NaN;
  if (!(seed <= 0xffffffff)) throw new UsageError(`--seed must be an integer from 0 to 4294967295; got '${seedText}'`);
  const out = parsed.values.out === undefined ? path.join(here, defaultFileName(n)) : path.resolve(parsed.values.out);
  return { n, seed, out };
}

/** N rows: digits, optionally with a k (thousand) or m (million) suffix. */
function parseCount(text: string): number {
  const match = /^(\d{1,9})([km]?)$/i.exec(text);
  const n = match === null ? NaN : Number(match[1]) * ({ k: 1e3, m: 1e6 }[match[2].toLowerCase()] ?? 1);
  if (!(n >= 1 && n <= MAX_ROWS)) {
    throw new UsageError(
      `--n must be a whole number of rows from 1 to ${MAX_ROWS} (${MAX_ROWS * 785 / 1e9} GB), digits with an optional k or m suffix (100k, 1m); got '${text}'`,
    );
  }
  return n;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

async function writeDeformed(args: DeformedArguments): Promise<void> {
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  const stop = (signal: 'SIGINT' | 'SIGTERM') => () => {
    interrupted = signal;
  };
  process.once('SIGINT', stop('SIGINT'));
  process.once('SIGTERM', stop('SIGTERM'));
  const relative = path.relative(process.cwd(), args.out);
  const shown = relative === '' || relative.startsWith('..') ? args.out : relative;
  const started = performance.now();
  let lastReport = started;
  const written = await writeMnistDeformed({
    ...args,
    onProgress: (done, n) => {
      if (interrupted !== undefined) throw new Interrupted(interrupted, shown);
      const now = performance.now();
      if (now - lastReport < 3000 && done < n) return;
      lastReport = now;
      const rate = done / ((now - started) / 1000);
      const left = done < n ? `, about ${duration((n - done) / rate)} left` : '';
      process.stderr.write(`mnist-deformed: ${done}/${n} rows (${Math.floor((100 * done) / n)}%), ${Math.round(rate)} rows/s${left}\n`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `wrote ${shown}: ${written.rows} rows × 785 uint8 (seed ${args.seed}), ${written.bytes >= 1e6 ? `${(written.bytes / 1e6).toFixed(1)} MB` : `${written.bytes} bytes`} in ${duration(seconds)}`,
  );
}

const args = process.argv.slice(2);
if (args.length === 0) {
  await writeMnist();
} else if (args.length === 1 && args[0] === 'tables') {
  try {
    console.log(`wrote ${(await writeTables()).join(', ')}`);
  } catch (error) {
    process.stderr.write(`datasets: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
} else {
  try {
    await writeDeformed(parseDeformedArguments(args));
  } catch (error) {
    // A bad command line, an interrupt, a missing package or a full disk: one line, no stack.
    process.stderr.write(`datasets: ${(error as Error).message}\n`);
    process.exitCode =
      error instanceof UsageError ? 2 : error instanceof Interrupted ? 128 + os.constants.signals[error.signal] : 1;
  }
}
