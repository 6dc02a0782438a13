/**
 * `npm run bench:mnist`: kmfit's time to a good model on full MNIST against the authors' EigenPro 2
 * PyTorch code (the peer), in one run on this machine: issue 18's gaussian σ = 5, 3 epochs, the same
 * thread count on both sides.
 *
 *   npx tsx bench/mnist.ts [--n 60000] [--epochs 3] [--reps 1] [--backends onnx,wasm] [--uncached]
 *       [--bandwidth 5] [--seed 0] [--threads 2] [--train datasets/mnist.npy]
 *       [--test datasets/mnist-test.npy] [--mem-gb 8] [--json]
 *
 * Each repetition runs, one after another (never two at once), each under /usr/bin/time -v:
 *   node dist/cli/main.js TRAIN --test TEST --kernel gaussian --bandwidth σ --epochs E --threads T
 *       --json --backend B --train-size N   for each B of --backends, from a cold start (a fresh
 *       XDG_CACHE_HOME: the device's capacity is measured in the run) with the default --cache auto,
 *       and with --uncached once more with --cache off;
 *   /usr/bin/python3 bench/eigenpro2_reference.py, the peer (their code from EIGENPRO2_PATH, default
 *       /tmp/ep2; bench/README.md says how to export it there).
 * It prints, per program and epoch, the wall seconds since the process started (time to that
 * epoch's model), the epoch's seconds and its test error; then each program's whole wall time
 * (spawn to exit, measured here), peak RSS and CPU seconds, the ratio of kmfit's wall to the
 * peer's, and the issue's bars as met / not met. With --reps R every figure is the median of the
 * R runs. A side that fails prints why; the others are still reported.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Child, PYTHON, failureNote, flag, gib, lastJson, option, processFigures, pad, percent, root, runTimed, seconds, threadEnv } from './child.js';
import { median } from './timing.js';

const n = Number(option('n', '60000'));
const epochs = Number(option('epochs', '3'));
const reps = Math.max(1, Number(option('reps', '1')));
const sigma = Number(option('bandwidth', '5'));
const seed = Number(option('seed', '0'));
const threads = Number(option('threads', String(Math.min(2, os.availableParallelism()))));
const backends = option('backends', 'onnx,wasm').split(',').filter(Boolean);
const uncached = flag('uncached');
const memGb = option('mem-gb', '');
const defaultTrain = path.join(root, 'datasets/mnist.npy');
const defaultTest = path.join(root, 'datasets/mnist-test.npy');
const train = path.resolve(root, option('train', defaultTrain));
const test = path.resolve(root, option('test', defaultTest));
const asJson = flag('json');
const PEER_PATH = process.env.EIGENPRO2_PATH ?? '/tmp/ep2';

/** The issue's bars, for 60 000 points and 3 epochs. */
const BARS = { onnxWall: 0.35, onnxTestError: 0.013, wasmWall: 1.0, cachedEpoch: 0.15 };

interface Epoch {
  epoch: number;
  seconds: number;
  /** Wall seconds from the process's start to this epoch's model (evaluated); undefined when unknown. */
  wallSeconds?: number;
  testError?: number;
}
interface CachePlan {
  precision?: string;
  bytes: number;
  reason: string;
}
interface Outcome {
  program: string;
  ok: boolean;
  why?: string;
  setupSeconds?: number;
  epochs: Epoch[];
  testError?: number;
  /** The kmfit plan's kernel cache (absent from builds without one). */
  cache?: CachePlan;
  /** How the epochs' wall seconds were had (kmfit's are placed from its elapsedSeconds, below). */
  wallNote?: string;
  peakRssKB?: number;
  wallSeconds: number;
  cpuSeconds?: number;
  raw?: unknown;
}

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) => runTimed(command, args, env, !asJson);
const failed = (program: string, why: string, wallSeconds = 0): Outcome => ({ program, ok: false, why, epochs: [], wallSeconds });
const failure = (program: string, child: Child, why: string): Outcome => ({
  ...failed(program, failureNote(child, why), child.wallSeconds),
  peakRssKB: child.maxRssKB,
});

