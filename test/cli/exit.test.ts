/**
 * Exit code 1: an error that is not a KmfitError (a bug, or a failure nothing anticipated) gets one
 * line on stderr that says so and how to see more, not a stack trace — unless --debug asks for it.
 * The command is run in-process with one command's implementation replaced by one that throws.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KmfitError } from '../../src/errors.js';

const failure = vi.hoisted(() => ({ error: new Error('boom') as Error }));
vi.mock('../../src/cli/devices.js', () => ({
  devices: async () => {
    throw failure.error;
  },
}));
const { main } = await import('../../src/cli/commands.js');

function stderrOf(run: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  return run().then((code) => {
    spy.mockRestore();
    return { code, stderr: written.join('') };
  });
}

describe('kmfit exit codes from errors inside a command', () => {
  afterEach(() => vi.restoreAllMocks());

  it('an unexpected error: exit 1, one line naming it and --debug', async () => {
    failure.error = new Error('boom');
    const { code, stderr } = await stderrOf(() => main(['devices']));
    expect(code).toBe(1);
    expect(stderr).toBe('kmfit: unexpected error: boom (run with --debug for the stack trace)\n');
  });

  it('with --debug the same line is followed by the stack trace', async () => {
    failure.error = new Error('boom');
    const { code, stderr } = await stderrOf(() => main(['devices', '--debug']));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^kmfit: unexpected error: boom\nError: boom\n\s+at /);
  });

  it('a KmfitError from the same place: exit 2 and its message alone', async () => {
    failure.error = new KmfitError('INVALID_OPTION', 'Something the user can fix: do this.');
    const { code, stderr } = await stderrOf(() => main(['devices']));
    expect(code).toBe(2);
    expect(stderr).toBe('kmfit: Something the user can fix: do this.\n');
  });
});
