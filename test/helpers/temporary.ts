/**
 * Temporary folders for tests, each removed when its test (made inside one) or its file (made at
 * the top level or in a describe) is done. test/globalSetup.ts points the suite's TMPDIR at a
 * folder of its own and fails the run if anything is left in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/** Runs `cleanUp` when the current test ends, or, outside a test, when the file's tests end. */
function whenDone(cleanUp: () => void): void {
  try {
    onTestFinished(cleanUp); // throws outside a test
  } catch {
    afterAll(cleanUp);
  }
}

function makeDirectory(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kmfit-${prefix}-`));
}

// A browser profile or a killed child can still be closing files: a few retries.
const remove = (directory: string) => rmSync(directory, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });

export function temporaryDirectory(prefix: string): string {
  const directory = makeDirectory(prefix);
  whenDone(() => remove(directory));
  return directory;
}

/**
 * A real small disk: a tmpfs of `bytes` mounted on a temporary folder, unmounted when done. It
 * needs root (CI runs as root); elsewhere it returns why not, and under CI=true it throws.
 */
export function smallDisk(bytes: number): { path: string } | { unavailable: string } {
  const directory = makeDirectory('disk');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', directory], { stdio: 'pipe' });
  } catch (error) {
    remove(directory);
    const reason = `cannot mount a tmpfs (${String((error as { stderr?: unknown }).stderr ?? error).trim()}): run the tests as root`;
    if (process.env.CI === 'true') throw new Error(reason);
    return { unavailable: reason };
  }
  whenDone(() => {
    execFileSync('umount', [directory]);
    remove(directory);
  });
  return { path: directory };
}

/** Fills the disk holding `directory` up to its last byte with a file `name`; returns its path. */
export function fillDisk(directory: string, name = 'filler'): string {
  const file = path.join(directory, name);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return file;
}
