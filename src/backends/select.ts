/** Turns a backend name into a Backend. The fast backends (wasm, webgpu, gpujs) plug in here. */
import { KmfitError } from '../errors.js';
import { BACKEND_NAMES, type BackendName } from '../options.js';
import type { Backend } from './backend.js';
import { JsBackend } from './js/index.js';

/** Backends that can run here, fastest first, js last. */
export async function availableBackends(): Promise<Exclude<BackendName, 'auto'>[]> {
  return ['js'];
}

export async function createBackend(name: BackendName = 'auto'): Promise<Backend> {
  switch (name) {
    case 'auto':
    case 'js':
      return new JsBackend();
    default:
      throw new KmfitError(
        'UNKNOWN_BACKEND',
        `Unknown backend ${JSON.stringify(name)}; available here: ${BACKEND_NAMES.join(', ')}.`,
      );
  }
}
