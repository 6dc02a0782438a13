/**
 * kmfit/plot: figures for notebooks, docs and studies. Vega-Lite specs rendered headless in Node to
 * SVG text, PNG bytes, or .svg/.png files; and grey images as PNG bytes.
 *
 * @example
 * import { renderSvg } from 'kmfit/plot';
 * const svg = await renderSvg({
 *   data: { values: [{ m: 1, s: 2.1 }, { m: 10, s: 0.4 }] },
 *   mark: 'line',
 *   encoding: { x: { field: 'm', type: 'quantitative' }, y: { field: 's', type: 'quantitative' } },
 * });
 *
 * @module kmfit/plot
 */
export { renderPng, renderSvg, writeFigure, type VegaLiteSpec } from './vega.js';
export { svgToPng, type PngOptions } from './raster.js';
export { encodeGreyPng } from './png.js';
