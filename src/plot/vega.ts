/**
 * Vega-Lite charts rendered to SVG text in Node, without a browser or a canvas: vega-lite compiles
 * the spec to Vega, and vega's headless View (renderer 'none') draws its scene graph as SVG, with
 * text widths estimated; resvg (raster.ts) turns that into PNG. The packages are ES modules loaded on first use, so importing kmfit, or
 * kmfit/notebook for HTML alone, does not pay for them (≈0.2 s), and optional peers (26 MB, which
 * would more than double kmfit's install): the first chart without them throws MISSING_PACKAGE.
 */
import { KmfitError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { loadResvg, missingChartPackages, svgToPng, type PngOptions } from './raster.js';

/**
 * A Vega-Lite specification (https://vega.github.io/vega-lite/docs/spec.html), as a plain object.
 * Typed loosely on purpose: vega-lite's own TopLevelSpec type costs seconds in every type check,
 * and vega-lite reports a bad spec when it compiles it.
 */
export type VegaLiteSpec = Record<string, unknown>;

interface VegaModules {
  compile(spec: VegaLiteSpec): { spec: unknown };
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(scale?: number): Promise<string>; finalize(): void };
}

let modules: Promise<VegaModules> | undefined;

function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(
    ([vega, vegaLite]) => ({
      compile: (spec) => vegaLite.compile(spec as never),
      parse: (spec) => vega.parse(spec as never),
      View: vega.View as unknown as VegaModules['View'],
    }),
    (error: unknown) => {
      modules = undefined; // a later call may try again (e.g. after an install)
      throw missingChartPackages(error);
    },
  );
  return modules;
}

/**
 * Loads the chart packages now, for work whose result ends in a figure: their absence is then
 * reported before the work, and before any other output is written.
 * @throws KmfitError MISSING_PACKAGE naming the packages and the command that installs them
 */
export async function requireChartPackages(): Promise<void> {
  await Promise.all([loadVega(), loadResvg()]);
}

/** The chart as a standalone SVG document (white background unless the spec sets one). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const vega = await loadVega();
  const view = new vega.View(vega.parse(vega.compile({ background: 'white', ...spec }).spec), { renderer: 'none' });
  try {
    return roundGeometry(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Vega writes coordinates with 16 digits; a hundredth of a pixel is plenty and halves a scatter
 * plot's size. Only geometry attributes are touched: text and labels keep their digits.
 */
function roundGeometry(svg: string): string {
  return svg.replace(/\b(d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g, (_, name: string, value: string) =>
    `${name}="${value.replace(/(\d+\.\d\d)\d+/g, '$1')}"`,
  );
}

/** The chart as PNG bytes (resvg, WebAssembly); see svgToPng for the options. */
export async function renderPng(spec: VegaLiteSpec, options: PngOptions = {}): Promise<Uint8Array> {
  return svgToPng(await renderSvg(spec), options);
}

/**
 * Renders the chart to `file`, atomically: SVG for a name ending in .svg, PNG for .png.
 * @throws KmfitError INVALID_OPTION for another extension; IO_ERROR when it cannot be written
 */
export async function writeFigure(spec: VegaLiteSpec, file: string, options: PngOptions = {}): Promise<void> {
  const kind = /\.(svg|png)$/i.exec(file)?.[1]?.toLowerCase();
  if (kind === undefined) throw new KmfitError('INVALID_OPTION', `${file}: a figure is written as .svg or .png; name the file so.`);
  await writeFileAtomic(file, kind === 'png' ? await renderPng(spec, options) : new TextEncoder().encode(await renderSvg(spec)));
}
