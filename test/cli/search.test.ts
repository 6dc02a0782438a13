/**
 * `kmfit train --bandwidth a,b,c`: the plan's search rows (the cache row among them), the table of
 * held-out figures per epoch, and --json's `search`, which the table must show figure for figure
 * (formatted here by hand); a cache precision or a checkpoint with a search is refused with exit code 2,
 * and Ctrl-C during a search offers no checkpoint, which a search does not write.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import type { SearchPlan } from '../../src/solver/plan.js';
import { runMain } from '../helpers/cli.js';
import { lcg } from '../helpers/data.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const dir = temporaryDirectory('cli-search');
const data = path.join(dir, 'blobs.npy');
{
  // Three noisy classes in 5 features, the label as the last column.
  const next = lcg(1);
  const [n, d] = [300, 5];
  const rows = new Float32Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) rows[i * (d + 1) + k] = ((k + (i % 3) * 2) % 3) + 3 * (next() - 0.5);
    rows[i * (d + 1) + d] = i % 3;
  }
  writeFileSync(data, encodeNpy({ data: rows, shape: [n, d + 1] }));
}

describe('kmfit train with a bandwidth search', () => {
  it('prints the search in the plan, the table of held-out errors, and the same figures in --json', async () => {
    const args = [data, '--backend', 'js', '--kernel', 'gaussian', '--bandwidth', '1,2,4', '--epochs', '2', '--save', path.join(dir, 'a.kmfit')];
    const run = await runMain(args);
    expect(run.code, run.stderr).toBe(0);
    const json = await runMain([...args, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const search = JSON.parse(json.stdout).search as SearchPlan;
    expect(search.candidates.map((c) => c.bandwidth)).toEqual([1, 2, 4]);
    const rowOf = (name: string) => run.stdout.split('\n').find((line) => line.trimStart().startsWith(name));
    expect(rowOf('search')).toMatch(/3 candidates: gaussian\(σ = 1\), gaussian\(σ = 2\), gaussian\(σ = 4\)\s+\(given: 1, 2, 4\)/);
    expect(rowOf('judged on')).toMatch(/a seeded split of the training data: 60 of 300 rows \(holdout 0\.2\)/);
    expect(rowOf('per pass')).toMatch(/3 of 3 \(1 pass\)/);
    expect(rowOf('cache')).toMatch(/off\s+\(each candidate's kernel values differ/);
    // Set-up made one eigensystem per candidate: the row gives each, and their sum.
    const times = rowOf('set-up')!.match(/\(eigensystems ([\d.]+) s, one per candidate: ([\d.]+) \+ ([\d.]+) \+ ([\d.]+)\)/)!.slice(1).map(Number);
    expect(times[0]).toBeCloseTo(times[1] + times[2] + times[3], 1);
    expect(search.eigenSeconds).toHaveLength(3);
    // The table: one line per candidate with its error after each epoch, the kept one marked.
    search.candidates.forEach((candidate, k) => {
      const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith(`${candidate.kernel} `))!;
      const errors = candidate.validationError!.map((e) => `${(e * 100).toFixed(2)} %`);
      expect(errors).toHaveLength(2);
      expect(line.trim().split(/\s{2,}/)).toEqual([candidate.kernel, String(candidate.q), expect.any(String), ...errors, ...(k === search.winner ? ['← kept'] : [])]);
    });
  }, 60_000);

  it('trains the kept candidate again on all rows, with a plan of its own; --no-refit keeps it as trained on the rest', async () => {
    const args = [data, '--backend', 'js', '--kernel', 'gaussian', '--bandwidth', '1,2', '--epochs', '1', '--json'];
    const refit = await runMain([...args, '--save', path.join(dir, 'r.kmfit')]);
    expect(refit.code, refit.stderr).toBe(0);
    const kept = JSON.parse(refit.stdout);
    expect(kept.plan.n).toBe(300);
    expect(kept.search.refit).toBe('the kept candidate trained again on all 300 rows');
    const text = await runMain([...args.slice(0, -1), '--save', path.join(dir, 'r.kmfit')]);
    expect(text.stdout).toMatch(/^plan of the refit \(the kept candidate trained again on all 300 rows\)$/m);
    const asTrained = await runMain([...args, '--no-refit', '--save', path.join(dir, 'n.kmfit')]);
    expect(asTrained.code, asTrained.stderr).toBe(0);
    const rest = JSON.parse(asTrained.stdout);
    expect(rest.plan.n).toBe(240);
    expect(rest.search.refit).toBeUndefined();
    expect(rest.search.candidates).toEqual(kept.search.candidates);
  }, 60_000);

  it('refuses a cache precision: a search keeps no kernel cache', async () => {
    const run = await runMain([data, '--backend', 'js', '--bandwidth', '1,2', '--cache', 'float16', '--epochs', '1', '--save', path.join(dir, 'b.kmfit')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^kmfit: The 'cache' option asks for a kernel cache, which a bandwidth search does not keep .*set it to 'off'\.\n$/);
  });
});

describe('a bandwidth search and checkpoints', () => {
  it('with --no-save (and with --no-checkpoint, which it does not need): trains, reports, and writes nothing', async () => {
    const before = readdirSync(path.dirname(data)).sort();
    for (const extra of [[], ['--no-checkpoint']]) {
      const run = await runMain([data, '--backend', 'js', '--bandwidth', '1,2', '--epochs', '1', '--no-save', ...extra]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(' · model not saved (--no-save)\n');
    }
    expect(readdirSync(path.dirname(data)).sort()).toEqual(before);
  });

  it('refuses --checkpoint and --checkpoint-every: a search keeps no checkpoint', async () => {
    for (const extra of [['--checkpoint', path.join(dir, 's.checkpoint')], ['--checkpoint-every', '2']]) {
      const run = await runMain([data, '--backend', 'js', '--bandwidth', '1,2', '--epochs', '1', '--save', path.join(dir, 's.kmfit'), ...extra]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^kmfit: a bandwidth search .* keeps no checkpoint to resume from: drop --checkpoint and --checkpoint-every, or train one bandwidth\.\n$/);
      expect(existsSync(path.join(dir, 's.checkpoint'))).toBe(false);
      expect(existsSync(path.join(dir, 's.kmfit'))).toBe(false);
    }
  });

  it('Ctrl-C: the model so far is saved, and no checkpoint is claimed or offered to resume from', async () => {
    const model = path.join(dir, 'i.kmfit');
    // Ctrl-C as soon as the first epoch of the first candidate is reported.
    const { code, stdout: text } = await runMain([data, '--backend', 'js', '--bandwidth', '1,2', '--epochs', '5', '--save', model], /epoch 1\/5/);
    expect(code, text).toBe(130);
    expect(existsSync(model)).toBe(true);
    expect(existsSync(path.join(dir, 'i.checkpoint'))).toBe(false);
    expect(text).toMatch(/^interrupted in epoch \d+: no checkpoint was written, so the run cannot be resumed; the model as it stood saved to /m);
    expect(text).not.toContain('checkpoint saved');
    expect(text).not.toContain('kmfit resume');
  }, 60_000);
});
