/**
 * numpy-dependent tests use Debian's /usr/bin/python3 with python3-numpy. Required in CI
 * (CI=true): there a missing numpy fails the tests; elsewhere they are skipped.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';
export const HAVE_NUMPY = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
/** Whether numpy tests run: wherever numpy is installed, and always in CI. Use with it.runIf. */
export const RUN_NUMPY_TESTS = HAVE_NUMPY || process.env.CI === 'true';

/** Runs a Python script that prints JSON, and returns the parsed value. */
export function runPython(script: string, ...args: string[]): unknown {
  if (!HAVE_NUMPY) {
    throw new Error(`CI=true but ${PYTHON} with numpy is missing: apt-get install -y python3-numpy`);
  }
  const result = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}
