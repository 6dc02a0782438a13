/**
 * Classify MNIST digits with a kernel machine, then save and reload the model.
 * Run: npx tsx examples/mnist.ts [trainSize]   (after npm ci, which builds kmfit)
 */
import { fit, loadMnist, loadModel } from 'kmfit';

const trainSize = Number(process.argv[2] ?? 5000);
const { train, test } = await loadMnist({ trainSize });

const model = await fit({ data: train.X.data, shape: [train.X.rows, train.X.cols] }, train.y, {
  kernel: 'gaussian',
  bandwidth: 5, // the published choice for MNIST pixels in [0, 1]
  epochs: 3,
  onPlan: (plan) => console.log(`batch size ${plan.batchSize}, step size ${plan.stepSize}, q = ${plan.q}`),
  onEpoch: (e) => console.log(`epoch ${e.epoch}: train error ${(100 * (e.trainError ?? 0)).toFixed(2)} %`),
});

const Xtest = { data: test.X.data, shape: [test.X.rows, test.X.cols] as [number, number] };
const accuracy = await model.score(Xtest, test.y);
console.log(`test error ${(100 * (1 - accuracy)).toFixed(2)} % on ${test.X.rows} images`);

await model.save('mnist-example.kmfit');
const again = await loadModel('mnist-example.kmfit');
const first = await again.predict({ data: test.X.data.subarray(0, 784 * 5), shape: [5, 784] });
console.log(`reloaded model predicts ${first.join(', ')} for labels ${Array.from(test.y.subarray(0, 5)).join(', ')}`);
await model.dispose();
await again.dispose();
