/**
 * Writes a KernelModel into the versioned .npz container of src/io/modelFile.ts
 * (docs/model-format.md): the header holds the kernel, task, labels, scaling kind, plan and
 * history; arrays hold the centers, the weights and the scaling.
 */
import type { ClassLabel, Task } from '../data/labels.js';
import type { ScaleKind } from '../data/scaling.js';
import { encodeModelFile, writeModelFile, type ModelFileContents } from '../io/modelFile.js';
import type { EpochMetrics, StopReason } from '../solver/events.js';
import type { Plan } from '../solver/plan.js';
import { version } from '../version.js';
import type { ModelParts } from './parts.js';

export interface ModelHeader {
  kmfitVersion: string;
  task: Task;
  classes: ClassLabel[] | null;
  kernel: { name: string; bandwidth: number; params: Record<string, number>; formula?: string };
  scaling: ScaleKind;
  plan: Plan;
  history: EpochMetrics[];
  stoppedBy: StopReason;
  keptEpoch: number;
}

/** Writes the model atomically: a failed save leaves no partial file. */
export async function saveModel(model: ModelParts, path: string): Promise<void> {
  await writeModelFile(path, modelFileContents(model));
}

/** The bytes saveModel writes, in memory. */
export function modelBytes(model: ModelParts): Uint8Array {
  return encodeModelFile(modelFileContents(model));
}

/** The model as the file's header and arrays (the arrays are the model's own, not copies). */
export function modelFileContents(model: ModelParts): ModelFileContents {
  const { centers, weights, scaling, kernel } = model;
  const header: ModelHeader = {
    kmfitVersion: version,
    task: model.task,
    classes: model.classes ? [...model.classes] : null,
    kernel: { ...kernel.spec, params: { ...kernel.spec.params } },
    scaling: scaling.kind,
    plan: model.plan,
    history: [...model.history],
    stoppedBy: model.stoppedBy,
    keptEpoch: model.keptEpoch,
  };
  return {
    header: { ...header },
    arrays: {
      centers: { data: centers.data, shape: [centers.rows, centers.cols] },
      weights: { data: weights, shape: [centers.rows, model.plan.outputs] },
      scaling_offset: { data: scaling.offset, shape: [centers.cols] },
      scaling_factor: { data: scaling.factor, shape: [centers.cols] },
    },
  };
}

