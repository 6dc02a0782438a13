/** kmfit/notebook's HTML, progress display and confusion counts, against hand-made answers. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/fit.js';
import { confusionMatrix, misclassified } from '../../src/notebook/confusion.js';
import { escapeHtml, historyTable, planTable } from '../../src/model/html.js';
import { searchSpec } from '../../src/notebook/charts.js';
import { trainingProgress } from '../../src/notebook/progress.js';
import { renderSvg } from '../../src/plot/vega.js';
import type { EpochReport } from '../../src/solver/events.js';
import type { Plan, SearchCandidate, SearchPlan } from '../../src/solver/plan.js';
import { errorOf } from '../helpers/errors.js';

const plan = {
  n: 100, d: 4, outputs: 3, task: 'classification', kernel: 'laplacian(σ = 2)', bandwidth: 2, bandwidthSource: 'given',
  backend: 'js', subsampleSize: 100, q: 7, qSource: 'analytic', lambda1: 0.5, lambdaQ: 0.01, lambdaNew: 0.0123,
  beta: 1, criticalBatchPlain: 2, criticalBatch: 81.3, deviceBatchLimit: 64, deviceBatchLimitSource: 'memory <model>',
  batchSize: 64, batchSizeSource: 'device limit', stepSize: 64, stepSizeSource: 'analytic', stepRegime: 'linear',
  epochs: 2, iterationsPerEpoch: 2, seed: 0, eigenSeconds: 0.1, setupSeconds: 0.2,
} satisfies Plan;

const epoch = (e: number, extra: Partial<EpochReport> = {}): EpochReport => ({
  epoch: e, epochs: 2, seconds: 1.25, iterations: 2, trainMse: 0.5 / e, trainError: 0.1 / e, best: true, ...extra,
});

/** The text of an HTML fragment's cells, row by row. */
function cells(html: string): string[][] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[dh][^>]*>(.*?)<\/t[dh]>/g)].map((c) => c[1].replace(/<[^>]+>/g, '')));
}

describe('searchSpec', () => {
  const candidate = (sigma: number, figures?: { mse: number[]; error?: number[] }): SearchCandidate => ({
    kernel: `gaussian(σ = ${sigma})`, name: 'gaussian', bandwidth: sigma, bandwidthSource: 'given', q: 3, stepSize: 1,
    ...(figures ? { status: 'trained', validationMse: figures.mse, ...(figures.error ? { validationError: figures.error } : {}) } : { status: 'diverged' }),
  });
  const search = (candidates: SearchCandidate[], winner: number): SearchPlan => ({
    candidates, grid: 'given', heldOut: 'the validation data (8 rows)', batchSizeWhy: 'given', perPass: 3, passes: 1, perPassWhy: 'memory', sharesDistances: true, winner,
  });
  /** The points drawn: each mark's aria label, as Vega writes it (a line's repeats its first point's). */
  const points = (svg: string) => [...svg.matchAll(/aria-label="(epoch: [^"]*)"/g)].map((m) => m[1]);

  it("draws each trained candidate's held-out error per epoch, the kept one thick, none for a diverged one", async () => {
    const spec = searchSpec(search([candidate(1, { mse: [0.5, 0.4], error: [0.125, 0.0625] }), candidate(2), candidate(4, { mse: [0.6, 0.3], error: [0.25, 0.03125] })], 2));
    const svg = await renderSvg(spec);
    expect(new Set(points(svg))).toEqual(
      new Set([
        'epoch: 1; held-out error: 12.5%; candidate: gaussian(σ = 1)',
        'epoch: 2; held-out error: 6.3%; candidate: gaussian(σ = 1)',
        'epoch: 1; held-out error: 25.0%; candidate: gaussian(σ = 4) (kept)',
        'epoch: 2; held-out error: 3.1%; candidate: gaussian(σ = 4) (kept)',
      ]),
    );
    expect(svg).not.toContain('σ = 2');
    // Two lines: the kept one at width 3, the other at 1.2.
    expect((svg.match(/stroke-width="3"/g) ?? []).length).toBeGreaterThan(0);
    expect((svg.match(/stroke-width="1.2"/g) ?? []).length).toBeGreaterThan(0);
  });

  it('draws the held-out mse for a regression search', async () => {
    const svg = await renderSvg(searchSpec(search([candidate(1, { mse: [2.5] }), candidate(3, { mse: [1.5] })], 1)));
    expect(new Set(points(svg))).toEqual(new Set(['epoch: 1; held-out mse: 1.5; candidate: gaussian(σ = 3) (kept)', 'epoch: 1; held-out mse: 2.5; candidate: gaussian(σ = 1)']));
  });
});

