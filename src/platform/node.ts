/**
 * The Node.js host: the file system, a cache file under ~/.cache, zlib's CRC-32, NATS clusters,
 * onnxruntime-node.
 */
import os from 'node:os';
import path from 'node:path';
import * as zlib from 'node:zlib';
import { createOnnxBackend, onnxSupport } from '../backends/onnx/index.js';
import { Cluster } from '../cluster/coordinator.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { jsonFile } from '../io/jsonFile.js';
import { readWholeFile } from '../io/wholeFile.js';
import type { Platform } from './types.js';

/** ~/.cache/kmfit/capacity.json, or under $XDG_CACHE_HOME. */
function capacityFile(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'kmfit', 'capacity.json');
}

export const platform: Platform = {
  name: 'Node.js',
  files: { readFile: readWholeFile, writeFileAtomic },
  // The path is looked up at each use: tests point XDG_CACHE_HOME elsewhere after loading kmfit.
  capacityCache: {
    read: () => jsonFile(capacityFile()).read(),
    write: (value) => jsonFile(capacityFile()).write(value),
  },
  // zlib.crc32 is Node ≥ 20.15 (≈5 GB/s, against ≈0.8 GB/s for the portable one).
  ...(typeof zlib.crc32 === 'function' ? { crc32: (bytes: Uint8Array, previous: number) => zlib.crc32(bytes, previous) >>> 0 } : {}),
  startCluster: (options, model) => Cluster.start(options, model),
  onnx: { support: onnxSupport, create: createOnnxBackend },
};
