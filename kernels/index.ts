/**
 * Resolves the user's `kernel` option into a Kernel: a built-in record or a custom formula, with
 * its bandwidth and parameters checked.
 */
import { KmfitError, describeValue } from '../src/errors.js';
import { BUILTIN_KERNEL_NAMES, clamped, findBuiltinKernel } from './builtin.js';
import { compileExpression } from './compile.js';
import { FormulaError, translateFormula } from './custom.js';
import type { Kernel, KernelSpec } from './kernel.js';

export type { Kernel, KernelSpec } from './kernel.js';
export { BUILTIN_KERNELS, BUILTIN_KERNEL_NAMES } from './builtin.js';

/** What users may pass as `kernel`. */
export type KernelOption =
  | string // a built-in name, or a formula of r such as 'exp(-r^1.5 / sigma)'
  | {
      name?: string;
      formula?: string;
      bandwidth?: number;
      gamma?: number;
      nu?: number;
      params?: Record<string, number>;
    };

/** The kernel chosen, before the bandwidth is known (it may come from the data). */
export interface KernelChoice {
  readonly name: string; // built-in name or 'custom'
  readonly formula?: string;
  readonly bandwidth?: number;
  readonly params: Readonly<Record<string, number>>;
}

const NAME_LIKE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function checkBandwidth(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new KmfitError(
      'INVALID_OPTION',
      `${where} must be a positive number; got ${describeValue(value)}. ` +
        'Leave it out to use the data-driven default (from the median pairwise distance).',
    );
  }
  return value;
}

function unknownKernel(name: string): KmfitError {
  return new KmfitError(
    'UNKNOWN_KERNEL',
    `Unknown kernel ${JSON.stringify(name)}. Known kernels: ${BUILTIN_KERNEL_NAMES.join(', ')}; ` +
      "or give a formula of the distance r, e.g. 'exp(-r^1.5 / sigma)'.",
  );
}

/** The fields every kernel object may have; a built-in kernel's parameters (gamma, nu) come beside them. */
const KERNEL_FIELDS = ['name', 'formula', 'bandwidth', 'params'];

function noSuchField(field: string, known: readonly string[], kernel: string, kind: string): KmfitError {
  return new KmfitError(
    'INVALID_OPTION',
    `${kernel} has no ${field}; its ${kind} are ${known.length > 0 ? known.join(', ') : 'none'}. Check the spelling, or leave it out.`,
  );
}

/** A misspelt field (gama, sigma) would be ignored and the kernel trained with defaults: refuse it. */
function checkFields(spec: object, own: readonly string[], kernel: string): void {
  const known = [...KERNEL_FIELDS, ...own];
  const unknown = Object.keys(spec).find((key) => !known.includes(key));
  if (unknown !== undefined) throw noSuchField(`field '${unknown}'`, known, kernel, 'fields');
}

/** Parses the `kernel` option (and a separate `bandwidth` option, which wins if both are given). */
export function chooseKernel(option: KernelOption | undefined, bandwidth?: number): KernelChoice {
  const topBandwidth = checkBandwidth(bandwidth, 'bandwidth');
  const spec = typeof option === 'string' || option === undefined ? { name: option } : option;
  if (typeof spec !== 'object' || spec === null) {
    throw new KmfitError('INVALID_OPTION', `kernel must be a name, a formula or an object; got ${describeValue(option)}.`);
  }
  const chosenBandwidth = topBandwidth ?? checkBandwidth(spec.bandwidth, 'kernel.bandwidth');
  const rawName = spec.name ?? (spec.formula === undefined ? 'laplacian' : 'custom');
  const isFormula = spec.formula !== undefined || (rawName !== 'custom' && !NAME_LIKE.test(rawName));
  if (isFormula) {
    checkFields(spec, [], 'A formula kernel');
    const formula = spec.formula ?? rawName;
    const params = { ...(spec.params ?? {}) };
    // The formula's sigma is the bandwidth and r the distance: a value in params would be ignored.
    const bound = FORMULA_VARIABLES.find((name) => name in params);
    if (bound !== undefined) {
      throw new KmfitError(
        'INVALID_OPTION',
        bound === 'sigma'
          ? 'kernel.params.sigma would be ignored: in a formula sigma is the bandwidth. Give it as the bandwidth option (or kernel.bandwidth), and leave it out of params.'
          : "kernel.params.r would be ignored: in a formula r is the distance between two points. Leave it out of params.",
      );
    }
    return { name: 'custom', formula, bandwidth: chosenBandwidth, params };
  }
  const builtin = findBuiltinKernel(rawName.toLowerCase());
  if (!builtin) throw unknownKernel(rawName);
  checkFields(spec, Object.keys(builtin.params), `The ${builtin.name} kernel`);
  for (const key of Object.keys(spec.params ?? {})) {
    if (!(key in builtin.params)) throw noSuchField(`params.${key}`, Object.keys(builtin.params), `The ${builtin.name} kernel`, 'parameters');
  }
  const params: Record<string, number> = { ...builtin.params };
  for (const key of Object.keys(builtin.params)) {
    const value = (spec as Record<string, unknown>)[key] ?? spec.params?.[key];
    if (value !== undefined) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new KmfitError('INVALID_OPTION', `kernel.${key} must be a number; got ${describeValue(value)}.`);
      }
      params[key] = value;
    }
  }
  const problem = builtin.validate?.(params);
  if (problem) throw new KmfitError('INVALID_OPTION', `${builtin.name} kernel: ${problem}.`);
  return { name: builtin.name, bandwidth: chosenBandwidth, params };
}

