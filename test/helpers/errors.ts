/** Assertions on KmfitErrors shared by the test files. */
import { expect } from 'vitest';
import { KmfitError } from '../../src/errors.js';

/** Runs fn, expects a KmfitError with `code`, and returns its message. */
export function errorOf(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KmfitError);
    if (err instanceof KmfitError) {
      expect(err.code).toBe(code);
      return err.message;
    }
  }
  throw new Error(`expected a KmfitError ${code}, nothing was thrown`);
}

/** Awaits p, expects a rejection with a KmfitError of `code`, and returns its message. */
export async function asyncErrorOf(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KmfitError);
    if (err instanceof KmfitError) {
      expect(err.code).toBe(code);
      return err.message;
    }
  }
  throw new Error(`expected a KmfitError ${code}, nothing was rejected`);
}
