/** The kmfit command line run in-process (src/cli/commands.ts's main), with what it writes captured. */
import { vi } from 'vitest';
import { main } from '../../src/cli/commands.js';

/**
 * Runs `kmfit …args`: its exit code and what it wrote to stdout and stderr. `interruptAt`: a Ctrl-C
 * (SIGINT) as soon as a line of stdout matches it.
 */
export async function runMain(args: string[], interruptAt?: RegExp): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let interrupted = false;
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    if (interruptAt && !interrupted && interruptAt.test(String(chunk))) {
      interrupted = true;
      process.emit('SIGINT');
    }
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
