/**
 * kmfit/notebook: rich output for Jupyter notebooks (tslab) — a model summary, the plan and
 * history as tables, training progress that updates in place, a confusion matrix, predicted
 * against true values, a bandwidth search's held-out figures per epoch, and digits as images.
 * Everything returns HTML or a Vega-Lite spec; show it with tslab's `display.html(...)`, and
 * charts with `display.svg(await renderSvg(spec))` or `display.png(await renderPng(spec))`
 * (re-exported from kmfit/plot).
 *
 * @example
 * import * as tslab from 'tslab';
 * import { fit } from 'kmfit';
 * import { trainingProgress, planTable } from 'kmfit/notebook';
 * const model = await fit(X, y, { ...trainingProgress(tslab.newDisplay()) });
 * tslab.display.html(planTable(model.plan));
 * tslab.display.html(model.toHTML());
 *
 * @module kmfit/notebook
 */
export { escapeHtml, historyTable, htmlTable, modelSummary, planTable, type SummarizedModel } from '../model/html.js';
export { trainingProgress, type HtmlDisplay, type ProgressCallbacks } from './progress.js';
export { confusionMatrix, misclassified, type ConfusionMatrix } from './confusion.js';
export { confusionMatrixSpec, predictedVsTrueSpec, searchSpec, type PredictionSeries } from './charts.js';
export { imagesHtml, type GreyImage } from './images.js';
export { encodeGreyPng, renderPng, renderSvg, svgToPng, writeFigure, type PngOptions, type VegaLiteSpec } from '../plot/index.js';
