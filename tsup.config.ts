import { defineConfig } from 'tsup';

// @stdlib's deep paths ('@stdlib/random/base/mt19937') are CommonJS folders with no `exports` map,
// which Node's ES-module resolver refuses: bundle them into both builds instead. Bundled CommonJS
// calls require() for Node built-ins, so the ES-module builds get a real one from createRequire.
const noExternal = [/^@stdlib\//];
const esmRequire = "import { createRequire as __kmfitCreateRequire } from 'node:module';\nconst require = __kmfitCreateRequire(import.meta.url);";

// The library ships as ES modules and CommonJS (tslab notebooks load packages through `require`),
// each with its own declarations. The CLI is ES-module only: it is started by node, never required.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    outDir: 'dist',
    noExternal,
    banner: ({ format }) => (format === 'esm' ? { js: esmRequire } : {}),
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    outDir: 'dist',
    noExternal,
    banner: { js: `#!/usr/bin/env node\n${esmRequire}` },
  },
]);
