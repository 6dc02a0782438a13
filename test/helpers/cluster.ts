/**
 * A real NATS server on a loopback port and real `kmfit worker` processes, for the cluster tests.
 * Where nats-server is not installed the tests are skipped, except under CI=true, where that is a
 * failure (.ci/run installs it from Debian).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { ROOT } from './child.js';

const installed = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
if (!installed && process.env.CI === 'true') throw new Error('nats-server is not installed: the cluster tests need it (apt-get install nats-server)');
/** Whether the cluster tests run here. */
export const HAVE_NATS_SERVER = installed;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Waits until `text` shows in what a child has written, or fails after `ms`. */
export function waitForOutput(child: ChildProcess, text: string | RegExp, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${seen}`)), ms);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(seen);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
}

/** nats-server on a free loopback port, with extra arguments (credentials, TLS); stopped after the file's tests. */
export async function startNatsServer(extra: string[] = []): Promise<NatsServer> {
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  await waitForOutput(child, 'Server is ready', 10_000);
  return { url: `nats://127.0.0.1:${port}`, port, process: child };
}

/** A `kmfit worker` process (the CLI, from source), ready once it says it waits for a run. */
export async function startWorker(server: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker', '--server', server, '--backend', 'js', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  await waitForOutput(child, 'waiting for a run', 30_000);
  return child;
}

/** A node process running `script` (TypeScript, from the repository root), with its output captured. */
export function startScript(script: string, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return child;
}

/** The exit of a child: its code, and all it wrote. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

/** Stops a worker the way Ctrl-C does and checks that it exits by itself. */
export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = exitOf(child);
  child.kill('SIGTERM');
  const { code } = await exit;
  expect(code).toBe(0);
}