/** The data-driven bandwidth for a kernel choice, from the median pairwise distance. */
export function defaultBandwidth(choice: KernelChoice, medianDistance: number): number {
  const builtin = findBuiltinKernel(choice.name);
  return builtin ? builtin.defaultBandwidth(medianDistance, choice.params) : medianDistance;
}

function invalidFormula(formula: string, reason: string): KmfitError {
  return new KmfitError(
    'INVALID_KERNEL_FORMULA',
    `The kernel formula ${JSON.stringify(formula)} is not usable: ${reason}. ` +
      "A formula is a mathjs expression of the distance r and named parameters, e.g. 'exp(-r^1.5 / sigma)'; " +
      'sigma is the bandwidth, other parameters come from kernel.params.',
  );
}

/** A formula's variables, whose values come from the bandwidth and the points, never from params. */
const FORMULA_VARIABLES = ['sigma', 'r'];

/** The kernel option that gives back the kernel a spec describes (a model's, a checkpoint's), its bandwidth aside. */
export function kernelOptionOf(spec: KernelSpec): KernelOption {
  if (spec.formula === undefined) return { name: spec.name, ...spec.params };
  // Files written before fit() refused them may keep a sigma or r in params, which never had an effect.
  const params = Object.fromEntries(Object.entries(spec.params).filter(([name]) => !FORMULA_VARIABLES.includes(name)));
  return { formula: spec.formula, params };
}

/** Rebuilds the kernel a spec describes (a model file's, a checkpoint's, a cluster command's). */
export function kernelFromSpec(spec: KernelSpec): Kernel {
  return makeKernel(chooseKernel(kernelOptionOf(spec)), spec.bandwidth);
}

/** Builds the Kernel for a choice and a bandwidth. */
export function makeKernel(choice: KernelChoice, bandwidth: number): Kernel {
  checkBandwidth(bandwidth, 'bandwidth');
  const spec: KernelSpec = {
    name: choice.name,
    bandwidth,
    params: { ...choice.params },
    ...(choice.formula !== undefined ? { formula: choice.formula } : {}),
  };
  if (choice.formula !== undefined) return makeCustomKernel(spec, choice.formula);
  const builtin = findBuiltinKernel(choice.name);
  if (!builtin) throw unknownKernel(choice.name);
  // Written out in builtin.ts rather than compiled: built-ins work where eval is forbidden.
  const { js, constants, evaluate, transform } = builtin.expression(bandwidth, spec.params);
  const paramText = Object.entries(spec.params).map(([k, v]) => `, ${k} = ${v}`).join('');
  return {
    spec,
    expression: { js, constants },
    value: (r2) => evaluate(clamped(r2)),
    diagonal: evaluate(0),
    transformSquaredDistances: transform,
    describe: () => `${spec.name}(σ = ${formatNumber(bandwidth)}${paramText})`,
  };
}

function makeCustomKernel(spec: KernelSpec, formula: string): Kernel {
  let translated;
  try {
    translated = translateFormula(formula);
  } catch (error) {
    if (error instanceof FormulaError) throw invalidFormula(formula, error.message);
    throw error;
  }
  const constants: Record<string, number> = {};
  for (const name of translated.parameters) {
    const value = name === 'sigma' ? spec.bandwidth : Object.hasOwn(spec.params, name) ? spec.params[name] : undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalidFormula(
        formula,
        value === undefined
          ? `the parameter ${name} has no value; pass it as kernel: { formula, params: { ${name}: … } }`
          : `the parameter ${name} is ${describeValue(value)}, not a finite number`,
      );
    }
    constants[`p_${name}`] = value;
  }
  const expression = { js: translated.js, constants };
  const compiled = compileExpression(expression.js, expression.constants);
  const atZero = compiled.value(0);
  if (!Number.isFinite(atZero) || atZero <= 0) {
    throw invalidFormula(formula, `its value at r = 0 is ${atZero}; it must be finite and positive`);
  }
  // A positive-definite kernel is largest at r = 0 and finite everywhere: check on a grid.
  const scale = spec.bandwidth;
  for (let i = 1; i <= 200; i++) {
    const r = (scale * i * i) / 1000;
    const v = compiled.value(r * r);
    if (!Number.isFinite(v)) throw invalidFormula(formula, `its value at r = ${formatNumber(r)} is ${v}`);
    if (Math.abs(v) > atZero * (1 + 1e-12)) {
      throw invalidFormula(
        formula,
        `|k(${formatNumber(r)})| = ${formatNumber(Math.abs(v))} exceeds k(0) = ${formatNumber(atZero)}, which no positive-definite kernel does`,
      );
    }
  }
  return {
    spec,
    expression,
    value: compiled.value,
    diagonal: atZero,
    transformSquaredDistances: compiled.transform,
    describe: () => `custom(${formula}, σ = ${formatNumber(spec.bandwidth)})`,
  };
}

function formatNumber(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