describe('confusionMatrix', () => {
  it('counts true rows against predicted columns, classes in numeric order', () => {
    const truth = [10, 2, 2, 1, 10, 1];
    const predicted = [10, 2, 1, 1, 2, 1];
    expect(confusionMatrix(truth, predicted)).toEqual({
      labels: [1, 2, 10],
      counts: [
        [2, 0, 0],
        [1, 1, 0],
        [0, 1, 1],
      ],
    });
    expect(misclassified(Uint8Array.from(truth), predicted)).toEqual([2, 4]);
  });

  it('takes string labels and a class only ever predicted', () => {
    expect(confusionMatrix(['cat', 'dog'], ['cat', 'emu'])).toEqual({ labels: ['cat', 'dog', 'emu'], counts: [[1, 0, 0], [0, 0, 1], [0, 0, 0]] });
  });

  it('refuses mismatched lengths and regression outputs', () => {
    expect(errorOf(() => confusionMatrix([1, 2], [1]), 'LENGTH_MISMATCH')).toBe('truth has 2 labels but predicted has 1; pass one prediction per true label.');
    expect(errorOf(() => misclassified([1], [[0.5]]), 'INVALID_LABELS')).toContain('predicted[0] is an array of length 1, not a class label');
  });
});

describe('HTML tables', () => {
  it('the plan table has every line of the text plan block, escaped', () => {
    const rows = cells(planTable(plan));
    expect(rows.map((r) => r[0])).toEqual(['data', 'kernel', 'subsample s', 'q', 'λ_1, λ_q, λ_new', 'β', 'm* plain → preconditioned', 'device limit m_G', 'batch size m', 'step size η', 'epochs', 'backend', 'set-up']);
    expect(rows[3]).toEqual(['q', '7', 'analytic']);
    expect(rows[7]).toEqual(['device limit m_G', '64', 'memory &lt;model&gt;']);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('the history table shows only columns with values and marks the kept epoch', () => {
    const rows = cells(historyTable([epoch(1), epoch(2)], 1));
    expect(rows).toEqual([
      ['epoch', 'seconds', 'train mse', 'train error'],
      ['1 ★', '1.3', '0.5', '10.00 %'],
      ['2', '1.3', '0.25', '5.00 %'],
    ]);
  });
});

describe('trainingProgress', () => {
  it('redraws one display: throttled iterations, every epoch, and a finished table at the end', () => {
    const shown: string[] = [];
    const progress = trainingProgress({ html: (h) => shown.push(h) }, { everyMs: 60_000 });
    progress.onPlan(plan);
    progress.onIteration({ epoch: 1, iteration: 1, iterationsPerEpoch: 2, batchSize: 64, batchMse: 0.9 });
    progress.onIteration({ epoch: 1, iteration: 2, iterationsPerEpoch: 2, batchSize: 64, batchMse: 0.8 });
    expect(shown).toHaveLength(1); // the plan's draw; iterations within everyMs wait
    progress.onEpoch(epoch(1));
    expect(shown[1]).toContain('<progress value="2" max="4"');
    expect(cells(shown[1])).toHaveLength(2);
    progress.onEpoch(epoch(2));
    const last = shown[shown.length - 1];
    expect(last).toContain('<progress value="4" max="4"');
    expect(last).toContain('done: 2 epochs');
    expect(cells(last).map((r) => r[0])).toEqual(['epoch', '1', '2']);
  });

  it('draws every iteration when everyMs is 0', () => {
    const shown: string[] = [];
    const progress = trainingProgress({ html: (h) => shown.push(h) }, { everyMs: 0 });
    progress.onPlan(plan);
    progress.onIteration({ epoch: 2, iteration: 1, iterationsPerEpoch: 2, batchSize: 64, batchMse: 0.25 });
    expect(shown[1]).toContain('<progress value="3" max="4"');
    expect(shown[1]).toContain('epoch 2/2 · iteration 1/2 · batch mse 0.25');
  });
});


describe('a model in a notebook', () => {
  it('shows itself as HTML (kernel, sizes, plan, history) and prints as one line', async () => {
    const X = Array.from({ length: 60 }, (_, i) => [Math.cos(i), Math.sin(2 * i)]);
    const model = await fit(X, X.map((x) => x[0] + x[1]), { backend: 'js', epochs: 2 });
    const html = model.toHTML();
    expect(html).toContain('<b>kmfit regression model</b>: 60 centers × 2 features → 1 output; kernel laplacian(σ = ');
    expect(html).toContain(planTable(model.plan));
    expect(html).toContain(historyTable(model.history, model.keptEpoch));
    expect(cells(historyTable(model.history))).toHaveLength(3);
    expect(inspect(model)).toMatch(/^KernelModel \{ regression, 60 centers × 2 features → 1 output, kernel laplacian\(σ = [\d.]+\), 2 epochs \(epochs\) \}$/);
    await model.dispose();
  });
});
