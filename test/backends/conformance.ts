/**
 * The conformance suite every backend runs: a naive float64 evaluation of the same kernel sums, on
 * awkward shapes and for every kernel. Each backend's test file calls describeConformance once; a
 * backend that cannot start is a failure there, not a skip.
 */
import { describe, expect, it } from 'vitest';
import { chooseKernel, makeKernel } from '../../kernels/index.js';
import type { Backend } from '../../src/backends/backend.js';
import { JsBackend } from '../../src/backends/js/index.js';
import { loadMnist } from '../../datasets/mnist.js';
import { randomMatrix } from '../helpers/data.js';
import { conformanceKernels, disagreements, naiveKernel, SUITE_BANDWIDTH } from './agreement.js';

/** Tolerances: relative to Σ|terms| for the fused block, to |k| for materialized blocks. */
export function describeConformance(backendName: string, create: () => Backend | Promise<Backend>, tolerance = 1e-4): void {
  describe(`backend ${backendName}`, () => {
    for (const kernel of conformanceKernels()) {
      it(`fused block and kernel block agree with float64 for ${kernel.describe()}`, async () => {
        const backend = await create();
        try {
          expect(await disagreements(backend, kernel, tolerance)).toEqual([]);
        } finally {
          await backend.dispose();
        }
      });
    }

    it('agrees with the js backend on real data (MNIST rows, σ = 5 and 10)', async () => {
      const backend = await create();
      const reference = new JsBackend();
      const data = await loadMnist({ trainSize: 700, testSize: 37 });
      const centers = data.train.X;
      const X = data.test.X;
      const l = 10;
      const alpha = randomMatrix(centers.rows, l, 3).data.map((a) => a - 0.5);
      for (const [name, sigma] of [['gaussian', 5], ['laplacian', 10]] as const) {
        const kernel = makeKernel(chooseKernel(name), sigma);
        const outputs: Float32Array[] = [];
        for (const b of [backend, reference]) {
          const set = await b.createCenterSet(kernel, centers, l);
          await set.setWeights(alpha);
          const out = new Float32Array(X.rows * l);
          await set.predict(X, out);
          outputs.push(out);
          set.dispose();
        }
        let diff = 0;
        let norm = 0;
        for (let i = 0; i < outputs[0].length; i++) {
          diff += (outputs[0][i] - outputs[1][i]) ** 2;
          norm += outputs[1][i] ** 2;
        }
        expect(Math.sqrt(diff / norm)).toBeLessThan(tolerance);
      }
      await backend.dispose();
    });

    it('calls that overlap run one after another', async () => {
      const backend = await create();
      try {
        const kernel = makeKernel(chooseKernel('gaussian'), SUITE_BANDWIDTH);
        const Z = randomMatrix(40, 3, 21);
        const set = await backend.createCenterSet(kernel, Z, 1);
        await set.setWeights(new Float32Array(40).fill(1));
        const small = randomMatrix(3, 3, 22);
        const large = randomMatrix(70, 3, 23);
        const outs = [new Float32Array(3), new Float32Array(70), new Float32Array(3)];
        // Not awaited in between: two output shapes on the same kernels, and a weight update that
        // must land after the first predict and before the last.
        await Promise.all([
          set.predict(small, outs[0]),
          set.predict(large, outs[1]),
          set.addToWeights([0, 0], Float64Array.from([0.5, 0.5])),
          set.predict(small, outs[2]),
          backend.kernelBlock(kernel, small, Z),
        ]);
        for (let i = 0; i < 3; i++) expect(outs[2][i] - outs[0][i]).toBeCloseTo(naiveKernel(kernel.value, small, Z, i, 0), 5);
        const reference = await new JsBackend().createCenterSet(kernel, Z, 1);
        await reference.setWeights(new Float32Array(40).fill(1));
        const expected = new Float32Array(70);
        await reference.predict(large, expected);
        for (let i = 0; i < 70; i++) expect(outs[1][i]).toBeCloseTo(expected[i], 4);
        expect((await set.readWeights())[0]).toBe(2);
        set.dispose();
      } finally {
        await backend.dispose();
      }
    });

    it('weights: setWeights, addToWeights with repeated rows, readWeights', async () => {
      const backend = await create();
      const kernel = makeKernel(chooseKernel('gaussian'), 1);
      const centers = await backend.createCenterSet(kernel, randomMatrix(6, 2, 1), 2);
      await centers.setWeights(Float32Array.from({ length: 12 }, (_, i) => i));
      await centers.addToWeights([1, 4, 1], Float64Array.from([10, 20, 30, 40, 50, 60]));
      expect(Array.from(await centers.readWeights())).toEqual([0, 1, 62, 83, 4, 5, 6, 7, 38, 49, 10, 11]);
      await backend.dispose();
    });
  });
}
