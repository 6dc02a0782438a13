/**
 * kmfit's EigenPro 3 (p centers apart from the n data points) against the authors' PyTorch
 * references, in one run on this machine: issue 16's MNIST 60 000, p = 10 000, gaussian σ = 5.
 *
 *   npx tsx bench/eigenpro3.ts [--n 60000] [--centers 10000] [--epochs 3] [--reps 1]
 *       [--bandwidth 5] [--seed 0] [--threads 2] [--backend onnx] [--references eigenpro3,eigenpro4]
 *       [--train datasets/mnist.npy] [--test datasets/mnist-test.npy] [--max-batches K] [--json]
 *       [--tmp-centers-coeff C]   (EigenPro 4: room for (C − 1)·p temporary centers; default 2)
 *
 * Each repetition runs, one after another (never two at once), kmfit's CLI
 *   node dist/cli/main.js TRAIN --test TEST --kernel gaussian --bandwidth σ --centers p --epochs E
 *       --seed S --threads T --json
 * and then each reference script (bench/eigenpro3_reference.py, bench/eigenpro4_reference.py) with
 * /usr/bin/python3, every child under /usr/bin/time -v for its peak resident memory. It prints, per
 * program, the set-up seconds, each epoch's seconds and test error, the peak RSS, and the ratio of
 * the median epoch times, and each child's wall and CPU seconds (user + system: on a machine other
 * work shares, CPU seconds well under threads × wall mean the side was starved). A side that fails
 * (kmfit without --centers, a reference that is not on PYTHONPATH) prints why, and the other sides
 * are still reported.
 *
 * The references are the authors' code, never part of this repository: bench/README.md says how to
 * export them to /tmp/ep3 and /tmp/ep4 (the defaults here; EIGENPRO3_PATH and EIGENPRO4_PATH
 * override them). Build kmfit first (npm run build). Both sides use the same thread count.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Child, PYTHON, failureNote, flag, gib, lastJson, option, processFigures, pad, percent, root, runTimed, seconds, threadEnv as threadEnvFor } from './child.js';
import { median } from './timing.js';

const n = Number(option('n', '60000'));
const p = Number(option('centers', '10000'));
const epochs = Number(option('epochs', '3'));
const reps = Math.max(1, Number(option('reps', '1')));
const sigma = Number(option('bandwidth', '5'));
const seed = Number(option('seed', '0'));
const threads = Number(option('threads', String(Math.min(2, os.availableParallelism()))));
const backend = option('backend', '');
const maxBatches = Number(option('max-batches', '0'));
const tmpCentersCoeff = option('tmp-centers-coeff', '');
const references = option('references', 'eigenpro3').split(',').filter(Boolean);
const train = path.resolve(root, option('train', 'datasets/mnist.npy'));
const test = path.resolve(root, option('test', 'datasets/mnist-test.npy'));
const asJson = flag('json');

/** What every side reports, in kmfit's terms. */
interface Epoch {
  epoch: number;
  seconds: number;
  testError?: number;
  /** Measured on part of the epoch and scaled up to a whole one (the reference's --max-batches). */
  extrapolated?: boolean;
}
interface Outcome {
  program: string;
  ok: boolean;
  why?: string;
  setupSeconds?: number;
  epochs: Epoch[];
  peakRssKB?: number;
  wallSeconds: number;
  cpuSeconds?: number;
  raw?: unknown;
}

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) => runTimed(command, args, env, !asJson);

function failure(program: string, child: Child, why: string): Outcome {
  return { program, ok: false, why: failureNote(child, why), epochs: [], wallSeconds: child.wallSeconds, peakRssKB: child.maxRssKB };
}

const threadEnv = threadEnvFor(threads);

