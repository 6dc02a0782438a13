/**
 * A kernel given as a formula of the distance r. `sigma` is the bandwidth; other parameters come
 * through `params`. The formula exp(-r / sigma) is the laplacian kernel, and trains the same model
 * as the built-in one; exp(-(r / sigma)^gamma) with gamma = 1.5 lies between laplacian and gaussian.
 * Run: npx tsx examples/custom-kernel.ts [trainSize]
 */
import { fit, loadMnist } from 'kmfit';

const trainSize = Number(process.argv[2] ?? 2000);
const { train, test } = await loadMnist({ trainSize, testSize: 1000 });
const options = { bandwidth: 10, epochs: 2, backend: 'js' } as const; // one backend for both, for an exact comparison

const builtin = await fit(train.X, train.y, { ...options, kernel: 'laplacian' });
const formula = await fit(train.X, train.y, { ...options, kernel: 'exp(-r / sigma)' });
const a = (await builtin.predictScores(test.X)).data;
const b = (await formula.predictScores(test.X)).data;
let largest = 0;
for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
console.log(`formula exp(-r / sigma) against the built-in laplacian: largest score difference ${largest.toExponential(2)}`);

const custom = await fit(train.X, train.y, { epochs: 2, kernel: { formula: 'exp(-(r / sigma)^gamma)', params: { gamma: 1.5 }, bandwidth: 7 } });
console.log(`kernel ${custom.plan.kernel}: test error ${(100 * (1 - (await custom.score(test.X, test.y)))).toFixed(2)} %`);
console.log(`built-in laplacian: test error ${(100 * (1 - (await builtin.score(test.X, test.y)))).toFixed(2)} %`);
for (const model of [builtin, formula, custom]) await model.dispose();
