/**
 * kmfit as users get it: this checkout packed with `npm pack` (dist/ as `npm test` just built it)
 * and the tarball installed with npm into a fresh project in a temporary folder. Packages are
 * taken from npm's cache where it has them (CI's `npm ci` filled it), at the versions this
 * checkout's lock file installed.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './child.js';

export interface PackedFile {
  readonly path: string;
  readonly size: number;
}

export interface InstalledProject {
  /** The project folder; its node_modules holds kmfit and `extras`. */
  readonly dir: string;
  /** What `npm pack --json` reported: the packed and unpacked sizes, every file. */
  readonly pack: { readonly size: number; readonly unpackedSize: number; readonly files: readonly PackedFile[] };
  /** Runs a command in the project folder, with the environment a user's shell would have. */
  run(command: string, args: readonly string[], timeout?: number): SpawnSyncReturns<string>;
  /** Deletes the project and the tarball. */
  remove(): void;
}

/**
 * `npm test` runs this under npm, which exports its own settings (npm_config_*, npm_package_*)
 * to scripts; a user's shell has none of them, and some (the local prefix) would point npm at
 * this checkout.
 */
function userEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || name === 'npm_config_cache'));
}

/** `name@version` as installed in this checkout (the lock file's version, so npm's cache has it). */
export function lockedVersion(name: string): string {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${version}`;
}

function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number): string {
  const run = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout });
  if (run.error || run.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stdout}${run.stderr}`);
  }
  return run.stdout;
}

/** Packs this checkout and installs the tarball, plus `extras` (e.g. lockedVersion('tslab')), into a new project. */
export function packAndInstall(extras: readonly string[] = []): InstalledProject {
  const env = userEnvironment();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kmfit-installed-'));
  try {
    // --ignore-scripts: `prepare` would build dist/ again; npm test has just built it.
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT, env, 120_000)) as [
      { filename: string; size: number; unpackedSize: number; files: PackedFile[] },
    ];
    const [{ filename, size, unpackedSize, files }] = packed;
    const project = path.join(dir, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'kmfit-user', version: '1.0.0', private: true }, null, 2));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, filename), ...extras], project, env, 300_000);
    return {
      dir: project,
      pack: { size, unpackedSize, files },
      run: (command, args, timeout = 120_000) => spawnSync(command, args, { cwd: project, env, encoding: 'utf8', timeout }),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
