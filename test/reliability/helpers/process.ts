/** The kmfit command as a child process that a test can watch and kill. */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../../dist/cli/main.js');
const OBSERVER = path.resolve(__dirname, 'writeObserver.mjs');

export interface Running {
  /** Resolves when a line of stderr matches (rejects if the process ends first). */
  waitFor(pattern: RegExp): Promise<string>;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `kmfit args…` in `cwd` with the write observer preloaded, watching `watch`'s writes. */
export function startKmfit(cwd: string, args: string[], watch: string, pause?: string): Running {
  const child = spawn(process.execPath, ['--import', OBSERVER, CLI, ...args], {
    cwd,
    env: { ...process.env, KMFIT_TEST_WATCH: watch, ...(pause ? { KMFIT_TEST_PAUSE: pause } : {}) },
  });
  let stdout = '';
  let stderr = '';
  const lines: string[] = []; // complete lines of stderr
  const waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const settle = () => {
    for (const w of [...waiters]) {
      const line = lines.find((l) => w.pattern.test(l));
      if (line === undefined) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  };
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    lines.splice(0, lines.length, ...stderr.split('\n').slice(0, -1));
    settle();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters) w.reject(new Error(`kmfit ended (${code ?? signal}) before ${w.pattern}: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        settle();
      }),
    kill: (signal) => child.kill(signal),
    exited,
  };
}

/** Runs `kmfit args…` to the end. */
export function runKmfit(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}
