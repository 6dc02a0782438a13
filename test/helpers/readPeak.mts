/**
 * Child process of test/io/sizes.test.ts: reads each case file of the manifest given as argv[2]
 * with the reader it names and prints one JSON line per case: the outcome and the peak resident
 * memory during that read alone (Linux VmHWM, reset before each case through /proc/self/clear_refs).
 * Run with --expose-gc, so that each case starts from the memory of the one before collected.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readIdxFile } from '../../datasets/mnist.js';
import { KmfitError } from '../../src/errors.js';
import { readDataFile } from '../../src/io/dataFile.js';
import { openNpy } from '../../src/io/npyFile.js';
import { loadModel } from '../../src/model/load.js';

export interface ReadCase {
  readonly name: string;
  readonly file: string;
  readonly reader: 'data' | 'model' | 'idx' | 'openNpy';
}

export interface ReadOutcome {
  readonly name: string;
  /** Error code, 'ok' when the read succeeded, or 'not KmfitError: …'. */
  readonly outcome: string;
  readonly message?: string;
  /** Resident memory of the process when the case started (the modules loaded, the last case collected), bytes. */
  readonly startBytes: number;
  /** Peak resident memory of the whole process during the case, bytes. */
  readonly peakBytes: number;
}

const highWaterMark = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

const readers = {
  data: (file: string) => readDataFile(file),
  model: (file: string) => loadModel(file),
  idx: (file: string) => readIdxFile(file),
  // Opens the file and reads its last row: a lying header must be refused before either.
  openNpy: (file: string) => {
    const opened = openNpy(file);
    try {
      opened.readRows([opened.rows - 1]);
    } finally {
      opened.close();
    }
  },
};

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
for (const c of JSON.parse(readFileSync(process.argv[2], 'utf8')) as ReadCase[]) {
  gc();
  writeFileSync('/proc/self/clear_refs', '5'); // peak RSS := current RSS
  const startBytes = highWaterMark();
  let outcome = 'ok';
  let message: string | undefined;
  try {
    await readers[c.reader](c.file);
  } catch (error) {
    outcome = error instanceof KmfitError ? error.code : `not KmfitError: ${String(error)}`;
    message = (error as Error).message;
  }
  const result: ReadOutcome = { name: c.name, outcome, message, startBytes, peakBytes: highWaterMark() };
  process.stdout.write(JSON.stringify(result) + '\n');
}
