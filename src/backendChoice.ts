/**
 * The run's backend: the one named, or what 'auto' takes for this data — a hardware GPU's, else
 * the fastest of the CPU backends that run here, timed on the data's own shape (timeBackends in
 * src/solver/capacity.ts; which one wins depends on d, l and the kernel), else js.
 */
import type { Kernel } from '../kernels/kernel.js';
import type { Backend } from './backends/backend.js';
import { createAutoCandidates, createBackend, type BackendName, type BackendOptions } from './backends/select.js';
import type { TrainingRows } from './matrix.js';
import { CHOICE_CENTERS, timeBackends, type BackendChoice } from './solver/capacity.js';

/** The data the candidates are timed on: the training rows (their first CHOICE_CENTERS), the kernel, l. */
export interface ChoiceData {
  readonly kernel: Kernel;
  readonly rows: TrainingRows;
  readonly outputs: number;
}

/** Starts the backend `name`; for 'auto' with several candidates, also what the timing found. */
export async function startBackend(name: BackendName, options: BackendOptions, data: ChoiceData): Promise<{ backend: Backend; choice?: BackendChoice }> {
  if (name !== 'auto') return { backend: await createBackend(name, options) };
  const started = performance.now();
  const candidates = await createAutoCandidates(options);
  if (candidates.length === 1) return { backend: candidates[0] };
  let keep: Backend | undefined;
  try {
    const X = data.rows.first(Math.min(data.rows.rows, CHOICE_CENTERS));
    const choice = await timeBackends(candidates, data.kernel, X, data.outputs);
    keep = candidates.find((backend) => backend.name === choice.name);
    return { backend: keep!, choice: { ...choice, seconds: (performance.now() - started) / 1000 } };
  } finally {
    await Promise.all(candidates.filter((backend) => backend !== keep).map((backend) => backend.dispose()));
  }
}
