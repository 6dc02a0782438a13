/**
 * What the side-by-side benchmarks (eigenpro3.ts, mnist.ts) share: their command-line options, a
 * child process run to its end under /usr/bin/time -v (wall and CPU seconds, peak resident memory),
 * the JSON object it printed, why it failed, and the table cells.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';
/** The lines of /usr/bin/time -v's report, kept out of the progress and the failure notes. */
const TIME_REPORT =
  /^(\s+(Command being timed|User time|System time|Percent of CPU|Elapsed|Average|Maximum|Major|Minor|Voluntary|Involuntary|Swaps|File system|Socket|Signals|Page size|Exit status)|Command (exited with|terminated by))/;

export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
export const flag = (name: string) => process.argv.includes(`--${name}`);

/** The thread count for every BLAS and OpenMP pool a child may load. */
export const threadEnv = (threads: number) => ({
  OMP_NUM_THREADS: String(threads),
  OPENBLAS_NUM_THREADS: String(threads),
  MKL_NUM_THREADS: String(threads),
});

export interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From spawning to exit, measured here: start-up and tear-down included. */
  wallSeconds: number;
  maxRssKB?: number;
  /** User + system CPU seconds of the whole child, from /usr/bin/time -v. */
  cpuSeconds?: number;
}

/**
 * Runs a command to its end under /usr/bin/time -v (when there is one), keeping its output; with
 * `echo`, its stderr goes on to ours line by line, so that a long run shows it is alive.
 */
export function runTimed(command: string, args: string[], env: NodeJS.ProcessEnv, echo: boolean): Promise<Child> {
  const timed = existsSync(TIME);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(timed ? TIME : command, timed ? ['-v', command, ...args] : args, { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let partial = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      if (!echo) return;
      const lines = (partial + text).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() && !TIME_REPORT.test(line)) process.stderr.write(`    | ${line}\n`);
    });
    child.on('error', (error) => {
      stderr += String(error);
    });
    child.on('close', (code) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      resolve({
        code,
        stdout,
        stderr,
        wallSeconds: (performance.now() - started) / 1000,
        maxRssKB: rss ? Number(rss[1]) : undefined,
        cpuSeconds: user && system ? Number(user[1]) + Number(system[1]) : undefined,
      });
    });
  });
}

/** The last JSON object a child printed on stdout. */
/**
 * What every side reports of its process: peak RSS (/usr/bin/time's, else the program's own figure:
 * kmfit's peakBytes, a reference's peakRssKB), wall and CPU seconds, and its JSON.
 */
export function processFigures(child: Child, out: Record<string, unknown>) {
  const own = typeof out.peakBytes === 'number' ? out.peakBytes / 1024 : typeof out.peakRssKB === 'number' ? out.peakRssKB : undefined;
  return {
    peakRssKB: child.maxRssKB ?? own,
    wallSeconds: child.wallSeconds,
    cpuSeconds: child.cpuSeconds,
    raw: out,
  };
}

export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const start = stdout.lastIndexOf('\n{');
  const text = (start >= 0 ? stdout.slice(start + 1) : stdout).trim();
  // kmfit prints one pretty-printed object: take it whole when it is all of stdout.
  for (const candidate of [stdout.trim(), text]) {
    try {
      const value = JSON.parse(candidate) as unknown;
      if (value && typeof value === 'object') return value as Record<string, unknown>;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

/** `why`, then the last lines the child wrote on stderr (its own, not /usr/bin/time's). */
export function failureNote(child: Child, why: string): string {
  const tail = child.stderr
    .split('\n')
    .filter((line) => line.trim() && !TIME_REPORT.test(line))
    .slice(-6)
    .join('\n      ');
  return `${why}\n      ${tail}`;
}

export const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
export const percent = (x: number | undefined) => (x === undefined ? '—' : `${(100 * x).toFixed(2)} %`);
export const seconds = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} s`);
export const gib = (kB: number | undefined) => (kB === undefined ? '—' : `${(kB / 2 ** 20).toFixed(2)} GiB`);
