/**
 * Output that cannot be written for another reason than a closed pipe (which ends the command
 * quietly) — here a real full device, /dev/full, as `kmfit … > file` on a full disk — is one line
 * on stderr and exit 1, with the stack trace only under --debug.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../reliability/helpers/process.js';

const MODEL = path.resolve(__dirname, '../fixtures/formats/model-v1.kmfit');

function infoInto(device: string, ...extra: string[]): { status: number | null; stderr: string } {
  const fd = openSync(device, 'w');
  try {
    const out = spawnSync(process.execPath, [CLI, 'info', MODEL, ...extra], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    return { status: out.status, stderr: out.stderr };
  } finally {
    closeSync(fd);
  }
}

describe('standard output that fails', () => {
  it('a full device: one line, exit 1, no stack trace', () => {
    const { status, stderr } = infoInto('/dev/full');
    expect(status).toBe(1);
    expect(stderr).toBe('kmfit: cannot write the output: ENOSPC: no space left on device, write\n');
  });

  it('with --debug, the stack trace follows the line', () => {
    const { status, stderr } = infoInto('/dev/full', '--debug');
    expect(status).toBe(1);
    expect(stderr).toMatch(/^kmfit: cannot write the output: ENOSPC: no space left on device, write\nError: ENOSPC[^\n]*\n\s+at /);
  });
});
