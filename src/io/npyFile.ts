/**
 * A 2-D .npy file opened for positioned reads: only the header is read on opening; rows are read
 * from disk when asked for and stay in the file's dtype until they are converted to float32. This
 * is how data larger than memory is trained on (EigenPro 3 reads a batch of m of the n rows per
 * step): peak memory follows the batch, not n. uint8 MNIST is 785 bytes a row on disk, and only
 * the m rows of a batch ever become float32.
 *
 * Row i of the file is at dataOffset + i · cols · itemsize (C order), so a batch is m positioned
 * reads (fs.readSync with a position: synchronous, no event-loop round trip per row). The
 * conversion is npy.ts's decodeNpyElements, then a Float32Array set — exactly the path the
 * in-memory reader (npyTable.ts) takes, so rows read here are bit for bit the rows `readDataFile`
 * gives.
 *
 * Measured on a 1 000 000 × 785 uint8 file (785 MB; the 784 feature columns), hot page cache, on
 * the shared 2-core development machine under a load average of ~9 (so slower than alone): one
 * streamed pass of `chunks()` 4.4–6.0 s; 'standard' scaling (two passes) 12.5–15.7 s; the float32
 * fingerprint 3.7–4.9 s; a batch of 2000 random rows 10–28 ms (median of 20). Peak RSS of a
 * process that streams the whole file three times: 133 MB, against 76 MB for the same process
 * that only opens the file — about 57 MB for streaming, whatever n is (the file is 785 MB, its
 * float32 3.1 GB).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { KmfitError, checkPath } from '../errors.js';
import { checkDataFileInfo, fileNotFound, readError, shrankError } from './byteSource.js';
import { checkNpyDataLength, decodeNpyElements, npyDataOffset, parseNpyHeader, type NpyHeader } from './npy.js';
import { OPENED_NPY_BRAND as BRAND, type NpyRowChunk, type OpenedNpy } from './openedNpy.js';

export { isOpenedNpy, type NpyRowChunk, type OpenedNpy } from './openedNpy.js';

/** Float32 values per chunk of `chunks()` by default: 4 MB. */
const CHUNK_VALUES = 1 << 20;

/** Raw bytes per read of a run of rows (readRange, chunks, readRawRange). */
const PIECE_BYTES = 1 << 22;

/** Scratch buffers kept between calls, at most; a larger request gets a buffer of its own. */
const KEPT_SCRATCH_BYTES = 1 << 24;


/** The open file that the views share. */
class NpyFile {
  private fd: number | undefined;
  private scratch = new Uint8Array(0);
  readonly rowBytes: number;

  constructor(
    fd: number,
    readonly path: string,
    readonly name: string,
    readonly header: NpyHeader,
    readonly dtype: string,
    readonly rows: number,
    readonly cols: number,
  ) {
    this.fd = fd;
    this.rowBytes = cols * header.info.itemsize;
  }

  /** A buffer of at least `bytes` bytes, reused between calls (its contents are not kept). */
  buffer(bytes: number): Uint8Array {
    if (bytes > KEPT_SCRATCH_BYTES) return new Uint8Array(bytes);
    if (this.scratch.length < bytes) this.scratch = new Uint8Array(Math.max(bytes, Math.min(2 * this.scratch.length, KEPT_SCRATCH_BYTES)));
    return this.scratch;
  }

  /** Fills buffer[offset, offset + length) with the file's bytes from data offset + `position`. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): void {
    if (this.fd === undefined) throw new Error(`${this.path} was closed; open it again with openNpy to read it`);
    const at = this.header.dataOffset + position;
    let got = 0;
    while (got < length) {
      let n: number;
      try {
        n = readSync(this.fd, buffer, offset + got, length - got, at + got);
      } catch (error) {
        throw readError(this.name, error);
      }
      if (n === 0) throw shrankError(this.name);
      got += n;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    this.scratch = new Uint8Array(0);
    closeSync(fd);
  }
}

function checkRowRange(start: number, end: number, rows: number, what: string): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > rows) {
    throw new RangeError(`${what}: rows [${start}, ${end}) are not a range within the file's ${rows} rows (0 ≤ start ≤ end ≤ ${rows})`);
  }
}

function outFor(out: Float32Array | undefined, length: number, what: string): Float32Array {
  if (out === undefined) return new Float32Array(length);
  if (out.length !== length) throw new RangeError(`${what}: out has ${out.length} values, but the rows asked for have ${length}`);
  return out;
}

/** A view of columns [c0, c0 + cols) of the shared file. */
class NpyView implements OpenedNpy {
  readonly [BRAND] = true;
  readonly path: string;
  readonly dtype: string;
  readonly rows: number;
  private readonly itemsize: number;
  /** Bytes of this view's part of a row, and where that part starts within a file row. */
  private readonly viewBytes: number;
  private readonly viewOffset: number;

