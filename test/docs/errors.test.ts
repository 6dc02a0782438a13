/**
 * docs/errors.md is the table of error codes: one row for each code a KmfitError can carry, and
 * no row for a code that does not exist.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KMFIT_ERROR_CODES } from '../../src/errors.js';

const TABLE = readFileSync(path.resolve(__dirname, '../../docs/errors.md'), 'utf8');

describe('docs/errors.md', () => {
  it('has one row per error code, each with what, when and what to do', () => {
    const rows = [...TABLE.matchAll(/^\| `([A-Z_]+)` \|(.*)\|$/gm)];
    expect(rows.map(([, code]) => code).sort()).toEqual([...KMFIT_ERROR_CODES].sort());
    for (const [, code, rest] of rows) {
      const cells = rest.split(' | ').map((cell) => cell.trim());
      expect(cells, code).toHaveLength(3);
      for (const cell of cells) expect(cell.length, code).toBeGreaterThan(10);
    }
  });
});
