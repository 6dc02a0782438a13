/** Reading a whole model or checkpoint file into memory, with Node's file system. */
import { open, type FileHandle } from 'node:fs/promises';
import { KmfitError } from '../errors.js';
import { foreignFileError, type FileKind } from './fileKind.js';

/** The most bytes asked of one read call (Node refuses single I/O calls of 2 GiB or more). */
const MAX_READ = 1 << 30;
/** The largest file a model can be: the zip has no zip64 records, and a Uint8Array tops out at 4 GiB. */
const MAX_MODEL_BYTES = 2 ** 32;

/**
 * The bytes of the file at `path`, expected to be a file of `kind`.
 * @throws KmfitError FILE_NOT_FOUND when nothing is at `path`; IO_ERROR for a directory or a failed
 *   read; MODEL_FILE_FOREIGN for a file larger than any file of `kind` can be.
 */
export async function readWholeFile(path: string, kind: FileKind): Promise<Uint8Array> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new KmfitError('FILE_NOT_FOUND', `${path}: no such file; check the path (${kind.writtenBy})`, { cause: err });
    }
    throw new KmfitError('IO_ERROR', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new KmfitError('IO_ERROR', `cannot read ${path}: it is a directory, not a ${kind.noun} file`);
    if (stat.size > MAX_MODEL_BYTES) {
      throw foreignFileError(path, `it is ${stat.size} bytes, more than the 4 GiB a kmfit ${kind.noun} file can hold`, kind);
    }
    // fs.readFile stops at 2 GiB; read in pieces into one buffer instead.
    const bytes = new Uint8Array(stat.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, Math.min(MAX_READ, bytes.length - filled), filled);
      if (bytesRead === 0) break; // the file shrank while being read; decoding reports the cut
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } catch (err) {
    if (err instanceof KmfitError) throw err;
    throw new KmfitError('IO_ERROR', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await handle.close();
  }
}