  constructor(
    private readonly file: NpyFile,
    private readonly c0: number,
    readonly cols: number,
    rows = file.rows,
  ) {
    this.path = file.path;
    this.dtype = file.dtype;
    this.rows = rows;
    this.itemsize = file.header.info.itemsize;
    this.viewBytes = cols * this.itemsize;
    this.viewOffset = c0 * this.itemsize;
  }

  columns(start: number, end: number): OpenedNpy {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > this.cols) {
      throw new RangeError(`columns: [${start}, ${end}) is not a range within the ${this.cols} columns of ${this.path} (0 ≤ start ≤ end ≤ ${this.cols})`);
    }
    return new NpyView(this.file, this.c0 + start, end - start, this.rows);
  }

  firstRows(count: number): OpenedNpy {
    if (!Number.isInteger(count) || count < 0 || count > this.rows) {
      throw new RangeError(`firstRows: ${count} is not a row count within the ${this.rows} rows of ${this.path} (0 ≤ count ≤ ${this.rows})`);
    }
    return new NpyView(this.file, this.c0, this.cols, count);
  }

  /**
   * Decodes `raw` — `count` rows of this view's columns, row k being file row `rowOf(k)` — into
   * out[at…]. One decodeNpyElements call over all of them; 64-bit integers row by row, so that a
   * value a double cannot hold is reported at its own element of the file.
   */
  private decode(raw: Uint8Array, count: number, rowOf: (k: number) => number, out: Float32Array, at: number): void {
    const { header, name, cols: fileCols } = this.file;
    if (header.info.itemsize === 8 && header.info.kind !== 'f') {
      for (let k = 0; k < count; k++) {
        const row = raw.subarray(k * this.viewBytes, (k + 1) * this.viewBytes);
        out.set(decodeNpyElements(row, header, name, rowOf(k) * fileCols + this.c0, { view: true }), at + k * this.cols);
      }
      return;
    }
    out.set(decodeNpyElements(raw.subarray(0, count * this.viewBytes), header, name, 0, { view: true }), at);
  }

