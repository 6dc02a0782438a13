/**
 * What kmfit needs from its host beyond the JavaScript language: files, a place to keep the
 * capacity cache between runs, a cluster's network, and onnxruntime-node's native
 * kernels. Node has all of them; a browser has none of the files, no cluster and no onnxruntime-node. Each host is one implementation of this interface —
 * platform/node.ts and platform/browser.ts — and the code that needs one imports `platform` from
 * '#platform', which package.json's `imports` resolves per build: the `browser` condition (the
 * browser build, dist/browser.js) gets the page's, every other build and the sources get Node's.
 * So the choice is made once, when an entry point is bundled, and a browser bundle never sees a
 * `node:` module.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Backend } from '../backends/backend.js';
import type { OnnxBackendOptions } from '../backends/onnx/index.js';
import type { Cluster } from '../cluster/coordinator.js';
import type { ClusterOptions } from '../cluster/options.js';
import type { FileKind } from '../io/fileKind.js';
import type { Matrix } from '../matrix.js';

/** Whole-file reads and atomic writes: model files, checkpoints. */
export interface FileAccess {
  /**
   * The bytes of the file at `path`, which should be a file of `kind` (named in messages).
   * @throws KmfitError FILE_NOT_FOUND, IO_ERROR; MODEL_FILE_FOREIGN for a file larger than any of `kind`.
   */
  readFile(path: string, kind: FileKind): Promise<Uint8Array>;
  /**
   * Replaces `path` with `parts`, written in order, atomically: a failed write leaves the old file.
   * @throws KmfitError FILE_NOT_FOUND (no such directory), IO_ERROR.
   */
  writeFileAtomic(path: string, parts: readonly Uint8Array[]): Promise<void>;
  /**
   * Checks, before a run that will write `path` later, that its folder exists.
   * @throws KmfitError FILE_NOT_FOUND (no such folder), IO_ERROR (the folder is a file).
   */
  checkFolder(path: string): Promise<void>;
}

/** A small JSON value kept between runs (the capacity cache). Neither call throws. */
export interface JsonStore {
  /** The value last written, or undefined when there is none or it cannot be read. */
  read(): unknown;
  /** Keeps `value`; a failure only costs the work of computing it again next time. */
  write(value: unknown): void;
}

export type ClusterStart = (options: ClusterOptions, model: { kernel: Kernel; centers: Matrix; outputs: number }) => Promise<Cluster>;

/** The onnx backend (onnxruntime-node's native CPU kernels), as backends/select.ts lists it. */
export interface OnnxAccess {
  /** Whether it runs here, and why not. */
  support(): Promise<{ available: boolean; reason?: string; version?: string }>;
  /** @throws KmfitError UNKNOWN_BACKEND where it does not run. */
  create(options: OnnxBackendOptions): Promise<Backend>;
}

export interface Platform {
  /** "Node.js", "a web page": how messages name the host. */
  readonly name: string;
  /** Absent where there is no file system (a page): see `requireFiles`. */
  readonly files?: FileAccess;
  /** Where measured device capacities are kept (solver/capacity.ts). */
  readonly capacityCache: JsonStore;
  /** Starts the coordinator of a cluster; absent where there is no network client for one. */
  readonly startCluster?: ClusterStart;
  readonly onnx: OnnxAccess;
}
