/**
 * Random access to the bytes of a data file without holding the whole file: a file read piece by
 * piece through one reusable buffer, or bytes already in memory (an .npz member). Readers that
 * stream (the .npy table reader) take either.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { KmfitError } from '../errors.js';

export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /**
   * Bytes [position, position + length), cut at the end of the source. The array is only valid
   * until the next call (a file source reuses its buffer): copy what must be kept.
   */
  read(position: number, length: number): Promise<Uint8Array>;
}

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (position, length) => bytes.subarray(position, Math.min(bytes.length, position + length)),
  };
}

/** The refusal of a path that does not exist. */
export function fileNotFound(name: string): KmfitError {
  return new KmfitError('FILE_NOT_FOUND', `${name}: no such file; check the path.`);
}

/**
 * Fails unless `info` (a stat of the file) is a non-empty regular file: INVALID_FILE (a
 * directory), EMPTY_DATA. Returns its size. Shared by the async sources here and the synchronous
 * opener of npyFile.ts.
 */
export function checkDataFileInfo(info: { isDirectory(): boolean; readonly size: number }, name: string): number {
  if (info.isDirectory()) throw new KmfitError('INVALID_FILE', `${name} is a directory; give a data file.`);
  if (info.size === 0) throw new KmfitError('EMPTY_DATA', `${name} is empty; give a file with data.`);
  return info.size;
}

/**
 * Checks that `file` is a non-empty regular file, naming the problem and the fix otherwise:
 * FILE_NOT_FOUND, INVALID_FILE (a directory), EMPTY_DATA. Returns its size.
 */
export async function dataFileSize(file: string, name = file): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw fileNotFound(name);
  }
  return checkDataFileInfo(info, name);
}

/** IO_ERROR for a failed read of `name`, keeping the system's reason. */
export function readError(name: string, error: unknown): KmfitError {
  return new KmfitError('IO_ERROR', `${name} could not be read (${(error as Error).message}); check the file and its permissions.`, {
    cause: error,
  });
}

/** IO_ERROR for a file that ended before the bytes its size promised. */
export function shrankError(name: string): KmfitError {
  return new KmfitError('IO_ERROR', `${name} became shorter while it was read (another program is writing it?); read it again when it is complete.`);
}

/** Opens `file` for piecewise reading. Close it when done. */
export async function openFileSource(file: string, name = file): Promise<FileSource> {
  const size = await dataFileSize(file, name);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw readError(name, error);
  }
  let buffer = new Uint8Array(0);
  return {
    size,
    async read(position, length) {
      const want = Math.max(0, Math.min(length, size - position));
      if (buffer.length < want) buffer = new Uint8Array(want);
      let got = 0;
      try {
        while (got < want) {
          const { bytesRead } = await handle.read(buffer, got, want - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (error) {
        throw readError(name, error);
      }
      if (got < want) {
        throw shrankError(name);
      }
      return buffer.subarray(0, want);
    },
    close: () => handle.close(),
  };
}
