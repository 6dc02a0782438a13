import { fit } from '../src/index.js';
import { exactInterpolant, randomPoints, relativeError } from '../test/helpers/data.js';
const n = 300;
const X = randomPoints(n, 4, 11);
const Y = X.map((x) => [Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3] - 0.5)]);
const k = (a: number[], b: number[]) => Math.exp(-Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0)) / 1);
const p = Number(process.argv[2]);
const epochs = Number(process.argv[3] ?? 60);
const bs = process.env.BS ? Number(process.env.BS) : undefined;
const Z = X.slice(0, p);
// LS: (K_ZX K_XZ) A = K_ZX Y via float64 normal equations, by interpolant helper on Gram? do it by hand
const KXZ = X.map((x) => Z.map((z) => k(x, z)));
const A = Z.map((_, i) => Z.map((_, j) => KXZ.reduce((s, r) => s + r[i] * r[j], 0)));
const B = Z.map((_, i) => [0, 1].map((c) => KXZ.reduce((s, r, t) => s + r[i] * Y[t][c], 0)));
// Gaussian elimination
const M = A.map((r, i) => [...r, ...B[i]]);
for (let c = 0; c < p; c++) { let piv = c; for (let r = c + 1; r < p; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r; [M[c], M[piv]] = [M[piv], M[c]]; for (let r = c + 1; r < p; r++) { const f = M[r][c] / M[c][c]; for (let t = c; t < p + 2; t++) M[r][t] -= f * M[c][t]; } }
const W = Array.from({ length: p }, () => [0, 0]);
for (let r = p - 1; r >= 0; r--) for (let c = 0; c < 2; c++) { let s = M[r][p + c]; for (let t = r + 1; t < p; t++) s -= M[r][t] * W[t][c]; W[r][c] = s / M[r][r]; }
const Xnew = randomPoints(60, 4, 12);
const exactNew = Xnew.map((x) => [0, 1].map((c) => Z.reduce((s, z, j) => s + k(x, z) * W[j][c], 0))).flat();
const t0 = performance.now();
const model = await fit(X, Y, { kernel: 'laplacian', bandwidth: 1, epochs, task: 'regression', backend: 'js', centers: p >= n ? p : Z, batchSize: bs, projectionInterval: process.env.PI ? Number(process.env.PI) : undefined, projectionPasses: process.env.PP ? Number(process.env.PP) : undefined });
const pred = (await model.predictScores(Xnew)).data;
console.log(`p=${p} epochs=${epochs} rel err vs LS ${relativeError(pred, exactNew).toExponential(2)} m=${model.plan.batchSize} interval=${model.plan.centers?.projection.interval} it=${model.plan.centers?.projection.iterations} q=${model.plan.q} ${((performance.now()-t0)/1000).toFixed(1)} s`);
if (p >= n) { const ex = exactInterpolant((r2: number) => Math.exp(-Math.sqrt(r2)), X, Y, Xnew).flat(); console.log('vs interpolant', relativeError(pred, ex).toExponential(2)); }
