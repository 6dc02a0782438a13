/**
 * Field-by-field checks of a decoded kmfit file (model or checkpoint): its JSON header and its
 * arrays. Each check returns the value typed, or throws the reader's KmfitError naming the field
 * and what was found, so that a damaged or hand-edited file is refused before any of it is used:
 * never a TypeError in a printout, never a model that predicts NaN.
 */
import type { KernelSpec } from '../../kernels/index.js';
import type { ClassLabel, Task } from '../data/labels.js';
import type { ScaleKind } from '../data/scaling.js';
import { KmfitError, describeValue } from '../errors.js';
import type { EpochMetrics, StepHalving } from '../solver/events.js';
import { CACHE_PRECISIONS } from '../solver/kernelCache.js';
import { AVERAGING_SOURCES, type Plan } from '../solver/plan.js';
import type { NpyArray } from './npy.js';

type NumericArray = Float32Array | Float64Array | Int32Array | Uint32Array;

/** The plan's integers ≥ 1, integers ≥ 0, positive numbers, finite numbers and strings, as written by fit(). */
const PLAN_COUNTS = ['n', 'd', 'outputs', 'subsampleSize', 'batchSize', 'epochs', 'iterationsPerEpoch'] as const;
const PLAN_WHOLE = ['q', 'seed'] as const;
const PLAN_POSITIVE = ['stepSize', 'bandwidth', 'deviceBatchLimit'] as const;
const PLAN_NUMBERS = ['lambda1', 'lambdaQ', 'lambdaNew', 'beta', 'criticalBatchPlain', 'criticalBatch'] as const;
const PLAN_SECONDS = ['eigenSeconds', 'setupSeconds'] as const;
const PLAN_TEXT = ['kernel', 'bandwidthSource', 'backend', 'qSource', 'deviceBatchLimitSource', 'batchSizeSource', 'stepSizeSource', 'stepRegime'] as const;

export class HeaderFields {
  /**
   * @param unusable makes the reader's error from what is wrong ("its plan.n is -1, …").
   */
  constructor(
    protected readonly header: Record<string, unknown>,
    protected readonly arrays: Record<string, NpyArray>,
    readonly unusable: (what: string) => KmfitError,
  ) {}

  object(value: unknown, name: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.unusable(`its ${name} is ${describeValue(value)}, not an object`);
    return value as Record<string, unknown>;
  }

  list(value: unknown, name: string): unknown[] {
    if (!Array.isArray(value)) throw this.unusable(`its ${name} is ${describeValue(value)}, not a list`);
    return value;
  }

  text(value: unknown, name: string): string {
    if (typeof value !== 'string') throw this.unusable(`its ${name} is ${describeValue(value)}, not a string`);
    return value;
  }

  boolean(value: unknown, name: string): boolean {
    if (typeof value !== 'boolean') throw this.unusable(`its ${name} is ${describeValue(value)}, not true or false`);
    return value;
  }

  oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) throw this.unusable(`its ${name} is ${describeValue(value)}, not one of ${allowed.join(', ')}`);
    return value as T;
  }

  integer(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.unusable(`its ${name} is ${describeValue(value)}, not an integer in [${min}, ${max}]`);
    }
    return value;
  }

  /** A finite number; ≥ 0, or > 0 with `positive`; any sign with `signed`. */
  number(value: unknown, name: string, positive = false, signed = false): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || (signed ? false : positive ? value <= 0 : value < 0)) {
      const kind = signed ? 'finite' : positive ? 'positive' : 'non-negative';
      throw this.unusable(`its ${name} is ${describeValue(value)}, not a ${kind} number`);
    }
    return value;
  }

  /** A fraction in [0, 1] (an error rate). */
  fraction(value: unknown, name: string): number {
    const x = this.number(value, name);
    if (x > 1) throw this.unusable(`its ${name} is ${x}, not a fraction in [0, 1]`);
    return x;
  }

  task(value: unknown, name = 'task'): Task {
    return this.oneOf(value, name, ['classification', 'regression'] as const);
  }

  scaling(value: unknown): ScaleKind {
    return this.oneOf(value, 'scaling', ['none', 'minmax', 'standard'] as const);
  }

  /** fit()'s plan block: every field the solver, the printouts and `kmfit info` read. */
  plan(value: unknown): Plan {
    const plan = this.object(value, 'plan');
    for (const key of PLAN_COUNTS) this.integer(plan[key], `plan.${key}`, 1);
    for (const key of PLAN_WHOLE) this.integer(plan[key], `plan.${key}`, 0);
    for (const key of PLAN_POSITIVE) this.number(plan[key], `plan.${key}`, true);
    for (const key of PLAN_NUMBERS) this.number(plan[key], `plan.${key}`, false, true);
    for (const key of PLAN_SECONDS) this.number(plan[key], `plan.${key}`);
    for (const key of PLAN_TEXT) this.text(plan[key], `plan.${key}`);
    this.task(plan.task, 'plan.task');
    if (plan.device !== undefined) this.text(plan.device, 'plan.device');
    if (plan.distances !== undefined) this.text(plan.distances, 'plan.distances');
    if (plan.subsampleSource !== undefined) this.text(plan.subsampleSource, 'plan.subsampleSource');
    if (plan.capacityCurve !== undefined) {
      this.list(plan.capacityCurve, 'plan.capacityCurve').forEach((entry, i) => {
        const point = this.object(entry, `plan.capacityCurve[${i}]`);
        this.integer(point.batch, `plan.capacityCurve[${i}].batch`, 1);
        this.number(point.seconds, `plan.capacityCurve[${i}].seconds`);
      });
    }
    if (plan.centers !== undefined) this.centersPlan(plan.centers);
    if (plan.stopping !== undefined) this.number(this.object(plan.stopping, 'plan.stopping').residual, 'plan.stopping.residual', true);
    if (plan.backendChoice !== undefined) this.backendChoice(plan.backendChoice);
    if (plan.unseenValidationLabels !== undefined) this.unseenLabels(plan.unseenValidationLabels, 'plan.unseenValidationLabels');
    if (plan.stepSizeHalvings !== undefined) {
      const halvings = this.halvings(plan.stepSizeHalvings, 'plan.stepSizeHalvings');
      if (halvings.length === 0) throw this.unusable('its plan.stepSizeHalvings is an empty list (absent when the step size was never halved)');
    }
    return plan as unknown as Plan;
  }

  /** How 'auto' chose the backend: each candidate's time on the data. */
  private backendChoice(value: unknown): void {
    const choice = this.object(value, 'plan.backendChoice');
    this.text(choice.name, 'plan.backendChoice.name');
    this.integer(choice.rows, 'plan.backendChoice.rows', 1);
    this.integer(choice.centers, 'plan.backendChoice.centers', 1);
    if (typeof choice.cached !== 'boolean') throw this.unusable(`its plan.backendChoice.cached is ${describeValue(choice.cached)}, not true or false`);
    if (choice.seconds !== undefined) this.number(choice.seconds, 'plan.backendChoice.seconds');
    this.list(choice.times, 'plan.backendChoice.times').forEach((entry, i) => {
      const time = this.object(entry, `plan.backendChoice.times[${i}]`);
      this.text(time.backend, `plan.backendChoice.times[${i}].backend`);
      this.number(time.seconds, `plan.backendChoice.times[${i}].seconds`);
    });
  }

  /** Scored rows' labels that are no class: how many of how many, and the first row and label. */
  private unseenLabels(value: unknown, name: string): void {
    const unseen = this.object(value, name);
    const rows = this.integer(unseen.rows, `${name}.rows`, 1);
    this.integer(unseen.count, `${name}.count`, 1, rows);
    this.integer(unseen.row, `${name}.row`, 0, rows - 1);
    if (typeof unseen.label !== 'string' && !(typeof unseen.label === 'number' && Number.isFinite(unseen.label))) {
      throw this.unusable(`its ${name}.label is ${describeValue(unseen.label)}, not a string or a finite number`);
    }
  }

  /** EigenPro 3's part of a plan: the centers and the projection's figures. */
  private centersPlan(value: unknown): void {
    const centers = this.object(value, 'plan.centers');
    this.integer(centers.count, 'plan.centers.count', 1);
    this.text(centers.source, 'plan.centers.source');
    this.number(centers.memoryBytes, 'plan.centers.memoryBytes');
    this.text(centers.memoryNote, 'plan.centers.memoryNote');
    // Absent in files from before averaging (they trained without it).
    if (centers.averaging !== undefined) {
      this.boolean(centers.averaging, 'plan.centers.averaging');
      this.oneOf(centers.averagingSource, 'plan.centers.averagingSource', AVERAGING_SOURCES);
    }
    const projection = this.object(centers.projection, 'plan.centers.projection');
    for (const key of ['subsampleSize', 'batchSize', 'passes', 'iterations', 'interval']) this.integer(projection[key], `plan.centers.projection.${key}`, 1);
    this.integer(projection.q, 'plan.centers.projection.q', 0);
    this.number(projection.stepSize, 'plan.centers.projection.stepSize', true);
    for (const key of ['lambda1', 'lambdaQ', 'lambdaNew', 'beta', 'criticalBatch']) this.number(projection[key], `plan.centers.projection.${key}`, false, true);
    this.number(projection.eigenSeconds, 'plan.centers.projection.eigenSeconds');
    for (const key of ['stepRegime', 'intervalSource']) this.text(projection[key], `plan.centers.projection.${key}`);
  }

  /** The labels of the `l` score columns (classification), or none (regression). */
  classes(value: unknown, task: Task, l: number): ClassLabel[] | undefined {
    if (task === 'regression') {
      if (value !== null && value !== undefined) throw this.unusable(`it is a regression model with classes ${describeValue(value)}`);
      return undefined;
    }
    if (!Array.isArray(value) || value.length !== l || !value.every((c) => typeof c === 'string' || (typeof c === 'number' && Number.isFinite(c)))) {
      throw this.unusable(`it has ${l} score columns but its classes are ${describeValue(value)}`);
    }
    if (new Set(value).size !== value.length) throw this.unusable('its classes repeat a label');
    return value as ClassLabel[];
  }

  kernel(value: unknown): KernelSpec {
    const kernel = this.object(value, 'kernel');
    this.text(kernel.name, 'kernel.name');
    this.number(kernel.bandwidth, 'kernel.bandwidth', true);
    const params = this.object(kernel.params, 'kernel.params');
    for (const [key, v] of Object.entries(params)) this.number(v, `kernel.params.${key}`, false, true);
    if (kernel.formula !== undefined) this.text(kernel.formula, 'kernel.formula');
    return kernel as unknown as KernelSpec;
  }

  /** Per-epoch metrics of `epochs` epochs, numbered 1, 2, …. */
  history(value: unknown, name: string, epochs?: number): EpochMetrics[] {
    const list = this.list(value, name);
    if (epochs !== undefined && list.length !== epochs) throw this.unusable(`its ${name} is not a list of ${epochs} epochs`);
    list.forEach((entry, i) => {
      const epoch = this.object(entry, `${name}[${i}]`);
      const at = (key: string) => `${name}[${i}].${key}`;
      this.integer(epoch.epoch, at('epoch'), i + 1, i + 1);
      this.number(epoch.seconds, at('seconds'));
      this.integer(epoch.iterations, at('iterations'), 0);
      this.number(epoch.trainMse, at('trainMse'));
      for (const key of ['trainError', 'validationError'] as const) if (epoch[key] !== undefined) this.fraction(epoch[key], at(key));
      if (epoch.validationMse !== undefined) this.number(epoch.validationMse, at('validationMse'));
      if (epoch.residual !== undefined) this.number(epoch.residual, at('residual'));
      if (epoch.stepSize !== undefined) this.number(epoch.stepSize, at('stepSize'), true);
      if (epoch.halvings !== undefined) this.integer(epoch.halvings, at('halvings'), 0);
      if (epoch.cacheLeft !== undefined) {
        const left = this.object(epoch.cacheLeft, at('cacheLeft'));
        this.oneOf(left.precision, at('cacheLeft.precision'), CACHE_PRECISIONS);
        this.number(left.share, at('cacheLeft.share'));
        if (left.refilled !== undefined) this.oneOf(left.refilled, at('cacheLeft.refilled'), ['float32']);
      }
    });
    return list as EpochMetrics[];
  }

  halvings(value: unknown, name: string): StepHalving[] {
    const list = this.list(value, name);
    list.forEach((entry, i) => {
      const halving = this.object(entry, `${name}[${i}]`);
      this.number(halving.from, `${name}[${i}].from`, true);
      this.number(halving.to, `${name}[${i}].to`, true);
    });
    return list as StepHalving[];
  }

  /** The array `name` of `type` and `shape` (any length when no shape is given). */
  array<T extends NumericArray>(name: string, type: new (length: number) => T, shape?: readonly number[]): T {
    const array = this.arrays[name];
    if (!array) throw this.unusable(`it has no ${name} array`);
    if (!(array.data instanceof type)) throw this.unusable(`its ${name} array is ${array.dtype}, not ${type.name}`);
    const expected = shape ?? [array.data.length];
    if (array.shape.length !== expected.length || array.shape.some((size, i) => size !== expected[i])) {
      throw this.unusable(`its ${name} array has shape [${array.shape.join(', ')}], not [${expected.join(', ')}]`);
    }
    return array.data as T;
  }

  /** Like `array`, and every value finite (weights, centers, scalings). */
  finiteArray<T extends Float32Array | Float64Array>(name: string, type: new (length: number) => T, shape?: readonly number[]): T {
    const data = this.array(name, type, shape);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw this.unusable(`its ${name} array holds ${data[i]} at element ${i}`);
    }
    return data;
  }
}
