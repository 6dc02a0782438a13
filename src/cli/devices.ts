/**
 * `kmfit devices`: which backends run here, on what device, with how much memory and which
 * measured parallel capacities, and which one 'auto' picks and why.
 */
import type { MemoryBudget } from '../backends/backend.js';
import { cachedCapacities, type CachedCapacity } from '../solver/capacity.js';
import { createBackend, explainAuto, probeBackends, type BackendAvailability } from '../backends/select.js';

interface DeviceReport extends BackendAvailability {
  readonly device?: string;
  /** Whether it computes many points at once; only then is a capacity measured. */
  readonly parallel?: boolean;
  readonly memory?: MemoryBudget;
  /** Capacities measured by earlier trainings (cached), per feature count and outputs. */
  readonly capacity?: CachedCapacity[];
  /** How it computes data of particular kinds here (Backend.dataForms). */
  readonly forms?: readonly string[];
}

/** Opens an available backend just long enough to read its device, memory budget and cached capacities. */
async function inspect(found: BackendAvailability): Promise<DeviceReport> {
  if (!found.available) return found;
  try {
    const backend = await createBackend(found.name);
    try {
      const { device, parallel } = backend.describe();
      const forms = await backend.dataForms?.();
      return { ...found, device, parallel, memory: backend.memoryBudget(), capacity: parallel ? cachedCapacities(backend) : undefined, ...(forms ? { forms } : {}) };
    } finally {
      await backend.dispose();
    }
  } catch (error) {
    return { ...found, available: false, detail: `${found.detail}, but it did not start: ${(error as Error).message}` };
  }
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function capacityText(report: DeviceReport): string {
  if (!report.parallel) return 'capacity: one point at a time (m_G is bounded by memory alone)';
  if (!report.capacity?.length) return 'capacity not measured yet (the first training measures and caches it)';
  // A capacity equal to the largest batch tried is only a lower bound.
  const each = report.capacity.map((c) => `m ${c.batch === c.maxBatch ? '≥' : '='} ${c.batch} at d = ${c.features}, l = ${c.outputs}, n = ${c.centers}`);
  return `capacity ${each.join('; ')}`;
}

export async function devices(args: { json?: boolean }): Promise<void> {
  const found: DeviceReport[] = [];
  for (const backend of await probeBackends()) found.push(await inspect(backend));
  // One backend, or the CPU backends 'auto' times on each data shape.
  const { names: auto, reason } = explainAuto(found);
  if (args.json) {
    process.stdout.write(JSON.stringify({ auto, reason, backends: found }, null, 2) + '\n');
    return;
  }
  const width = Math.max(...found.map((b) => b.name.length));
  for (const b of found) {
    const mark = auto.includes(b.name) ? (auto.length === 1 ? '  ← auto' : '  ← auto, when fastest on the data') : '';
    process.stdout.write(`${b.name.padEnd(width)}  ${b.available ? 'yes' : 'no '}  ${b.detail}${mark}\n`);
    if (b.device && b.memory) {
      const indent = ' '.repeat(width + 7);
      process.stdout.write(`${indent}device ${b.device}\n${indent}memory ${gib(b.memory.bytes)} (${b.memory.source})\n${indent}${capacityText(b)}\n`);
      for (const form of b.forms ?? []) process.stdout.write(`${indent}${form}\n`);
    }
  }
  process.stdout.write(`'auto' takes ${auto.join(' or ')}: ${reason}.\n`);
}
