/**
 * The preconditioner's products with V (src/solver/eigenpro.ts) against the textbook triple loops,
 * for r not a multiple of the 4-column blocking and for a single column.
 */
import { describe, expect, it } from 'vitest';
import { combineVectors, projectOntoVectors } from '../../src/solver/eigenpro.js';
import { SeededRandom } from '../../src/solver/random.js';

function randomArray(random: SeededRandom, length: number): Float64Array {
  const uniform = random.uniformStream();
  return Float64Array.from({ length }, () => uniform() - 0.5);
}

describe('products with V (s×r, column-major)', () => {
  for (const [r, s, l] of [[7, 13, 3], [1, 5, 1], [8, 40, 10]]) {
    it(`r = ${r}, s = ${s}, l = ${l}: Vᵀ·B and V·U agree with the triple loops to 1e-14`, () => {
      const random = new SeededRandom(r * 100 + s);
      const V = randomArray(random, r * s);
      const B = randomArray(random, s * l); // s×l row-major
      const U = randomArray(random, r * l); // r×l row-major
      const columns = new Float64Array(l * s);
      for (let i = 0; i < s; i++) for (let c = 0; c < l; c++) columns[c * s + i] = B[i * l + c];

      const projected = projectOntoVectors(V, r, s, columns, l);
      const combined = combineVectors(V, r, s, U, l);
      for (let k = 0; k < r; k++) {
        for (let c = 0; c < l; c++) {
          let sum = 0;
          for (let i = 0; i < s; i++) sum += V[k * s + i] * B[i * l + c];
          expect(projected[k * l + c]).toBeCloseTo(sum, 14);
        }
      }
      for (let i = 0; i < s; i++) {
        for (let c = 0; c < l; c++) {
          let sum = 0;
          for (let k = 0; k < r; k++) sum += V[k * s + i] * U[k * l + c];
          expect(combined[c * s + i]).toBeCloseTo(sum, 14);
        }
      }
    });
  }
});