interface KmfitSide {
  backend: string;
  cache: 'auto' | 'off';
}
const sideName = (side: KmfitSide) => `kmfit ${side.backend}${side.cache === 'off' ? ' --cache off' : ''}`;

async function runKmfit(side: KmfitSide): Promise<Outcome> {
  const program = sideName(side);
  const cli = path.join(root, 'dist/cli/main.js');
  if (!existsSync(cli)) return failed(program, 'dist/cli/main.js is missing: npm run build');
  // A cold start: no capacity calibration from an earlier run; the model goes there too.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'kmfit-mnist-'));
  const args = [
    cli, train, '--test', test, '--kernel', 'gaussian', '--bandwidth', String(sigma), '--epochs', String(epochs),
    '--threads', String(threads), '--json', '--backend', side.backend, '--seed', String(seed), '--train-size', String(n),
    '--save', path.join(scratch, 'model.kmfit'), ...(side.cache === 'off' ? ['--cache', 'off'] : []),
  ];
  try {
    const child = await run(process.execPath, args, { ...process.env, ...threadEnv(threads), XDG_CACHE_HOME: scratch });
    if (child.code !== 0) {
      const noCache = side.cache === 'off' && /unknown (option|argument)s?:? .*cache/i.test(child.stderr);
      return failure(program, child, noCache ? 'this build of kmfit has no --cache option' : `kmfit exited with ${child.code}`);
    }
    const out = lastJson(child.stdout);
    if (!out) return failure(program, child, 'kmfit printed no JSON');
    const plan = out.plan as { setupSeconds?: number; cache?: CachePlan };
    const history = out.history as { epoch: number; seconds: number; elapsedSeconds?: number; valError?: number }[];
    // elapsedSeconds counts from the start of fit(), after node's start-up and the data's loading,
    // which only the wall measured here covers: place the epochs back from the process's exit, so
    // that the last one ends at that wall (an upper bound: saving the model and exiting count).
    const last = history.at(-1)?.elapsedSeconds;
    const placed = last !== undefined;
    const test = out.test as { error?: number } | undefined;
    return {
      program,
      ok: true,
      setupSeconds: plan?.setupSeconds,
      epochs: history.map((h, i) => ({
        epoch: h.epoch,
        seconds: h.seconds,
        wallSeconds: placed && h.elapsedSeconds !== undefined ? child.wallSeconds - (last - h.elapsedSeconds)
          : i === history.length - 1 ? child.wallSeconds : undefined,
        testError: h.valError,
      })),
      testError: test?.error ?? history.at(-1)?.valError,
      cache: plan?.cache,
      wallNote: placed ? 'placed back from exit' : 'no elapsedSeconds in this build: the last epoch gets the process wall',
      ...processFigures(child, out),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function runPeer(): Promise<Outcome> {
  const program = 'EigenPro 2 (PyTorch)';
  if (!existsSync(PYTHON)) return failed(program, `no ${PYTHON}`);
  if (!existsSync(path.join(PEER_PATH, 'eigenpro2'))) {
    return failed(program, `no eigenpro2 package in ${PEER_PATH} (set EIGENPRO2_PATH; bench/README.md)`);
  }
  const script = 'bench/eigenpro2_reference.py';
  const args = [
    path.join(root, script), '--train', train, '--test', test, '--n', String(n), '--epochs', String(epochs),
    '--bandwidth', String(sigma), '--seed', String(seed), '--threads', String(threads), ...(memGb ? ['--mem-gb', memGb] : []),
  ];
  const pythonPath = [PEER_PATH, process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = await run(PYTHON, args, { ...process.env, ...threadEnv(threads), PYTHONPATH: pythonPath });
  if (child.code !== 0) return failure(program, child, `${script} exited with ${child.code}`);
  const out = lastJson(child.stdout);
  if (!out) return failure(program, child, `${script} printed no JSON`);
  const history = out.epochs as Epoch[];
  return {
    program: String(out.program ?? program),
    ok: true,
    setupSeconds: out.setupSeconds as number,
    epochs: history.map((e) => ({ epoch: e.epoch, seconds: e.seconds, wallSeconds: e.wallSeconds, testError: e.testError })),
    testError: history.at(-1)?.testError,
    ...processFigures(child, out),
  };
}

const medianOf = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? median(known) : undefined;
};

/** One program's repetitions as one outcome: the median of each figure over the runs that worked. */
function summarize(runs: Outcome[]): Outcome {
  const ok = runs.filter((o) => o.ok);
  if (ok.length === 0) return runs[0];
  const pick = (f: (o: Outcome) => number | undefined) => medianOf(ok.map(f));
  return {
    ...ok[0],
    setupSeconds: pick((o) => o.setupSeconds),
    epochs: ok[0].epochs.map((e, i) => ({
      epoch: e.epoch,
      seconds: pick((o) => o.epochs[i]?.seconds) ?? e.seconds,
      wallSeconds: pick((o) => o.epochs[i]?.wallSeconds),
      testError: pick((o) => o.epochs[i]?.testError),
    })),
    testError: pick((o) => o.testError),
    peakRssKB: pick((o) => o.peakRssKB),
    wallSeconds: pick((o) => o.wallSeconds) ?? ok[0].wallSeconds,
    cpuSeconds: pick((o) => o.cpuSeconds),
    raw: undefined,
  };
}

const holdsMatrix = (cache: CachePlan | undefined) => cache !== undefined && cache.precision !== undefined && cache.bytes > 0;

interface Check {
  what: string;
  met?: boolean;
  detail: string;
}

/** The issue's bars for each kmfit side with the cache on auto, against the peer's wall. */
function checks(sides: KmfitSide[], results: Outcome[], peer: Outcome): Check[] {
  const list: Check[] = [];
  sides.forEach((side, i) => {
    const o = results[i];
    if (side.cache !== 'auto') return;
    const name = sideName(side);
    const wallBar = side.backend === 'onnx' ? BARS.onnxWall : side.backend === 'wasm' ? BARS.wasmWall : undefined;
    if (wallBar !== undefined) {
      const ratio = o.ok && peer.ok ? o.wallSeconds / peer.wallSeconds : undefined;
      list.push({
        what: `${name}: wall ≤ ${wallBar} × the peer's`,
        met: ratio === undefined ? undefined : ratio <= wallBar,
        detail: ratio === undefined ? `${o.ok ? 'the peer' : name} failed` : `${ratio.toFixed(2)} × (${seconds(o.wallSeconds)} / ${seconds(peer.wallSeconds)})`,
      });
    }
    if (side.backend === 'onnx') {
      list.push({
        what: `${name}: test error ≤ ${percent(BARS.onnxTestError)}`,
        met: o.testError === undefined ? undefined : o.testError <= BARS.onnxTestError,
        detail: percent(o.testError),
      });
    }
    const first = o.epochs[0]?.seconds;
    const later = o.epochs.slice(1).map((e) => e.seconds);
    const what = `${name}: epochs after the first ≤ ${BARS.cachedEpoch} × the first`;
    if (!o.ok || first === undefined || later.length === 0) {
      list.push({ what, detail: o.ok ? 'one epoch only' : `${name} failed` });
    } else if (!holdsMatrix(o.cache)) {
      list.push({ what, detail: o.cache ? `the cache does not hold the matrix: ${o.cache.reason}` : 'no plan.cache in this build' });
    } else {
      const worst = Math.max(...later) / first;
      list.push({ what, met: worst <= BARS.cachedEpoch, detail: `worst ${worst.toFixed(3)} × (${later.map((s) => seconds(s)).join(', ')} / ${seconds(first)})` });
    }
  });
  return list;
}

function table(outcomes: Outcome[], peer: Outcome): string {
  const lines: string[] = [];
  const epochCols = Array.from({ length: epochs }, (_, i) => pad(`epoch ${i + 1}: at · took · test`, 30)).join('');
  lines.push(`${pad('program', 34)}${pad('set-up', 9)}${epochCols}${pad('wall (CPU)', 20)}${pad('peak RSS', 11)}÷ peer's wall`);
  for (const o of outcomes) {
    if (!o.ok) {
      lines.push(`${pad(o.program, 34)}FAILED: ${o.why}`);
      continue;
    }
    const cells = Array.from({ length: epochs }, (_, i) => {
      const e = o.epochs[i];
      return pad(e ? `${seconds(e.wallSeconds)} · ${seconds(e.seconds)} · ${percent(e.testError)}` : '—', 30);
    }).join('');
    const ratio = o !== peer && peer.ok ? (o.wallSeconds / peer.wallSeconds).toFixed(2) : '';
    lines.push(
      `${pad(o.program, 34)}${pad(seconds(o.setupSeconds), 9)}${cells}` +
        `${pad(`${seconds(o.wallSeconds)} (${seconds(o.cpuSeconds)})`, 20)}${pad(gib(o.peakRssKB), 11)}${ratio}`,
    );
  }
  return lines.join('\n');
}

/** The default MNIST files, written when missing (npm run datasets rewrites them all every time). */
function ensureDatasets(): void {
  const missing = [train, test].filter((file) => !existsSync(file));
  if (missing.length === 0) return;
  if (missing.some((file) => file !== defaultTrain && file !== defaultTest)) throw new Error(`${missing.join(', ')} missing`);
  process.stderr.write('writing the MNIST files: npm run datasets\n');
  execFileSync('npm', ['run', 'datasets'], { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
}

async function main(): Promise<void> {
  ensureDatasets();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const title =
    `EigenPro 2 side by side · ${path.basename(train)} n=${n} · gaussian σ=${sigma} · ${epochs} epochs · ` +
    `${threads} threads · ${reps > 1 ? `medians of ${reps} runs · ` : ''}${cpu}`;
  if (!asJson) process.stderr.write(`${title}\n`);
  const sides: KmfitSide[] = backends.flatMap((backend) => [
    { backend, cache: 'auto' as const },
    ...(uncached ? [{ backend, cache: 'off' as const }] : []),
  ]);
  const all: Outcome[][] = [];
  for (let rep = 0; rep < reps; rep++) {
    const outcomes: Outcome[] = [];
    for (const side of sides) {
      if (!asJson) process.stderr.write(`repetition ${rep + 1}/${reps}: ${sideName(side)}\n`);
      outcomes.push(await runKmfit(side));
    }
    if (!asJson) process.stderr.write(`repetition ${rep + 1}/${reps}: the peer\n`);
    outcomes.push(await runPeer());
    all.push(outcomes);
  }
  const summary = all[0].map((_, i) => summarize(all.map((outcomes) => outcomes[i])));
  const peer = summary[summary.length - 1];
  const bars = checks(sides, summary, peer);
  if (asJson) {
    const result = { n, bandwidth: sigma, epochs, threads, seed, cpu, repetitions: all, medians: summary, checks: bars };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  console.log(title);
  console.log(table(summary, peer));
  console.log(
    "at: wall seconds from the process's start to the epoch's evaluated model; took: the epoch's training seconds; " +
      'wall: spawn to exit, measured here.',
  );
  for (const o of summary) if (o.ok && o.wallNote) console.log(`${o.program}: "at" ${o.wallNote}.`);
  for (const o of summary) {
    if (o.ok && o.program.startsWith('kmfit')) console.log(`${o.program}: cache ${o.cache ? `${o.cache.precision ?? 'off'}, ${gib(o.cache.bytes / 1024)}: ${o.cache.reason}` : '— (no plan.cache in this build)'}`);
  }
  const scale = n === 60000 && epochs === 3 ? '' : ' (the bars are set for n = 60 000 and 3 epochs)';
  console.log(`the issue's bars${scale}:`);
  for (const c of bars) console.log(`  ${pad(c.met === undefined ? 'n/a' : c.met ? 'met' : 'NOT MET', 8)}${c.what}: ${c.detail}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
