/**
 * A .npy file written while its elements are made, in bounded memory, and atomically: the header
 * first, then the element bytes chunk by chunk, into a temporary file renamed into place only when
 * exactly the bytes the header promises were written (src/io/atomicWrite.ts).
 */
import { writeFileAtomicStream } from './atomicWrite.js';
import { encodeNpyHeader, type NpyWritableDtype } from './npy.js';
import { KmfitError } from '../errors.js';

const ITEM_SIZE: Record<NpyWritableDtype, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
  uint32: 4,
  int16: 2,
  uint16: 2,
  int8: 1,
  uint8: 1,
};

/**
 * Writes a .npy file of `dtype` and `shape` at `path`; `produce` hands the elements, in C order, as
 * little-endian bytes to `write` (one or more chunks of any size; await each before reusing its
 * memory). The file appears under `path` only when `produce` resolves having written exactly the
 * header's byte count; otherwise `path` is left as it was and nothing stays behind.
 * @throws KmfitError INVALID_SHAPE when `produce` writes more or fewer bytes than `shape` holds;
 *   FILE_NOT_FOUND / IO_ERROR as `writeFileAtomic`; an error thrown by `produce` is rethrown as is.
 */
export async function writeNpyStream(
  path: string,
  header: { readonly dtype: NpyWritableDtype; readonly shape: readonly number[] },
  produce: (write: (elementBytes: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const head = encodeNpyHeader(header.dtype, header.shape);
  const expected = header.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[header.dtype];
  const mismatch = (written: string) =>
    new KmfitError(
      'INVALID_SHAPE',
      `writeNpyStream: the header of ${path} promises shape [${header.shape.join(', ')}] of ${header.dtype} ` +
        `(${expected} bytes) but ${written}; nothing was written`,
    );
  await writeFileAtomicStream(path, async (write) => {
    await write(head);
    let written = 0;
    await produce(async (bytes) => {
      if (written + bytes.length > expected) throw mismatch(`more than that was written`);
      written += bytes.length;
      await write(bytes);
    });
    if (written !== expected) throw mismatch(`only ${written} bytes were written`);
  });
}
