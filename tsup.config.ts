import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

// @stdlib's deep paths ('@stdlib/random/base/mt19937') are CommonJS folders with no `exports` map,
// which Node's ES-module resolver refuses: bundle them into both builds instead. Bundled CommonJS
// calls require() for Node built-ins, so the ES-module builds get a real one from createRequire.
// mathjs is bundled too, tree-shaken to its parser: the whole library costs ≈1 s at every start.
const noExternal = [/^@stdlib\//, /^mathjs$/];
const esmRequire = "import { createRequire as __kmfitCreateRequire } from 'node:module';\nconst require = __kmfitCreateRequire(import.meta.url);";

// @stdlib/buffer/ctor (under @stdlib/random/sample) requires Node's `buffer` as it loads, and uses its
// own polyfill where there is no global Buffer. The browser build gives it the global Buffer instead:
// nothing in a page, Node's own where the browser build runs in Node (tests, jsdom).
const globalBufferForStdlib: Plugin = {
  name: 'global-buffer-for-stdlib',
  setup(build) {
    build.onResolve({ filter: /^buffer$/ }, ({ importer }) =>
      /[\\/]@stdlib[\\/]buffer[\\/]ctor[\\/]/.test(importer) ? { path: 'buffer', namespace: 'kmfit-global-buffer' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'kmfit-global-buffer' }, () => ({ contents: 'module.exports = { Buffer: globalThis.Buffer };', loader: 'js' }));
  },
};

// No source maps: dist/ is what the package ships, and maps of the bundles (mostly of the inlined
// @stdlib and mathjs) would triple its size.
// The library ships as ES modules and CommonJS (tslab notebooks load packages through `require`),
// each with its own declarations. The CLI is ES-module only: it is started by node, never required.
const LIBRARY_ENTRIES = { index: 'src/index.ts', notebook: 'src/notebook/index.ts', plot: 'src/plot/index.ts' };

export default defineConfig([
  // kmfit/notebook and kmfit/plot are entries of their own, so importing kmfit never loads them.
  // The ES-module build shares common modules between entries as chunks. The CommonJS build is not
  // split: tsup converts split chunks to CommonJS with sucrase, which rewrites import('vega') into
  // require('vega'), and vega (an ES module with top-level await) cannot be required. Each CommonJS
  // entry thus has its own copy of shared modules; KmfitError's instanceof accepts any copy.
  {
    entry: LIBRARY_ENTRIES,
    format: ['esm'],
    dts: true,
    clean: true,
    target: 'node20',
    outDir: 'dist',
    noExternal,
    banner: { js: esmRequire },
  },
  {
    entry: LIBRARY_ENTRIES,
    format: ['cjs'],
    splitting: false,
    dts: true,
    target: 'node20',
    outDir: 'dist',
    noExternal,
  },
  // The browser entry (package.json's `browser` condition): one ES module whose graph has no node:
  // module (package.json's `imports` gives '#platform' the browser's host here). No createRequire
  // banner: a page has no node:module, and nothing bundled into this build calls require().
  // fitWorker is fitInWorker's module worker (package.json `exports` → ./worker); fitInWorker finds it
  // beside the browser build, so both are written to dist/ (sharing their code as a chunk). Its top
  // level listens for the page's message: package.json's `sideEffects` names it, so that no bundler
  // drops it as an unused import.
  {
    entry: { browser: 'src/browser.ts', fitWorker: 'src/worker/fitWorker.ts' },
    format: ['esm'],
    platform: 'browser',
    dts: true,
    target: 'es2022',
    outDir: 'dist',
    noExternal,
    esbuildPlugins: [globalBufferForStdlib],
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    target: 'node20',
    outDir: 'dist',
    noExternal,
    banner: { js: `#!/usr/bin/env node\n${esmRequire}` },
  },
]);
