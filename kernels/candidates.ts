/**
 * A bandwidth search's candidates: the kernels (the `kernel` option, one or a list) times the
 * bandwidths (a list, or 'search': a grid around each kernel's default from the median pairwise
 * distance). Every kernel here is a function of the distance, which is what lets the candidates
 * share each block's distances; a formula that ignores sigma gives the same kernel at every
 * bandwidth, and is refused.
 */
import { chooseKernel, defaultBandwidth, makeKernel, type KernelChoice, type KernelOption } from './index.js';
import type { Kernel } from './kernel.js';
import { KmfitError, describeValue } from '../src/errors.js';

/** What the bandwidth option may be: one σ, several, or 'search' (a grid from the data). */
export type BandwidthOption = number | readonly number[] | 'search';

/** The default grid: these multiples of the kernel's median-heuristic bandwidth. */
export const GRID_FACTORS = [0.25, 0.5, 1, 2, 4] as const;

/** Whether fit() is asked to search: several kernels, several bandwidths, or 'search'. */
export function isSearch(options: { kernel?: unknown; bandwidth?: unknown }): boolean {
  return options.bandwidth === 'search' || Array.isArray(options.bandwidth) || Array.isArray(options.kernel);
}

/** Checks the bandwidth option's form (one positive number, a non-empty list of them, or 'search'). */
export function checkBandwidthOption(value: unknown): void {
  if (value === undefined || value === 'search') return;
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (positive(value)) return;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new KmfitError('INVALID_OPTION', "The 'bandwidth' option is an empty list: give at least one bandwidth > 0, or 'search' for a grid from the data.");
    }
    const bad = value.findIndex((x) => !positive(x));
    if (bad < 0) return;
    throw new KmfitError('INVALID_OPTION', `The 'bandwidth' option's entry ${bad} is ${describeValue(value[bad])}; every bandwidth must be a number > 0.`);
  }
  throw new KmfitError(
    'INVALID_OPTION',
    `The 'bandwidth' option must be a number > 0, a list of them, or 'search'; got ${describeValue(value)}. (Leave it out for the data-driven default.)`,
  );
}

/** Checks the kernel option's list form (a list must not be empty; its entries are checked as kernels). */
export function checkKernelList(value: unknown): void {
  if (Array.isArray(value) && value.length === 0) {
    throw new KmfitError('INVALID_OPTION', "The 'kernel' option is an empty list: give at least one kernel, e.g. ['laplacian', 'gaussian'].");
  }
}

export interface Candidate {
  readonly kernel: Kernel;
  /** Where its bandwidth came from: 'given', or its place in the grid. */
  readonly source: string;
}

/** The kernel choices of the `kernel` option, each without a bandwidth of its own. */
export function kernelChoices(option: KernelOption | readonly KernelOption[] | undefined): KernelChoice[] {
  const options = Array.isArray(option) ? option : [option as KernelOption | undefined];
  return options.map((entry) => {
    const choice = chooseKernel(entry);
    if (choice.bandwidth !== undefined) {
      throw new KmfitError('INVALID_OPTION', `A kernel of a search has its bandwidth from the 'bandwidth' option; remove bandwidth ${choice.bandwidth} from ${describeValue(entry)}.`);
    }
    return choice;
  });
}

/**
 * The candidates: each kernel at each bandwidth of the list, or, for 'search' (or no bandwidth),
 * at GRID_FACTORS × its default from `median`.
 * @throws KmfitError INVALID_OPTION for a formula that does not depend on sigma.
 */
export function searchCandidates(choices: readonly KernelChoice[], bandwidth: BandwidthOption | undefined, median: number | undefined): Candidate[] {
  const candidates: Candidate[] = [];
  for (const choice of choices) {
    let widths: { value: number; source: string }[];
    if (typeof bandwidth === 'number' || Array.isArray(bandwidth)) {
      widths = (typeof bandwidth === 'number' ? [bandwidth] : (bandwidth as number[])).map((value) => ({ value, source: 'given' }));
    } else {
      if (median === undefined) throw new Error('searchCandidates: a grid needs the median distance');
      const center = defaultBandwidth(choice, median);
      widths = GRID_FACTORS.map((factor) => ({ value: factor * center, source: `${factor} × the median heuristic's ${Number(center.toPrecision(4))}` }));
    }
    if (choice.formula !== undefined && widths.length > 1) {
      const [a, b] = [makeKernel(choice, widths[0].value), makeKernel(choice, widths[1].value)];
      if (JSON.stringify(a.expression) === JSON.stringify(b.expression)) {
        throw new KmfitError(
          'INVALID_OPTION',
          `The kernel formula ${JSON.stringify(choice.formula)} does not use sigma, so its bandwidths cannot be searched: ` +
            "write the bandwidth as sigma in the formula (e.g. 'exp(-r / sigma)'), or give one bandwidth.",
        );
      }
    }
    for (const width of widths) candidates.push({ kernel: makeKernel(choice, width.value), source: width.source });
  }
  return candidates;
}

/**
 * The options of a run with one kernel and one bandwidth, typed as such.
 * @throws KmfitError INVALID_OPTION when they ask for a search, which `caller` does not do.
 */
export function singleKernel<O extends { kernel?: KernelOption | readonly KernelOption[]; bandwidth?: BandwidthOption }>(
  options: O,
  caller: string,
): Omit<O, 'kernel' | 'bandwidth'> & { kernel?: KernelOption; bandwidth?: number } {
  if (isSearch(options)) {
    throw new KmfitError('INVALID_OPTION', `${caller} takes one kernel and one bandwidth; a list of them, or 'search', is for fit() and the kmfit command.`);
  }
  return options as Omit<O, 'kernel' | 'bandwidth'> & { kernel?: KernelOption; bandwidth?: number };
}
