/** `kmfit info MODEL`: kernel, sizes, plan, training history and file format version of a saved model. */
import { MODEL_FORMAT_VERSION } from '../io/modelFile.js';
import { loadModel } from '../model/load.js';
import { renderEpoch, renderPlan } from './render.js';

export async function info(args: { model: string; json?: boolean }): Promise<void> {
  const model = await loadModel(args.model);
  // loadModel refuses newer versions and reads older ones into the current layout.
  const formatVersion = MODEL_FORMAT_VERSION;
  if (args.json) {
    const { kernel, task, classes, plan, history, keptEpoch } = model;
    process.stdout.write(JSON.stringify({ formatVersion, kernel, task, classes, features: model.features, outputs: model.outputs, plan, history, keptEpoch }, null, 2) + '\n');
    return;
  }
  const classes = model.classes ? `, classes ${model.classes.join(', ')}` : '';
  process.stdout.write(
    `${args.model}: kmfit model (format version ${formatVersion}), ${model.task}, ` +
      `${model.parts.centers.rows} centers × ${model.features} features, ${model.outputs} outputs${classes}\nplan\n${renderPlan(model.plan)}\nhistory\n`,
  );
  for (const h of model.history) process.stdout.write(renderEpoch({ ...h, epochs: model.plan.epochs, ...(model.plan.stopping ? { stopping: model.plan.stopping } : {}), best: h.epoch === model.keptEpoch }, 'validation') + '\n');
}
