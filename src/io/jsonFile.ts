/** A small JSON file kept between runs, replaced whole on each write (solver/capacity.ts's cache). */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonStore } from '../platform/types.js';

export function jsonFile(file: string): JsonStore {
  return {
    read() {
      try {
        return JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        return undefined; // missing or unreadable: the caller computes it again
      }
    },
    write(value) {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
        // Written beside it and renamed over it, so that a reader never sees half a file.
        const temporary = `${file}.${process.pid}.tmp`;
        writeFileSync(temporary, JSON.stringify(value, null, 1));
        renameSync(temporary, file);
      } catch {
        // A read-only home only costs the work again next time.
      }
    },
  };
}
