/**
 * Atomic file replacement: readers of `path` see either the old file or the complete new one,
 * never a partial write, even if the process dies or the disk fills up mid-write.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KmfitError } from '../errors.js';

/** The most bytes handed to one write call (Node refuses single I/O calls of 2 GiB or more). */
const MAX_WRITE = 1 << 30;

/**
 * Test seam: a function stored on globalThis under this symbol is called, and awaited, at each
 * stage of every write — 'partial' (after the first chunk), 'written' (flushed, not yet renamed),
 * 'renamed' — so that a test can kill the process at a known point of a write
 * (test/reliability/). Nothing sets it in normal use.
 */
export const WRITE_OBSERVER = Symbol.for('kmfit.atomicWrite.observer');
type WriteStage = 'partial' | 'written' | 'renamed';

async function observe(stage: WriteStage, path: string, temp: string): Promise<void> {
  const observer: unknown = Reflect.get(globalThis, WRITE_OBSERVER);
  if (typeof observer === 'function') await observer(stage, { path, temp });
}

/**
 * writeFileAtomic's temporary files for a target name: `.<name>.<writer's pid>-<8 hex digits>.tmp`.
 * The pid tells a leftover of a dead process from the temporary of a write still under way.
 */
function temporaryName(target: string): string {
  return `.${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** The temporaries this process is writing now: not leftovers, though their pid is alive. */
const inFlight = new Set<string>();

/** Whether `name` is a temporary of `target` whose write is over (its process died or gave up). */
function isStaleTemporaryOf(name: string, target: string, dir: string): boolean {
  const prefix = `.${target}.`;
  if (!name.startsWith(prefix)) return false;
  const rest = name.slice(prefix.length);
  if (/^[0-9a-f]{12}\.tmp$/.test(rest)) return true; // kmfit 0.1's names, without a pid: from a dead process
  const match = /^(\d+)-[0-9a-f]{8}\.tmp$/.exec(rest);
  if (!match) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return !inFlight.has(join(dir, name));
  return !isRunning(pid);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM'; // it exists, under another user
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function toKmfitError(err: unknown, path: string): KmfitError {
  if (err instanceof KmfitError) return err;
  const code = errnoCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') {
    return new KmfitError(
      'FILE_NOT_FOUND',
      `cannot write ${path}: the directory ${dirname(path)} does not exist; create it first`,
      { cause: err },
    );
  }
  if (code === 'EISDIR') {
    return new KmfitError('IO_ERROR', `cannot write ${path}: it is a directory; choose a file name`, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new KmfitError('IO_ERROR', `cannot write ${path}: permission denied (${reason})`, { cause: err });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new KmfitError('IO_ERROR', `cannot write ${path}: the disk is full (${reason}); nothing was written`, {
      cause: err,
    });
  }
  return new KmfitError('IO_ERROR', `cannot write ${path}: ${reason}`, { cause: err });
}

/**
 * What keeps a file from being written at `path` for its folder's sake — missing, or not a folder —
 * or undefined: the one test behind checkFolder and the command line's checks of its outputs, each
 * of which words the refusal for its caller. (Not whether the folder is writable: a checkpoint that
 * cannot be written is reported and training goes on; the command line checks that itself.)
 */
export function folderProblem(path: string): { readonly code: 'FILE_NOT_FOUND' | 'IO_ERROR'; readonly reason: string } | undefined {
  const folder = dirname(path);
  try {
    if (!statSync(folder).isDirectory()) return { code: 'IO_ERROR', reason: `${folder} is not a directory` };
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return { code: 'FILE_NOT_FOUND', reason: `the directory ${folder} does not exist; create it first` };
    if (code === 'ENOTDIR') return { code: 'IO_ERROR', reason: `${folder} is not a directory` };
    return { code: 'IO_ERROR', reason: err instanceof Error ? err.message : String(err) };
  }
  return undefined;
}

/** Refuses, before a run that writes `path` later (a checkpoint), a folder that could not take it. */
export async function checkFolder(path: string): Promise<void> {
  const problem = folderProblem(path);
  if (problem) throw new KmfitError(problem.code, `cannot write ${path}: ${problem.reason}`);
}

/**
 * Writes `bytes` (one array, or chunks written in order) to `path` atomically: the data goes to a
 * temporary file in the same directory (`.<name>.<random>.tmp`), which is flushed to disk (fsync)
 * and then renamed over `path`. On any failure the temporary file is removed, `path` is left as it
 * was (absent, or the previous file intact), and a KmfitError is thrown: FILE_NOT_FOUND when the
 * directory does not exist, IO_ERROR otherwise (a directory at `path`, permissions, a full disk).
 * Temporaries of `path` that killed processes left behind are removed first.
 *
 * An existing file's permission bits carry over to the new one. If `path` is a symbolic link, the
 * link itself is replaced by the new file.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const chunks: readonly Uint8Array[] = bytes instanceof Uint8Array ? [bytes] : bytes;
  await writeFileAtomicStream(path, async (write) => {
    for (const chunk of chunks) await write(chunk);
  });
}

/**
 * `writeFileAtomic` for contents made while they are written, in bounded memory: `produce` is
 * called once with `write`, which appends a chunk to the temporary file (await it before reusing
 * the chunk's memory); when `produce` resolves, the file is flushed and renamed over `path`.
 * Everything `writeFileAtomic` promises holds. An error thrown by `produce` itself removes the
 * temporary file, leaves `path` as it was, and is rethrown unchanged; file-system errors become a
 * KmfitError as in `writeFileAtomic`.
 */
export async function writeFileAtomicStream(
  path: string,
  produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const dir = dirname(path);
  // What an earlier write killed mid-way (SIGKILL runs no clean-up) left beside `path` goes now.
  await removeStaleTemporaries(path);
  const temp = join(dir, temporaryName(basename(path)));
  inFlight.add(temp);
  // Replacing a file keeps its permission bits (e.g. a model saved as 0600 stays private).
  const previousMode = await stat(path).then(
    (s) => (s.isFile() ? s.mode & 0o777 : undefined),
    () => undefined,
  );
  let created = false;
  // The producer's own failure is reported as it is, not as a file-system error.
  let producerFailure: { error: unknown } | undefined;
  try {
    // 'wx': create exclusively, so a stale file of the same (random) name is never clobbered.
    const handle = await open(temp, 'wx', 0o666);
    created = true;
    try {
      if (previousMode !== undefined) await handle.chmod(previousMode);
      let written = 0;
      let writeFailure: unknown;
      const write = async (chunk: Uint8Array): Promise<void> => {
        try {
          for (let offset = 0; offset < chunk.length; ) {
            const piece = chunk.subarray(offset, Math.min(chunk.length, offset + MAX_WRITE));
            const { bytesWritten } = await handle.write(piece, 0, piece.length);
            if (bytesWritten <= 0) throw new Error('the write made no progress');
            offset += bytesWritten;
          }
        } catch (error) {
          writeFailure = error;
          throw error;
        }
        if (written++ === 0) await observe('partial', path, temp);
      };
      try {
        await produce(write);
      } catch (error) {
        if (error !== writeFailure) producerFailure = { error };
        throw error;
      }
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined); // the write error is the one to report
      throw err;
    }
    await handle.close();
    await observe('written', path, temp);
    await rename(temp, path);
    created = false;
  } catch (err) {
    if (created) await unlink(temp).catch(() => undefined);
    throw producerFailure !== undefined && producerFailure.error === err ? err : toKmfitError(err, path);
  } finally {
    inFlight.delete(temp);
  }
  // Make the rename itself durable. Best effort: some platforms (Windows) cannot open a directory.
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // the file is complete and in place; only the directory entry's durability is not forced
  }
  await observe('renamed', path, temp);
}

/**
 * Removes the temporary files that writes of `path` left behind when their process was killed
 * (SIGKILL runs no clean-up); returns how many. The temporaries of writes under way, in this
 * process or another one that is still running, stay.
 */
export async function removeStaleTemporaries(path: string): Promise<number> {
  const target = basename(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return 0; // no directory yet: the first write reports that, with its remedy
  }
  let removed = 0;
  for (const name of names.filter((n) => isStaleTemporaryOf(n, target, dirname(path)))) {
    await unlink(join(dirname(path), name)).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
