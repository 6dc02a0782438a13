/**
 * The kmfit model file: a NumPy .npz archive (a zip, members stored uncompressed) holding
 * `kmfit.json` — the model's header as UTF-8 JSON, with `format: "kmfit-model"` and
 * `formatVersion` — and one `<name>.npy` member per array. numpy reads it with `np.load(path)`.
 * docs/model-format.md is the specification; this module is the container only: what the header
 * and arrays mean is the Model class's business.
 *
 * Error classification when reading (each a KmfitError whose message names the file and says what
 * to do):
 *   - FILE_NOT_FOUND: no file at the path;
 *   - MODEL_FILE_FOREIGN: not a zip at all (a PNG, a text file, a lone .npy, ...), a zip with no
 *     `kmfit.json` member (e.g. a plain NumPy .npz), a `kmfit.json` naming another format, or a zip
 *     using features kmfit never writes (encryption, exotic compression);
 *   - MODEL_FILE_TRUNCATED: anything that starts like a zip but is cut short or damaged — a missing
 *     end record, offsets outside the file, a CRC mismatch, a member .npy shorter or longer than
 *     its header says — and a `kmfit.json` that is not valid UTF-8 JSON describing an object with a
 *     positive integer formatVersion. The member passed its zip CRC in that last case, so the file
 *     was written that way; but a zip that carries a `kmfit.json` member claims to be a kmfit model,
 *     and a broken header makes it a damaged one rather than someone else's file.
 *     Every proper prefix of a model file (a cut at any byte, including an empty file) is
 *     MODEL_FILE_TRUNCATED: the first bytes are the zip signature, so a cut never looks foreign;
 *   - MODEL_FILE_VERSION: a formatVersion greater than MODEL_FORMAT_VERSION.
 *
 * The same container holds training checkpoints (`format: "kmfit-checkpoint"`, src/checkpoint/):
 * every function takes the FileKind it expects, the model's by default, and a file of the other
 * kind is refused as foreign with a word on what it is.
 */
import { KmfitError } from '../errors.js';
import { foreignFileError, type FileKind } from './fileKind.js';
import { requireFiles } from '../platform/require.js';
import type { FileAccess } from '../platform/types.js';
import { decodeNpyPrefix, encodeNpyParts, isNpy, type NpyArray } from './npy.js';
import { concatBytes, looksLikeZip, zipParts, ZipArchive, type ZipProblem } from './npz.js';

export type { FileKind } from './fileKind.js';

export const MODEL_FORMAT = 'kmfit-model';
export const MODEL_FORMAT_VERSION = 1;

export const MODEL_FILE: FileKind = {
  format: MODEL_FORMAT,
  version: MODEL_FORMAT_VERSION,
  noun: 'model',
  writtenBy: 'models are written by model.save() / kmfit --save',
  damagedHint: 're-save the model, or re-train it if the original is gone',
  isInstead: 'it is a trained kmfit model: load it with loadModel() or use it with kmfit predict',
  withoutFiles: 'use model.toBytes() and loadModel(bytes), and keep the bytes where the page can (IndexedDB, a download)',
};

export const CHECKPOINT_FILE: FileKind = {
  format: 'kmfit-checkpoint',
  version: 1,
  noun: 'checkpoint',
  writtenBy: 'checkpoints are written by fit(…, { checkpoint }) / kmfit --checkpoint',
  damagedHint: 'resume from another checkpoint, or train anew',
  isInstead: 'it is a kmfit training checkpoint: continue it with kmfit resume or fit(…, { resumeFrom })',
  withoutFiles: 'checkpoints are for long runs in Node; in a page, leave out the checkpoint and resumeFrom options',
};

const KNOWN_KINDS: readonly FileKind[] = [MODEL_FILE, CHECKPOINT_FILE];

/** The member holding the header. */
export const HEADER_MEMBER = 'kmfit.json';

export interface ModelFileContents {
  /** JSON-serializable header; the container adds `format` and `formatVersion` on write and checks them on read. */
  header: Record<string, unknown>;
  /** Named numeric arrays, e.g. centers (n×d float32), weights (n×l float32). */
  arrays: Record<string, { data: Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array; shape: number[] }>;
}

export type ModelFileHeader = Record<string, unknown> & { format: string; formatVersion: number };

export interface DecodedModelFile {
  header: ModelFileHeader;
  /**
   * The arrays by name (member name without `.npy`), in C order; see npy.ts for the typed array of
   * each dtype. Each is decoded when first read, and reading a damaged one throws its KmfitError.
   */
  arrays: Record<string, NpyArray>;
}

/** Array names: letters, digits, '_', '-' and '.', not starting with '.'; at most 200 characters. */
const ARRAY_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;


// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

