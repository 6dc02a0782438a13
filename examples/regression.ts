/**
 * Predict diamond prices (a regression) and compare with the mean-price baseline.
 * Run: npx tsx examples/regression.ts [trainSize]   (after npm ci, which builds kmfit)
 */
import { fit, loadDiamonds } from 'kmfit';

const trainSize = Number(process.argv[2] ?? 4000);
const { train, test, featureNames } = await loadDiamonds({ trainSize });
console.log(`${train.X.rows} diamonds to train on; features ${featureNames.join(', ')}; target price in dollars`);

const model = await fit(train.X, train.y, {
  task: 'regression', // whole-dollar prices would otherwise be read as class labels
  scale: 'standard', // carats, millimetres and grades: put them on one scale (stored in the model)
  epochs: 5,
});

const r2 = await model.score(test.X, test.y);
const rmse = Math.sqrt(await model.meanSquaredError(test.X, test.y));
console.log(`test R² ${r2.toFixed(4)}, RMSE $${rmse.toFixed(0)} on ${test.X.rows} diamonds`);
const predicted = await model.predict(test.X);
for (let i = 0; i < 3; i++) console.log(`  diamond ${i}: true $${test.y[i]}, predicted $${Number(predicted[i]).toFixed(0)}`);
await model.dispose();
