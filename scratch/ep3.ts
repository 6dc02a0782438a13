import { fit } from '../src/index.js';
// least squares over centers in float64: solve (K_ZX K_XZ) a = K_ZX y
function kern(a: number[], b: number[], s: number) { let r = 0; for (let i = 0; i < a.length; i++) r += (a[i] - b[i]) ** 2; return Math.exp(-r / (2 * s * s)); }
function solve(A: number[][], b: number[]): number[] { const n = b.length; const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) { let p = c; for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r; [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) { const f = M[r][c] / M[c][c]; for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k]; } }
  const x = new Array(n).fill(0); for (let r = n - 1; r >= 0; r--) { let s = M[r][n]; for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k]; x[r] = s / M[r][r]; } return x; }
let seed = 1; const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const n = 400, d = 3, sigma = Number(process.argv[3] ?? 0.5);
const X = Array.from({ length: n }, () => Array.from({ length: d }, () => rnd()));
const y = X.map((x) => Math.sin(4 * x[0]) + x[1] * x[2] + 0.1 * (rnd() - 0.5));
const p = Number(process.argv[2] ?? 100);
const Z = X.slice(0, p);
const KXZ = X.map((x) => Z.map((z) => kern(x, z, sigma)));
const A = Z.map((_, i) => Z.map((_, j) => { let s = 0; for (let k = 0; k < n; k++) s += KXZ[k][i] * KXZ[k][j]; return s; }));
const b = Z.map((_, i) => { let s = 0; for (let k = 0; k < n; k++) s += KXZ[k][i] * y[k]; return s; });
const a = solve(A, b);
const exact = X.map((_, k) => KXZ[k].reduce((s, v, j) => s + v * a[j], 0));
const lsMse = exact.reduce((s, f, k) => s + (f - y[k]) ** 2, 0) / n;
for (const epochs of [5, 20, 80]) {
  const model = await fit(X, y, { kernel: 'gaussian', bandwidth: sigma, centers: Z, epochs, backend: 'js', task: 'regression', batchSize: process.env.BS ? Number(process.env.BS) : undefined, projectionInterval: process.argv[4] ? Number(process.argv[4]) : undefined });
  const f = await model.predict(X) as Float32Array | number[];
  let diff = 0, mse = 0, norm = 0; for (let k = 0; k < n; k++) { diff += (f[k] - exact[k]) ** 2; norm += exact[k] ** 2; mse += (f[k] - y[k]) ** 2; }
  console.log(`p=${p} epochs=${epochs} rel diff to LS fit ${Math.sqrt(diff / norm).toExponential(2)}  train mse ${(mse / n).toExponential(3)} LS mse ${lsMse.toExponential(3)} m=${model.plan.batchSize} interval=${model.plan.centers?.projection.interval} inner m=${model.plan.centers?.projection.batchSize} it=${model.plan.centers?.projection.iterations} q=${model.plan.q}`);
  model.dispose?.();
}