function encodeError(problem: string, kind: FileKind = MODEL_FILE): KmfitError {
  return new KmfitError('IO_ERROR', `cannot encode the ${kind.noun} file: ${problem}`);
}

/** Refuses header values JSON would silently change or drop (NaN, Infinity, BigInt, functions, cycles, ...). */
function checkJsonValue(value: unknown, path: string, stack: Set<object>, kind: FileKind): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw encodeError(`${path} is ${value}, which JSON cannot hold`, kind);
    return;
  }
  if (typeof value !== 'object') throw encodeError(`${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot hold`);
  if (stack.has(value)) throw encodeError(`${path} refers back to itself (a cycle)`, kind);
  stack.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJsonValue(item, `${path}[${i}]`, stack, kind));
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw encodeError(`${path} is ${Object.prototype.toString.call(value).slice(8, -1)} object, not plain JSON data`, kind);
    }
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) checkJsonValue(item, `${path}.${key}`, stack, kind); // undefined properties are dropped, as JSON does
    }
  }
  stack.delete(value);
}

function encodeParts(contents: ModelFileContents, kind: FileKind): Uint8Array[] {
  const { header, arrays } = contents;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw encodeError('the header must be a plain object', kind);
  }
  checkJsonValue(header, 'header', new Set(), kind);
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(header)) if (key !== 'format' && key !== 'formatVersion') rest[key] = value;
  const json = JSON.stringify({ format: kind.format, formatVersion: kind.version, ...rest }, null, 2);

  const members: [string, Uint8Array[]][] = [[HEADER_MEMBER, [new TextEncoder().encode(json + '\n')]]];
  for (const [name, array] of Object.entries(arrays)) {
    if (!ARRAY_NAME.test(name)) {
      throw encodeError(
        `the array name ${JSON.stringify(name)} is not allowed (use letters, digits, '_', '-', '.'; not starting with '.')`,
        kind,
      );
    }
    let parts: Uint8Array[];
    try {
      parts = encodeNpyParts(array);
    } catch (err) {
      if (err instanceof KmfitError) {
        throw new KmfitError(err.code, `cannot encode the ${kind.noun} file: array "${name}": ${err.message}`, { cause: err });
      }
      throw err;
    }
    members.push([`${name}.npy`, parts]);
  }
  return zipParts(members);
}

/** Encodes a model (or another kind of kmfit) file in memory. */
export function encodeModelFile(contents: ModelFileContents, kind: FileKind = MODEL_FILE): Uint8Array {
  return concatBytes(encodeParts(contents, kind));
}

/**
 * Writes a model file atomically (temporary file, fsync, rename): `path` ends up holding either
 * its previous content or the complete new model, never a partial one. The arrays are written
 * straight from their memory, without a copy, so leave them unmodified until the promise settles
 * (a change in between makes the file fail its checksum on load).
 */
export async function writeModelFile(path: string, contents: ModelFileContents, kind: FileKind = MODEL_FILE): Promise<void> {
  await filesFor(kind, 'write').writeFileAtomic(path, encodeParts(contents, kind));
}

