/**
 * Save a trained model to a file and load it back, in another program or from the command line:
 * `kmfit info model.kmfit` describes it and `kmfit predict model.kmfit data.csv` uses it.
 * Run: npx tsx examples/save-load.ts [file]
 */
import { fit, loadDiamonds, loadModel } from 'kmfit';

const file = process.argv[2] ?? 'diamonds.kmfit';
const { train, test } = await loadDiamonds({ trainSize: 1000, testSize: 5 });
const model = await fit(train.X, train.y, { task: 'regression', scale: 'standard', epochs: 3 });
await model.save(file); // one .npz file: centers, weights, kernel, scaling, plan and history
console.log(`saved to ${file}`);

const again = await loadModel(file);
const before = await model.predictScores(test.X); // raw outputs, so any difference would show
const after = await again.predictScores(test.X);
console.log(`predictions before saving: ${Array.from(before.data, (v) => v.toFixed(2)).join(' ')}`);
console.log(`predictions after loading: ${Array.from(after.data, (v) => v.toFixed(2)).join(' ')}`);
console.log(`loaded: ${again.plan.n} centers, kernel ${again.plan.kernel}, ${again.history.length} epochs`);
await model.dispose();
await again.dispose();
