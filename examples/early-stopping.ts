/**
 * Stop training when a validation set stops improving, and keep the best epoch's model.
 * kmfit has no ridge term: its iteration converges to the kernel interpolant, and the number of
 * epochs is what regularizes. Validation data held out from training picks that number.
 * Run: npx tsx examples/early-stopping.ts [trainSize]
 */
import { fit, loadMnist } from 'kmfit';

const trainSize = Number(process.argv[2] ?? 5000);
const validationSize = Math.round(trainSize / 5);
const { train, test } = await loadMnist({ trainSize: trainSize + validationSize });
// The last rows of the training split are the validation set; the test set stays unseen.
const d = train.X.cols;
const fitRows = { data: train.X.data.subarray(0, trainSize * d), rows: trainSize, cols: d };
const validation = { X: { data: train.X.data.subarray(trainSize * d), rows: validationSize, cols: d }, y: train.y.subarray(trainSize) };

const model = await fit(fitRows, train.y.subarray(0, trainSize), {
  kernel: 'gaussian',
  bandwidth: 5,
  epochs: 12,
  validation,
  earlyStopping: 2, // stop after 2 epochs without a lower validation error
  onEpoch: (e) => console.log(`epoch ${e.epoch}: validation error ${(100 * (e.validationError ?? 0)).toFixed(2)} %${e.best ? ' (best so far)' : ''}`),
});

console.log(`stopped by ${model.stoppedBy} after ${model.history.length} epochs; kept epoch ${model.keptEpoch}`);
console.log(`test error ${(100 * (1 - (await model.score(test.X, test.y)))).toFixed(2)} %`);
console.log(JSON.stringify({ stoppedBy: model.stoppedBy, keptEpoch: model.keptEpoch, validationErrors: model.history.map((h) => h.validationError) }));
await model.dispose();