/** File access for reading or writing a file of `kind`; where there is none, what to do instead. */
function filesFor(kind: FileKind, verb: 'read' | 'write'): FileAccess {
  return requireFiles(`${verb === 'read' ? 'Reading' : 'Writing'} a ${kind.noun} file by path`, kind.withoutFiles);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** MODEL_FILE_FOREIGN: `source` is not a file of `kind`, for the reason `what`. */
function damaged(source: string, what: string, kind: FileKind, cause?: unknown): KmfitError {
  return new KmfitError('MODEL_FILE_TRUNCATED', `${source} is damaged or cut short (${what}); ${kind.damagedHint}`, {
    cause,
  });
}

function fromZipProblem(source: string, p: ZipProblem, kind: FileKind): KmfitError {
  return p.problem === 'damaged' ? damaged(source, p.message, kind) : foreignFileError(source, p.message, kind);
}

/** A short guess at what a non-zip file is, for the error message. */
function describeForeign(bytes: Uint8Array): string {
  const startsWith = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (isNpy(bytes)) return 'it is a single NumPy .npy array';
  if (startsWith(0x89, 0x50, 0x4e, 0x47)) return 'it is a PNG image';
  if (startsWith(0xff, 0xd8, 0xff)) return 'it is a JPEG image';
  if (startsWith(0x1f, 0x8b)) return 'it is gzip-compressed data';
  if (startsWith(0x25, 0x50, 0x44, 0x46)) return 'it is a PDF document';
  const head = bytes.subarray(0, 64);
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    text = undefined; // a multi-byte character cut at byte 64 also lands here; the hex below is fine then
  }
  if (text !== undefined && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) {
    return `it looks like a text file starting ${JSON.stringify(text.slice(0, 40))}`;
  }
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts with the bytes ${hex}, not a zip signature`;
}

/**
 * Decodes a model file held in memory: its header now, each array when it is first read from
 * `arrays` (a damaged member then throws there). `source` (usually the path) names the file in
 * error messages. See the module comment for the error codes.
 */
export function decodeModelFile(bytes: Uint8Array, source: string, kind: FileKind = MODEL_FILE): DecodedModelFile {
  if (bytes.length === 0) throw damaged(source, 'the file is empty', kind);
  if (!looksLikeZip(bytes)) throw foreignFileError(source, describeForeign(bytes), kind);
  const archive = ZipArchive.open(bytes);
  if ('problem' in archive) throw fromZipProblem(source, archive, kind);
  const { names } = archive;

  if (archive.entry(HEADER_MEMBER) === undefined) {
    const npz = names.length > 0 && names.every((n) => n.endsWith('.npy'));
    const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(', ') + (names.length > 5 ? ', ...' : '');
    throw foreignFileError(
      source,
      npz
        ? `it is a NumPy .npz archive of arrays (${shown}) without a ${HEADER_MEMBER} member`
        : `it is a zip archive without a ${HEADER_MEMBER} member${names.length ? ` (it holds ${shown})` : ' (it is empty)'}`,
      kind,
    );
  }

  // The header first: its format version decides whether the rest is ours to read.
  const headerBytes = archive.read(HEADER_MEMBER);
  if ('problem' in headerBytes) throw fromZipProblem(source, headerBytes, kind);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes.data));
  } catch (err) {
    throw damaged(source, `its ${HEADER_MEMBER} is not valid JSON: ${(err as Error).message}`, kind, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw damaged(source, `its ${HEADER_MEMBER} is not a JSON object`, kind);
  }
  const header: Record<string, unknown> = { ...parsed };
  const { format, formatVersion } = header;
  if (format !== kind.format) {
    const other = KNOWN_KINDS.find((k) => k.format === format);
    throw foreignFileError(
      source,
      other
        ? other.isInstead
        : `its ${HEADER_MEMBER} has format ${format === undefined ? '(missing)' : JSON.stringify(format)}, not "${kind.format}"`,
      kind,
    );
  }
  if (typeof formatVersion !== 'number' || !Number.isSafeInteger(formatVersion) || formatVersion < 1) {
    throw damaged(source, `its formatVersion is ${formatVersion === undefined ? 'missing' : JSON.stringify(formatVersion)}, not a positive integer`, kind);
  }
  if (formatVersion > kind.version) {
    throw new KmfitError(
      'MODEL_FILE_VERSION',
      `${source} was written by a newer kmfit (format ${formatVersion}); this kmfit reads format ≤ ${kind.version}: upgrade kmfit`,
    );
  }

  // Arrays are decoded (inflated, CRC-checked) when first read, so a reader pays only for those
  // it uses; members other than the header and .npy arrays are ignored (room for additions).
  const arrays: Record<string, NpyArray> = {};
  for (const memberName of names) {
    if (!memberName.endsWith('.npy')) continue;
    let decoded: NpyArray | undefined;
    // An own property even for a member named "__proto__.npy".
    Object.defineProperty(arrays, memberName.slice(0, -'.npy'.length), {
      enumerable: true,
      get: () => (decoded ??= decodeArrayMember(archive, memberName, source, kind)),
    });
  }
  return { header: { ...header, format, formatVersion }, arrays };
}

/** One .npy member of the archive, decoded; any problem → the file's KmfitError. */
function decodeArrayMember(archive: ZipArchive, memberName: string, source: string, kind: FileKind): NpyArray {
  let decoded: { array: NpyArray; end: number };
  let member: { data: Uint8Array } | ZipProblem;
  try {
    member = archive.read(memberName);
    if ('problem' in member) throw fromZipProblem(source, member, kind);
    decoded = decodeNpyPrefix(member.data, `member ${memberName}`);
  } catch (err) {
    // A .npy header or body that does not decode: the member passed its CRC, so the file was
    // written that way, but a kmfit file never holds one.
    if (err instanceof KmfitError && err.code === 'IO_ERROR') throw damaged(source, err.message, kind, err);
    throw err;
  }
  if (decoded.end !== member.data.length) {
    throw damaged(source, `member ${memberName} has ${member.data.length - decoded.end} bytes after its array data`, kind);
  }
  return decoded.array;
}

/**
 * Reads and decodes a model file (arrays decoded when first read, as decodeModelFile). FILE_NOT_FOUND
 * when nothing is at `path`; UNSUPPORTED_HERE where there are no files (a web page); see the module
 * comment.
 */
export async function readModelFile(path: string, kind: FileKind = MODEL_FILE): Promise<DecodedModelFile> {
  return decodeModelFile(await filesFor(kind, 'read').readFile(path, kind), path, kind);
}