  readRows(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const m = indices.length;
    const result = outFor(out, m * this.cols, 'readRows');
    for (let k = 0; k < m; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= this.rows) {
        throw new RangeError(`readRows: index ${i} (at position ${k}) is not a row of ${this.path}, which has rows 0…${this.rows - 1}`);
      }
    }
    if (m === 0 || this.cols === 0) return result;
    const raw = this.file.buffer(m * this.viewBytes);
    gatherRows(this.file, indices, this.viewOffset, this.viewBytes, raw);
    this.decode(raw, m, (k) => indices[k], result, 0);
    return result;
  }

  readRange(start: number, end: number, out?: Float32Array): Float32Array {
    checkRowRange(start, end, this.rows, 'readRange');
    const result = outFor(out, (end - start) * this.cols, 'readRange');
    if (this.cols === 0) return result;
    const { rowBytes } = this.file;
    const per = Math.max(1, Math.floor(PIECE_BYTES / rowBytes));
    for (let first = start; first < end; first += per) {
      const count = Math.min(per, end - first);
      const raw = this.readPiece(first, count, rowBytes);
      this.decode(raw, count, (k) => first + k, result, (first - start) * this.cols);
    }
    return result;
  }

  /** Rows [first, first + count) of this view's columns, packed, in a scratch buffer. */
  private readPiece(first: number, count: number, rowBytes: number): Uint8Array {
    const raw = this.file.buffer(count * rowBytes);
    this.file.read(raw, 0, count * rowBytes, first * rowBytes);
    if (this.viewBytes !== rowBytes) {
      // Pack this view's columns to the front (each row's part moves left, never overlapping ahead).
      for (let k = 0; k < count; k++) raw.copyWithin(k * this.viewBytes, k * rowBytes + this.viewOffset, k * rowBytes + this.viewOffset + this.viewBytes);
    }
    return raw;
  }

  chunks(chunkRows = Math.max(1, Math.floor(CHUNK_VALUES / Math.max(1, this.cols)))): Iterable<NpyRowChunk> {
    if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunks: chunkRows must be a whole number ≥ 1; got ${chunkRows}`);
    const view = this; // the generator below is a function of its own, with its own `this`
    return {
      *[Symbol.iterator]() {
        const rows = Math.min(chunkRows, view.rows);
        const buffer = new Float32Array(rows * view.cols);
        for (let start = 0; start < view.rows; start += rows) {
          const count = Math.min(rows, view.rows - start);
          const data = buffer.subarray(0, count * view.cols);
          view.readRange(start, start + count, data);
          yield { start, data, rows: count };
        }
      },
    };
  }

  readColumnFloat64(): Float64Array {
    if (this.cols !== 1) throw new RangeError(`readColumnFloat64: the view has ${this.cols} columns; take one with columns(k, k + 1)`);
    const { header, name, rowBytes, cols: fileCols } = this.file;
    const result = new Float64Array(this.rows);
    const per = Math.max(1, Math.floor(PIECE_BYTES / rowBytes));
    for (let first = 0; first < this.rows; first += per) {
      const count = Math.min(per, this.rows - first);
      const raw = this.readPiece(first, count, rowBytes).subarray(0, count * this.viewBytes);
      if (header.info.itemsize === 8 && header.info.kind !== 'f') {
        // Row by row, so that a value a double cannot hold is named at its own element.
        for (let k = 0; k < count; k++) result.set(decodeNpyElements(raw.subarray(8 * k, 8 * k + 8), header, name, (first + k) * fileCols + this.c0, { view: true }), first + k);
      } else {
        result.set(decodeNpyElements(raw, header, name, 0, { view: true }), first);
      }
    }
    return result;
  }

  readRawRange(start: number, end: number): Uint8Array {
    checkRowRange(start, end, this.rows, 'readRawRange');
    const result = new Uint8Array((end - start) * this.viewBytes);
    if (this.viewBytes === 0) return result;
    const { rowBytes } = this.file;
    if (this.viewBytes === rowBytes) {
      this.file.read(result, 0, result.length, start * rowBytes);
      return result;
    }
    const per = Math.max(1, Math.floor(PIECE_BYTES / rowBytes));
    for (let first = start; first < end; first += per) {
      const count = Math.min(per, end - first);
      result.set(this.readPiece(first, count, rowBytes).subarray(0, count * this.viewBytes), (first - start) * this.viewBytes);
    }
    return result;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Copies bytes [offset, offset + length) of file rows `indices` into raw, row k at k · length:
 * one positioned read per row, in the order asked.
 *
 * Measured against sorting the indices and coalescing near rows into larger reads (then
 * scattering back into the order asked), gathering only, 2000 random rows, hot page cache, on the
 * 2-core development machine under load (median of 20 / best):
 *   1 000 000 × 785 uint8 (785 B a row):   per row 9.7 / 5.4 ms;  coalesced, adjacent rows only
 *     13 / 7.5 ms;  rows ≤ 64 KB apart 11 / 7.1 ms;  ≤ 256 KB apart 34 / 10 ms.
 *   60 000 × 785 float32 (3 140 B a row):  per row 15 / 9.0 ms;  adjacent only 24 / 7.9 ms;
 *     ≤ 64 KB apart 15 / 10 ms;  ≤ 256 KB apart 34 / 13 ms.
 * A random batch seldom holds neighbours, so coalescing buys no fewer reads, and reading the gaps
 * costs more than the system calls it saves: one read per row is as fast and simpler. (Cold, on
 * a spinning disk, sorted reads would help; the page cache is the case designed for.)
 */
function gatherRows(file: NpyFile, indices: ArrayLike<number>, offset: number, length: number, raw: Uint8Array): void {
  const { rowBytes } = file;
  for (let k = 0; k < indices.length; k++) file.read(raw, k * length, length, indices[k] * rowBytes + offset);
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Reads bytes [0, length) of the open file (fewer when it is shorter). */
function readHead(fd: number, length: number, name: string): Uint8Array {
  const bytes = new Uint8Array(length);
  let got = 0;
  try {
    while (got < length) {
      const n = readSync(fd, bytes, got, length - got, got);
      if (n === 0) break;
      got += n;
    }
  } catch (error) {
    throw readError(name, error);
  }
  return bytes.subarray(0, got);
}

/**
 * Opens a 2-D .npy file for reading rows on demand: only its header is read now; rows are read
 * from disk by each `readRows` / `readRange` / `chunks` call and converted to float32 then, so
 * the file never has to fit in memory as float32. Close it when done.
 *
 * Reads bool, int8–64, uint8–64 and float16/32/64, either byte order, as `readDataFile` does
 * (64-bit integers must be exactly representable as doubles). A Fortran-order file is refused:
 * its rows are spread over the whole file.
 *
 * @example
 * import { openNpy } from 'kmfit';
 * const file = openNpy('mnist-deformed.npy'); // 1 000 000 × 785 uint8, label last
 * try {
 *   const features = file.columns(0, file.cols - 1);
 *   const batch = features.readRows([17, 4, 999_999, 4]); // 4 × 784 float32, row-major
 * } finally {
 *   file.close();
 * }
 *
 * @throws KmfitError INVALID_OPTION (a path that is not a non-empty string), FILE_NOT_FOUND,
 *   INVALID_FILE (a directory; not a .npy; Fortran order),
 *   EMPTY_DATA (an empty file, no rows or no columns), INVALID_SHAPE (not 2-D), IO_ERROR (an
 *   unreadable or damaged header, an unsupported dtype, data shorter than the header says).
 */
export function openNpy(file: string): OpenedNpy {
  checkPath(file, 'openNpy(path)');
  const name = path.basename(file);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw fileNotFound(name);
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') checkDataFileInfo({ isDirectory: () => true, size: 0 }, name);
    throw readError(name, error);
  }
  try {
    const size = checkDataFileInfo(fstatSync(fd), name);
    // The preamble says how long the header is; npyDataOffset caps that (a lying length field
    // allocates at most ~1 MB here, and parseNpyHeader refuses it).
    const preamble = readHead(fd, Math.min(12, size), name);
    const header = parseNpyHeader(readHead(fd, Math.min(size, npyDataOffset(preamble) ?? preamble.length), name), name);
    // Before anything is sized by the header's shape: the file must hold all it promises.
    checkNpyDataLength(header, size, name);
    const { shape } = header;
    if (shape.length !== 2) {
      throw new KmfitError(
        'INVALID_SHAPE',
        `${name} has shape ${shapeText(shape)}; openNpy reads a 2-D array (rows × columns): save it as one, e.g. numpy.save(path, a.reshape(len(a), -1)).`,
      );
    }
    const [rows, cols] = shape;
    if (rows < 1 || cols < 1) throw new KmfitError('EMPTY_DATA', `${name} has no ${rows < 1 ? 'rows' : 'columns'} (shape ${shapeText(shape)}); give a file with data.`);
    // Fortran order is the same layout as C order when one dimension is 1.
    if (header.fortranOrder && rows > 1 && cols > 1) {
      throw new KmfitError(
        'INVALID_FILE',
        `${name} is stored in Fortran (column-major) order, so each row is spread over the whole file and cannot be read row by row; ` +
          'save it in C order: numpy.save(path, numpy.ascontiguousarray(a)).',
      );
    }
    const dtype = `${header.info.itemsize === 1 ? '|' : header.littleEndian ? '<' : '>'}${descrCode(header)}`;
    return new NpyView(new NpyFile(fd, file, name, header, dtype, rows, cols), 0, cols);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** numpy's type code of the header's dtype, e.g. 'u1', 'f4'. */
function descrCode(header: NpyHeader): string {
  return `${header.info.kind}${header.info.itemsize}`;
}
