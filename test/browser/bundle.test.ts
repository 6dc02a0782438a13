/**
 * The package's browser entry (package.json `exports` → `browser` → dist/browser.js; `npm test`
 * builds dist/ first), bundled for the browser with esbuild as a page's build would: its graph holds
 * no Node.js module. Then that same bundle runs — in Node, with code generation from strings
 * forbidden as a strict Content Security Policy forbids it — through what a page does: train with a
 * built-in kernel, keep the model as bytes, load it back; and what a page cannot do fails with
 * UNSUPPORTED_HERE. (Headless Chromium runs the backends in backends.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, type BrowserBundle } from '../../bench/browserBundle.js';
import { temporaryDirectory } from '../helpers/temporary.js';

/** What the page script below reports. */
interface PageRun {
  score: number;
  backend: string;
  capacityCached: boolean;
  sameScores: boolean;
  refusals: Record<string, string>;
}

// Run as an ES module in a child Node process, the bundle beside it; localStorage is a Map.
const PAGE_SCRIPT = `
const kmfit = await import('./kmfit.mjs');
const items = new Map();
globalThis.localStorage = { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => void items.set(key, String(value)) };
const X = Array.from({ length: 300 }, (_, i) => [Math.sin(i), Math.cos(3 * i), (i % 7) / 7]);
const y = X.map((x) => (x[0] + x[1] > 0 ? 'up' : 'down'));
const refused = async (promise) => { try { await promise; return 'nothing thrown'; } catch (e) { return e instanceof kmfit.KmfitError ? e.code : String(e); } };
// cache: 'off' makes the run measure the device's capacity, which goes to localStorage.
const model = await kmfit.fit(X, y, { kernel: 'laplacian', epochs: 2, backend: 'wasm', cache: 'off' });
const again = await kmfit.loadModel(model.toBytes().buffer);
const scores = [(await model.predictScores(X)).data, (await again.predictScores(X)).data];
const report = {
  score: await again.score(X, y),
  backend: model.plan.backend,
  capacityCached: items.has('kmfit.capacity'),
  sameScores: scores[0].every((v, i) => Object.is(v, scores[1][i])),
  refusals: {
    checkpoint: await refused(kmfit.fit(X, y, { checkpoint: { path: 'run.ckpt' } })),
    resumeFrom: await refused(kmfit.fit(X, y, { resumeFrom: 'run.ckpt' })),
    loadPath: await refused(kmfit.loadModel('model.kmfit')),
    save: await refused(model.save('model.kmfit')),
    customKernel: await refused(kmfit.fit(X, y, { kernel: 'exp(-r^1.5 / sigma)', epochs: 1 })),
    cluster: await refused(kmfit.fit(X, y, { cluster: { server: 'nats://127.0.0.1:4222', workers: 1 } })),
  },
};
await model.dispose();
await again.dispose();
console.log(JSON.stringify(report));
`;

describe('the browser build', () => {
  let bundle: BrowserBundle;
  beforeAll(async () => {
    bundle = await bundleForBrowser();
  });

  it('bundles for the browser with no Node.js module in its graph', () => {
    // esbuild fails on a Node module it cannot resolve for the browser; these catch the rest.
    const inputs = Object.entries(bundle.metafile.inputs);
    expect(inputs.map(([file]) => file), 'the browser condition of package.json exports').toContain('dist/browser.js');
    // A package's own `browser` field standing in for a Node module it uses (protobufjs's fs).
    expect(inputs.filter(([file]) => file.startsWith('(disabled):')).map(([file]) => file)).toEqual([]);
    // Left for the page to resolve: none.
    expect(inputs.flatMap(([, input]) => input.imports.filter((i) => i.external).map((i) => i.path))).toEqual([]);
    // The Node builds' ES-module banner (a require for bundled CommonJS) is not in this one.
    expect(bundle.code).not.toContain('createRequire');
  });

  it('trains with a built-in kernel where code generation is forbidden, moves models as bytes, and refuses what needs Node', () => {
    const dir = temporaryDirectory('browser-bundle');
    writeFileSync(path.join(dir, 'kmfit.mjs'), bundle.code);
    writeFileSync(path.join(dir, 'page.mjs'), PAGE_SCRIPT);
    const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', 'page.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    const run = JSON.parse(child.stdout) as PageRun;
    expect(run.backend).toBe('wasm');
    expect(run.score).toBeGreaterThan(0.9);
    expect(run.sameScores).toBe(true);
    expect(run.capacityCached).toBe(true);
    expect(run.refusals).toEqual({
      checkpoint: 'UNSUPPORTED_HERE',
      resumeFrom: 'UNSUPPORTED_HERE',
      loadPath: 'UNSUPPORTED_HERE',
      save: 'UNSUPPORTED_HERE',
      customKernel: 'UNSUPPORTED_HERE',
      cluster: 'UNSUPPORTED_HERE',
    });
  });
});
