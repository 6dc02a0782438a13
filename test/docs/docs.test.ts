/**
 * The documentation works as written: every relative link in README.md, docs/, datasets/ and the
 * notebooks' text resolves (to a file, and to a heading when it names one); every code block
 * marked runnable (```ts runnable, ```sh runnable) type-checks against the built package and runs
 * in a scratch project that has kmfit installed, as a reader's would; the command-line reference
 * is what `kmfit --help` prints now; and the API reference builds without a warning.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchor, CLI_REFERENCE, cliReference } from '../../docs/cli-reference.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'node_modules/.bin');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'api' ? [] : markdownFiles(file); // docs/api is generated
    return name.endsWith('.md') ? [file] : [];
  });
}

/** Each document's text: markdown files, and the markdown cells of the example notebooks. */
const documents: { file: string; text: string }[] = [
  ...[path.join(ROOT, 'README.md'), path.join(ROOT, 'datasets/README.md'), ...markdownFiles(path.join(ROOT, 'docs'))].map((file) => ({ file, text: readFileSync(file, 'utf8') })),
  ...readdirSync(path.join(ROOT, 'examples/notebooks'))
    .filter((n) => n.endsWith('.ipynb'))
    .map((n) => {
      const file = path.join(ROOT, 'examples/notebooks', n);
      const cells = (JSON.parse(readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string[] }[] }).cells;
      return { file, text: cells.filter((c) => c.cell_type === 'markdown').map((c) => c.source.join('')).join('\n\n') };
    }),
];

const FENCE = /^```([^\n]*)\n([\s\S]*?)^```$/gm;

/** Text outside fenced and inline code, where links are links. */
function prose(text: string): string {
  return text.replace(FENCE, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchors for a markdown file's headings (a repeated heading gets -1, -2, …). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of readFileSync(file, 'utf8').replace(FENCE, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = anchor(heading.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function brokenLinks(file: string, text: string): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    const [pathPart, hash] = target.split('#');
    const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
    if (!resolved.startsWith(ROOT) || !existsSync(resolved)) broken.push(`${target} (no such file)`);
    else if (hash !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(hash)) broken.push(`${target} (no heading #${hash})`);
  }
  return broken;
}

interface Block {
  readonly name: string;
  readonly language: 'ts' | 'sh';
  readonly code: string;
}

const blocks: Block[] = documents.flatMap(({ file, text }) =>
  [...text.matchAll(FENCE)]
    .filter(([, info]) => info.trim().split(/\s+/).includes('runnable'))
    .map(([whole, info, code], i): Block => {
      const language = info.trim().split(/\s+/)[0];
      if (language !== 'ts' && language !== 'sh') throw new Error(`${file}: a runnable block must be ts or sh, not ${language}`);
      const line = text.slice(0, text.indexOf(whole)).split('\n').length;
      return { name: `${path.relative(ROOT, file)}:${line} (block ${i + 1})`, language, code };
    }),
);

/** A scratch project with kmfit installed (linked to this checkout) and its `kmfit` command. */
function project(): string {
  const dir = temporaryDirectory('docs');
  mkdirSync(path.join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(ROOT, path.join(dir, 'node_modules/kmfit'), 'dir');
  symlinkSync(path.join(ROOT, 'dist/cli/main.js'), path.join(dir, 'node_modules/.bin/kmfit'));
  return dir;
}

const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}` };

describe('documentation', () => {
  it('finds the documents and their runnable blocks', () => {
    expect(documents.map((d) => path.relative(ROOT, d.file))).toEqual(expect.arrayContaining(['README.md', 'docs/getting-started.md', 'docs/how-it-works.md', 'docs/cli.md']));
    expect(blocks.filter((b) => b.language === 'ts').length).toBeGreaterThanOrEqual(3);
    expect(blocks.filter((b) => b.language === 'sh').length).toBeGreaterThanOrEqual(1);
  });

  it('every relative link resolves, to a heading where it names one', () => {
    const broken = documents.flatMap(({ file, text }) => brokenLinks(file, text).map((b) => `${path.relative(ROOT, file)}: ${b}`));
    expect(broken).toEqual([]);
  });

  it('the link check catches a missing file and a missing heading', () => {
    const file = path.join(ROOT, 'docs/getting-started.md');
    expect(brokenLinks(file, '[a](how-it-works.md#the-plan-block-line-by-line) [b](nowhere.md) [c](cli.md#no-such) `[d](x.md)`')).toEqual([
      'nowhere.md (no such file)',
      'cli.md#no-such (no heading #no-such)',
    ]);
  });

  it('the runnable TypeScript blocks type-check against the built package', () => {
    const dir = project();
    const ts = blocks.filter((b) => b.language === 'ts');
    ts.forEach((b, i) => writeFileSync(path.join(dir, `block${i}.mts`), b.code));
    const config = { compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')] }, include: ['*.mts'] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const tsc = spawnSync(path.join(BIN, 'tsc'), ['-p', dir], { cwd: dir, encoding: 'utf8' });
    const named = tsc.stdout.replace(/block(\d+)\.mts/g, (_, i: string) => ts[Number(i)].name);
    expect(named).toBe('');
    expect(tsc.status).toBe(0);
  });

  for (const block of blocks) {
    it(`runs ${block.name}`, { timeout: 300_000 }, () => {
      const dir = project();
      const run =
        block.language === 'ts'
          ? (writeFileSync(path.join(dir, 'block.mts'), block.code), spawnSync(path.join(BIN, 'tsx'), ['block.mts'], { cwd: dir, env, encoding: 'utf8' }))
          : spawnSync('bash', ['-e', '-o', 'pipefail', '-c', block.code], { cwd: dir, env, encoding: 'utf8' });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      // The command line reports scores on stderr; TypeScript blocks must not warn.
      if (block.language === 'ts') expect(run.stderr).toBe('');
      expect(run.stdout).not.toBe('');
    });
  }

  it('docs/cli.md is what kmfit --help prints (npm run docs:cli rewrites it)', async () => {
    expect(readFileSync(CLI_REFERENCE, 'utf8'), 'docs/cli.md is stale: run npm run build && npm run docs:cli').toBe(await cliReference());
  });

  it('the API reference builds from the doc comments without a warning (npm run docs)', { timeout: 300_000 }, () => {
    const out = temporaryDirectory('api');
    const run = spawnSync(path.join(BIN, 'typedoc'), ['--out', out, '--treatWarningsAsErrors', '--logLevel', 'Warn'], { cwd: ROOT, encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(path.join(out, 'kmfit/functions/fit.md'), 'utf8')).toContain('Trains a kernel machine: with EigenPro 2 on all of X');
  });
});
