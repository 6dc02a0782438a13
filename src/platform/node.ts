/**
 * The Node.js host: the file system, a cache file under ~/.cache, NATS clusters,
 * onnxruntime-node.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOnnxBackend, onnxSupport } from '../backends/onnx/index.js';
import { checkFolder, writeFileAtomic } from '../io/atomicWrite.js';
import { readWholeFile } from '../io/wholeFile.js';
import type { JsonStore, Platform } from './types.js';

/** ~/.cache/kmfit/capacity.json, or under $XDG_CACHE_HOME. */
function capacityFile(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'kmfit', 'capacity.json');
}

/** A small JSON file kept between runs, replaced whole on each write. */
function jsonFile(file: string): JsonStore {
  return {
    read() {
      try {
        return JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        return undefined; // missing or unreadable: the caller computes it again
      }
    },
    write(value) {
      try {
        mkdirSync(path.dirname(file), { recursive: true });
        // Written beside it and renamed over it, so that a reader never sees half a file.
        const temporary = `${file}.${process.pid}.tmp`;
        writeFileSync(temporary, JSON.stringify(value, null, 1));
        renameSync(temporary, file);
      } catch {
        // A read-only home only costs the work again next time.
      }
    },
  };
}

export const platform: Platform = {
  name: 'Node.js',
  files: { readFile: readWholeFile, writeFileAtomic, checkFolder },
  // The path is looked up at each use: tests point XDG_CACHE_HOME elsewhere after loading kmfit.
  capacityCache: {
    read: () => jsonFile(capacityFile()).read(),
    write: (value) => jsonFile(capacityFile()).write(value),
  },
  // Loaded when a run asks for one: a run without a cluster never loads the NATS client.
  startCluster: async (options, model) => (await import('../cluster/coordinator.js')).Cluster.start(options, model),
  onnx: { support: onnxSupport, create: createOnnxBackend },
};
