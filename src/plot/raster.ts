/**
 * SVG to PNG with resvg compiled to WebAssembly (@resvg/resvg-wasm: no native build, no canvas).
 * WebAssembly cannot read the system's fonts, so a sans-serif font file is read here and handed
 * over; without one, text would silently vanish from the picture.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KmfitError } from '../errors.js';
import { ownLocation } from '../location.js';
import { missingPackageReason } from '../optionalPackages.js';

/** Common sans-serif fonts: Debian/Ubuntu (fonts-dejavu-core, fonts-liberation), macOS, Windows. */
const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

type Resvg = typeof import('@resvg/resvg-wasm');
let resvg: Promise<Resvg> | undefined;

export function loadResvg(): Promise<Resvg> {
  resvg ??= import('@resvg/resvg-wasm').then(
    async (module) => {
      const require = createRequire(ownLocation() ?? `${process.cwd()}/noop.js`);
      await module.initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
      return module;
    },
    (error: unknown) => {
      resvg = undefined; // a later call may try again (e.g. after an install)
      throw missingChartPackages(error);
    },
  );
  return resvg;
}

/** The error for a chart drawn without vega, vega-lite or resvg installed (optional peers). */
export function missingChartPackages(error: unknown): KmfitError {
  return new KmfitError('MISSING_PACKAGE', `Cannot draw the chart: ${missingPackageReason('charts', error)}.`, { cause: error });
}

function systemFonts(): Uint8Array[] {
  return FONT_CANDIDATES.filter((file) => existsSync(file)).map((file) => new Uint8Array(readFileSync(file)));
}

export interface PngOptions {
  /** Pixels per SVG unit (default 2: sharp on high-density screens). */
  readonly scale?: number;
  /** Font files' bytes (.ttf/.otf) for the text; default: a sans-serif font found on this system. */
  readonly fonts?: readonly Uint8Array[];
}

/**
 * @throws KmfitError FILE_NOT_FOUND when no font is given and none of the usual ones is installed
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const fonts = options.fonts ? [...options.fonts] : systemFonts();
  if (fonts.length === 0) {
    throw new KmfitError(
      'FILE_NOT_FOUND',
      'no font to draw the PNG text with; install one (apt-get install fonts-dejavu-core) or pass { fonts: [bytes of a .ttf] }, or use the SVG.',
    );
  }
  const { Resvg } = await loadResvg();
  const renderer = new Resvg(svg, { fitTo: { mode: 'zoom', value: options.scale ?? 2 }, font: { fontBuffers: fonts } });
  try {
    const image = renderer.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    renderer.free();
  }
}