async function runKmfit(): Promise<Outcome> {
  const program = 'kmfit';
  const cli = path.join(root, 'dist/cli/main.js');
  if (!existsSync(cli)) return { program, ok: false, why: 'dist/cli/main.js is missing: npm run build', epochs: [], wallSeconds: 0 };
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'kmfit-ep3-'));
  const args = [
    cli, train, '--test', test, '--kernel', 'gaussian', '--bandwidth', String(sigma), '--centers', String(p),
    '--epochs', String(epochs), '--seed', String(seed), '--threads', String(threads), '--train-size', String(n),
    '--save', path.join(scratch, 'model.kmfit'), '--json',
    ...(backend ? ['--backend', backend] : []),
  ];
  try {
    const child = await run(process.execPath, args, { ...process.env, ...threadEnv });
    if (child.code !== 0) {
      const unknown = /unknown (option|argument)s?:? .*centers/i.test(child.stderr);
      return failure(program, child, unknown
        ? 'kmfit has no --centers in this checkout (EigenPro 3 is not merged here): no kmfit side'
        : `kmfit exited with ${child.code}`);
    }
    const out = lastJson(child.stdout);
    if (!out) return failure(program, child, 'kmfit printed no JSON');
    const plan = out.plan as { setupSeconds?: number; backend?: string };
    const history = out.history as { epoch: number; seconds: number; valError?: number }[];
    return {
      program: `kmfit${plan?.backend ? ` (${plan.backend})` : ''}`,
      ok: true,
      setupSeconds: plan?.setupSeconds,
      epochs: history.map((h) => ({ epoch: h.epoch, seconds: h.seconds, testError: h.valError })),
      ...processFigures(child, out),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const REFERENCE_SCRIPTS: Record<string, { script: string; env: string; fallback: string; pkg: string }> = {
  eigenpro3: { script: 'bench/eigenpro3_reference.py', env: 'EIGENPRO3_PATH', fallback: '/tmp/ep3', pkg: 'eigenpro3' },
  eigenpro4: { script: 'bench/eigenpro4_reference.py', env: 'EIGENPRO4_PATH', fallback: '/tmp/ep4', pkg: 'eigenpro' },
};

async function runReference(name: string): Promise<Outcome> {
  const spec = REFERENCE_SCRIPTS[name];
  if (!spec) return { program: name, ok: false, why: `unknown reference ${name} (eigenpro3, eigenpro4)`, epochs: [], wallSeconds: 0 };
  const where = process.env[spec.env] ?? spec.fallback;
  if (!existsSync(PYTHON)) return { program: name, ok: false, why: `no ${PYTHON}`, epochs: [], wallSeconds: 0 };
  if (!existsSync(path.join(where, spec.pkg))) {
    return { program: name, ok: false, why: `no ${spec.pkg} package in ${where} (set ${spec.env}; bench/README.md)`, epochs: [], wallSeconds: 0 };
  }
  const args = [
    path.join(root, spec.script), '--train', train, '--test', test, '--n', String(n), '--centers', String(p),
    '--epochs', String(epochs), '--bandwidth', String(sigma), '--seed', String(seed), '--threads', String(threads),
    ...(maxBatches && name === 'eigenpro3' ? ['--max-batches', String(maxBatches)] : []),
    ...(tmpCentersCoeff && name === 'eigenpro4' ? ['--tmp-centers-coeff', tmpCentersCoeff] : []),
  ];
  const pythonPath = [where, process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = await run(PYTHON, args, { ...process.env, ...threadEnv, PYTHONPATH: pythonPath });
  if (child.code !== 0) return failure(name, child, `${spec.script} exited with ${child.code}`);
  const out = lastJson(child.stdout);
  if (!out) return failure(name, child, `${spec.script} printed no JSON`);
  return {
    program: String(out.program ?? name),
    ok: true,
    setupSeconds: out.setupSeconds as number,
    epochs: (out.epochs as Epoch[]).map((e) => ({ epoch: e.epoch, seconds: e.seconds, testError: e.testError, extrapolated: e.extrapolated })),
    ...processFigures(child, out),
  };
}

function table(outcomes: Outcome[]): string {
  const lines: string[] = [];
  const epochCols = Array.from({ length: epochs }, (_, i) => pad(`epoch ${i + 1}`, 19)).join('');
  lines.push(`${pad('program', 31)}${pad('set-up', 10)}${epochCols}${pad('peak RSS', 12)}wall (CPU)`);
  for (const o of outcomes) {
    if (!o.ok) {
      lines.push(`${pad(o.program, 31)}FAILED: ${o.why}`);
      continue;
    }
    const cells = Array.from({ length: epochs }, (_, i) => {
      const e = o.epochs[i];
      return pad(e ? `${seconds(e.seconds)}${e.extrapolated ? '*' : ''} ${percent(e.testError)}` : '—', 19);
    }).join('');
    const rss = gib(o.peakRssKB);
    lines.push(`${pad(o.program, 31)}${pad(seconds(o.setupSeconds), 10)}${cells}${pad(rss, 12)}${seconds(o.wallSeconds)} (${seconds(o.cpuSeconds)})`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  for (const file of [train, test]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: npm run datasets (or link the MNIST .npy files into datasets/)`);
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const title =
    `EigenPro 3 side by side · ${path.basename(train)} n=${n} p=${p} · gaussian σ=${sigma} · ${epochs} epochs · ` +
    `${threads} threads · ${cpu}`;
  if (!asJson) process.stderr.write(`${title}\n`);
  const all: Outcome[][] = [];
  for (let rep = 0; rep < reps; rep++) {
    const outcomes: Outcome[] = [];
    if (!asJson) process.stderr.write(`repetition ${rep + 1}/${reps}: kmfit\n`);
    outcomes.push(await runKmfit());
    for (const name of references) {
      if (!asJson) process.stderr.write(`repetition ${rep + 1}/${reps}: ${name}\n`);
      outcomes.push(await runReference(name));
    }
    all.push(outcomes);
  }
  // Median epoch seconds per program over every repetition's epochs.
  const programs = all[0].map((_, i) => all.map((outcomes) => outcomes[i]));
  const medians = programs.map((runs) => {
    const times = runs.flatMap((o) => (o.ok ? o.epochs.map((e) => e.seconds) : []));
    return { program: runs.find((o) => o.ok)?.program ?? runs[0].program, medianEpochSeconds: times.length ? median(times) : undefined };
  });
  const kmfitMedian = medians[0].medianEpochSeconds;
  if (asJson) {
    const summary = { n, p, bandwidth: sigma, epochs, threads, seed, cpu, repetitions: all, medians };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  console.log(title);
  all.forEach((outcomes, rep) => {
    if (reps > 1) console.log(`repetition ${rep + 1}/${reps}`);
    console.log(table(outcomes));
  });
  if (all.some((outcomes) => outcomes.some((o) => o.epochs.some((e) => e.extrapolated)))) {
    console.log('* extrapolated from the first --max-batches batches of the epoch (seconds × batches per epoch / batches run)');
  }
  for (const m of medians.slice(1)) {
    const ratio = kmfitMedian && m.medianEpochSeconds ? (m.medianEpochSeconds / kmfitMedian).toFixed(2) : '—';
    console.log(
      `median epoch: ${m.program} ${seconds(m.medianEpochSeconds)}, ${medians[0].program} ${seconds(kmfitMedian)}: ` +
        `${m.program} / kmfit = ${ratio}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
