/**
 * A browser (a page or a Web Worker): no file system, no cluster and no onnxruntime-node; the
 * capacity cache in localStorage where the page has one, else nowhere (each run calibrates again).
 */
import { KmfitError } from '../errors.js';
import type { JsonStore, OnnxAccess, Platform } from './types.js';

/** The page's localStorage under `key`. Workers have none; some pages throw on touching it (sandboxed frames, a full quota). */
function localStorageItem(key: string): JsonStore {
  const storage = () => Reflect.get(globalThis, 'localStorage') as { getItem(k: string): string | null; setItem(k: string, v: string): void } | undefined;
  return {
    read() {
      try {
        const text = storage()?.getItem(key);
        return typeof text === 'string' ? JSON.parse(text) : undefined;
      } catch {
        return undefined;
      }
    },
    write(value) {
      try {
        storage()?.setItem(key, JSON.stringify(value));
      } catch {
        // Only costs a calibration next time.
      }
    },
  };
}

/** onnxruntime-node is a native Node.js addon; leaving it out keeps protobufjs out of the page too. */
const NO_ONNX = 'onnxruntime-node runs only in Node.js (in a browser, use the wasm or webgpu backend)';
const noOnnx: OnnxAccess = {
  support: async () => ({ available: false, reason: NO_ONNX }),
  create: async () => {
    throw new KmfitError('UNKNOWN_BACKEND', `The onnx backend is not available here: ${NO_ONNX}.`);
  },
};

export const platform: Platform = {
  name: 'a browser',
  capacityCache: localStorageItem('kmfit.capacity'),
  onnx: noOnnx,
};
