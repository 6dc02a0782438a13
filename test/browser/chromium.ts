/**
 * Headless Chromium for the browser tests: where it is, and a run of it on one page — in its own
 * process group and profile, both removed afterwards — optionally driven through the DevTools
 * protocol over a pipe (--remote-debugging-pipe: no port, no WebSocket client needed).
 * Without Chromium the browser tests skip, except in CI (CI=true), where .ci/run installs Debian's
 * chromium and a missing one is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

const CANDIDATES = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const chromium = CANDIDATES.find((file): file is string => !!file && existsSync(file));
/** Whether a missing Chromium fails the tests instead of skipping them. */
export const chromiumRequired = process.env.CI === 'true';

export function requireChromium(): string {
  if (!chromium) throw new Error("Chromium is missing: .ci/run installs Debian's chromium (or set CHROMIUM to a browser binary)");
  return chromium;
}

/** A DevTools protocol session with the page (Target.attachToTarget, flattened). */
export class PageSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  private sessionId?: string;

  constructor(private readonly input: Writable, output: Readable) {
    // Messages are JSON, each ended by a NUL byte.
    let buffered = '';
    output.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let end: number;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const message = JSON.parse(buffered.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string } };
        buffered = buffered.slice(end + 1);
        const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
        if (!waiting) continue; // an event
        this.pending.delete(message.id!);
        if (message.error) waiting.reject(new Error(`DevTools: ${message.error.message}`));
        else waiting.resolve(message.result);
      }
    });
  }

  /** Sends a DevTools command to the page (to the browser before attach). */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.input.write(`${JSON.stringify({ id, method, params, ...(this.sessionId ? { sessionId: this.sessionId } : {}) })}\0`);
    return new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject }));
  }

  async attach(): Promise<void> {
    let page: { targetId: string; type: string } | undefined;
    // The page's target may come a moment after the browser answers.
    for (let tries = 0; !page && tries < 50; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      const { targetInfos } = await this.send<{ targetInfos: { targetId: string; type: string }[] }>('Target.getTargets');
      page = targetInfos.find((target) => target.type === 'page');
    }
    if (!page) throw new Error('Chromium has no page to attach to');
    this.sessionId = (await this.send<{ sessionId: string }>('Target.attachToTarget', { targetId: page.targetId, flatten: true })).sessionId;
  }

  /** The value of a JavaScript expression in the page (a promise is awaited), as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.text}`);
    return result.value as T;
  }
}

export interface ChromiumRun {
  /** Rejects, with Chromium's last output, if the browser exits before close(). */
  readonly exited: Promise<never>;
  /** With `devtools`: the session with the page, attached. */
  readonly page?: PageSession;
  close(): Promise<void>;
}

/** Starts headless Chromium on `url`. */
export async function launchChromium(url: string, flags: string[], options: { devtools?: boolean } = {}): Promise<ChromiumRun> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'kmfit-chromium-'));
  const pipes = options.devtools ? ['--remote-debugging-pipe'] : [];
  const child: ChildProcess = spawn(
    requireChromium(),
    ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${profile}`, ...pipes, ...flags, url],
    // Its own process group, so that its helper processes (GPU, renderers) can be killed with it;
    // its temporaries (org.chromium.Chromium.*, which a SIGKILL leaves) go with the profile.
    // With the DevTools pipe, Chromium reads commands from fd 3 and writes replies to fd 4.
    { stdio: ['ignore', 'ignore', 'pipe', ...(options.devtools ? (['pipe', 'pipe'] as const) : [])], detached: true, env: { ...process.env, TMPDIR: profile } },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let closing = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const exited = exit.then((code): never => {
    throw new Error(closing ? 'chromium was closed' : `chromium exited (code ${code}):\n${stderr}`);
  });
  exited.catch(() => undefined); // observed by whoever races it
  const close = async () => {
    closing = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exit;
    // Best effort: a straggling helper process may still hold the profile for a moment.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // a leftover temporary directory is not a test failure
    }
  };
  if (!options.devtools) return { exited, close };
  const page = new PageSession(child.stdio[3] as Writable, child.stdio[4] as Readable);
  try {
    await Promise.race([page.attach(), exited]);
  } catch (error) {
    await close();
    throw error;
  }
  return { exited, page, close };
}
