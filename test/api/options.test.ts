/**
 * What derives from the option table (src/options.ts FIT_OPTIONS): the checkpoint's defining
 * list as docs/checkpoint-format.md documents it, the command line's flags-to-options mapping
 * (and its --checkpoint-every, held to the checkpoint option's rule), and the defaults fit() applies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitOptionsOf } from '../../src/cli/usage.js';
import { CHECKPOINT_SCHEDULE_RULES, DEFINING_OPTIONS, checkValue, validateOptions, withDefaults } from '../../src/options.js';
import { runMain } from '../helpers/cli.js';
import { errorOf } from '../helpers/errors.js';

describe('the option table', () => {
  it('defines the options that docs/checkpoint-format.md lists as kept in a checkpoint', () => {
    const doc = readFileSync(path.resolve(__dirname, '../../docs/checkpoint-format.md'), 'utf8');
    const row = doc.split('\n').find((line) => line.startsWith('| `options` |'))!;
    const listed = row.split('as given:')[1].split('.')[0].match(/`(\w+)`/g)!.map((name) => name.slice(1, -1));
    expect([...DEFINING_OPTIONS].sort()).toEqual(listed.sort());
  });

  it('turns command-line flags into fit() options, leaving out those not given', () => {
    const args = { 'batch-size': 8, subsample: 100, seed: 3, 'early-stopping': 2, q: 0, backend: 'js', epochs: undefined, save: 'm.kmfit' };
    expect(fitOptionsOf(args)).toEqual({ batchSize: 8, subsampleSize: 100, seed: 3, earlyStopping: 2, q: 0, backend: 'js' });
  });

  it("holds --checkpoint-every to the checkpoint option's everyIterations rule, named as typed", async () => {
    const cli = await runMain(['data.npy', '--checkpoint-every', '2.5']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe(`kmfit: ${errorOf(() => checkValue('--checkpoint-every', CHECKPOINT_SCHEDULE_RULES.everyIterations, 2.5), 'INVALID_OPTION')}\n`);
    expect(errorOf(() => validateOptions({ checkpoint: { path: 'a', everyIterations: 2.5 } }), 'INVALID_OPTION')).toContain('its everyIterations is 2.5, not an integer ≥ 1');
    expect(errorOf(() => validateOptions({ checkpoint: { path: 'a', everySeconds: 0 } }), 'INVALID_OPTION')).toContain('its everySeconds is 0, not a number > 0');
  });

  it('fills in the documented defaults and keeps what was given', () => {
    // epochs has no fixed default: left out, the run trains until converged (convergence.ts).
    const defaults = { seed: 0, scale: 'none', backend: 'auto', cache: 'auto', copyX: true, labelName: 'y', refit: true };
    expect(withDefaults({})).toEqual(defaults);
    expect(withDefaults({ epochs: 2, seed: undefined, bandwidth: 3 })).toEqual({ ...defaults, epochs: 2, bandwidth: 3 });
  });

  it("copyX: false scores validation.X's own Float32Array where nothing scales it, and never writes into it", async () => {
    const { prepareTraining } = await import('../../src/prepare.js');
    const X = { data: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]), rows: 6, cols: 2 };
    const y = [0, 1, 0, 1, 0, 1];
    const given = new Float32Array([1, 2, 3, 5, 8, 13]);
    const validation = { X: { data: given, rows: 3, cols: 2 }, y: [1, 0, 1] };
    const prepare = (options: { copyX: boolean; scale: 'none' | 'standard' }) =>
      prepareTraining(X, y, { seed: 0, labelName: 'y', bandwidth: 1, validation, ...options }).validation!.X.data;
    expect(prepare({ copyX: false, scale: 'none' })).toBe(given);
    const copied = prepare({ copyX: true, scale: 'none' });
    expect(copied).not.toBe(given);
    expect(copied).toEqual(given);
    // Standardized: each column's (v − mean)/std of X's columns (means 5 and 6.1667), in a new array.
    const scaled = prepare({ copyX: false, scale: 'standard' });
    expect(scaled).not.toBe(given);
    const std0 = Math.sqrt([0, 2, 4, 6, 8, 10].reduce((sum, v) => sum + (v - 5) ** 2, 0) / 6);
    expect(scaled[0]).toBeCloseTo((1 - 5) / std0, 5);
    expect(given).toEqual(new Float32Array([1, 2, 3, 5, 8, 13]));
  });

  it('labelName: what the messages about y call it; a non-empty string', async () => {
    const { fit } = await import('../../src/index.js');
    const X = Array.from({ length: 24 }, (_, i) => [(i * 7) % 11, i % 5]);
    const prices = X.map((_, i) => 100 + i);
    const named = await fit(X, prices, { labelName: 'price', epochs: 1, backend: 'js' }).catch((error: Error) => error);
    expect((named as Error).message).toMatch(/^price holds 24 distinct integers among 24 labels/);
    const plain = await fit(X, prices, { epochs: 1, backend: 'js' }).catch((error: Error) => error);
    expect((plain as Error).message).toMatch(/^y holds 24 distinct integers/);
    expect(errorOf(() => validateOptions({ labelName: '' }), 'INVALID_OPTION')).toMatch(/labelName.*a non-empty string/);
  });
});
