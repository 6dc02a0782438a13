/**
 * The whole suite's temporary folder: TMPDIR (and the capacity cache, XDG_CACHE_HOME) point into
 * a fresh folder that the test processes and the programs they start inherit. At the end the run
 * fails if any test left something there (tests make folders with helpers/temporary.ts, which
 * removes them), and the folder goes.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * What tools write into TMPDIR on their own, not the tests: onnxruntime-node's telemetry in every
 * process that loads it (the onnx backend; a session id `.ses` and an empty
 * `mat-debug-<pid>.log`), and tsx's compile cache (`tsx-<uid>`, for scripts run with tsx).
 */
const WRITTEN_BY_TOOLS = /^(\.ses|mat-debug-\d+\.log|tsx-\d+)$/;

export default function setup(): () => void {
  // Each vitest project runs the global set-up; the first one's folder serves them all.
  if (process.env.KMFIT_TEST_TMPDIR !== undefined) return () => undefined;
  const root = mkdtempSync(path.join(os.tmpdir(), 'kmfit-suite-'));
  const temporary = path.join(root, 'tmp');
  const cache = path.join(root, 'cache'); // capacity calibrations under the test load stay out of the user's cache
  mkdirSync(temporary);
  mkdirSync(cache);
  process.env.TMPDIR = process.env.KMFIT_TEST_TMPDIR = temporary;
  process.env.XDG_CACHE_HOME = cache;
  return () => {
    const left = readdirSync(temporary).filter((name) => !WRITTEN_BY_TOOLS.test(name));
    rmSync(root, { recursive: true, force: true });
    if (left.length > 0) {
      // A teardown's exception is only logged by vitest: the exit code is what CI sees.
      process.stderr.write(`\nFAIL: the tests left ${left.length} temporary entries behind: ${left.join(', ')}\n`);
      process.exitCode = 1;
    }
  };
}
