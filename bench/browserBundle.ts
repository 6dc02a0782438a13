/**
 * What a page's build makes of `import … from 'kmfit'`: esbuild, platform 'browser', resolving
 * kmfit through package.json `exports` (the `browser` condition → dist/browser.js, so build first).
 * Shared by the browser-build test (test/browser/bundle.test.ts) and the size report (browserSize.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BrowserBundle {
  /** One ES module holding kmfit and everything it imports. */
  readonly code: string;
  readonly metafile: Metafile;
}

export async function bundleForBrowser(options: { minify?: boolean } = {}): Promise<BrowserBundle> {
  if (!existsSync(path.join(ROOT, 'dist/browser.js'))) throw new Error('dist/browser.js is missing: run `npm run build` first');
  const result = await build({
    stdin: { contents: "export * from 'kmfit';", resolveDir: ROOT, sourcefile: 'page.js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0].text, metafile: result.metafile };
}
