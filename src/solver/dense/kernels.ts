/**
 * The loops that take nearly all of the eigensolver's time (and, below, the preconditioner's
 * products in training), behind small interfaces: the
 * Lanczos matrix-vector product, the Gram–Schmidt pass of full reorthogonalization, the rotations
 * that form the projected matrix's eigenvectors where inverse iteration declines (a large cluster;
 * src/solver/inverseIteration.ts), and the Ritz vectors. Two implementations: WebAssembly f64x2 SIMD (./wasm.ts, device code in
 * kernels/wasm/assembly/dense.ts) where the engine has it, plain JavaScript (./js.ts) elsewhere;
 * ./choose.ts picks one.
 * Both compute every sum in float64.
 *
 * The Lanczos basis is the one large array these loops share with the eigensolver's own code, so
 * it is allocated here (in the WebAssembly memory, for the wasm kernels); only one basis is in use
 * at a time.
 */
export interface DenseKernels {
  /** 'wasm' or 'js', for benchmarks and tests. */
  readonly engine: 'wasm' | 'js';
  /** y = scale · A·x, for the matrix given when the kernels were made. */
  multiply(x: Float64Array, y: Float64Array, scale: number): void;
  /** A zeroed basis of `rows` rows of n entries; any earlier basis may no longer be used. */
  newBasis(rows: number): Float64Array;
  /** The basis made by newBasis (or an earlier grow), with room for `rows` rows; content kept. */
  growBasis(basis: Float64Array, rows: number): Float64Array;
  /**
   * One classical Gram–Schmidt pass against the first `rows` rows of `basis`:
   * coefficients[i] = <b_i, w>, then w -= Σ coefficients[i]·b_i.
   */
  projectOut(basis: Float64Array, rows: number, w: Float64Array, coefficients: Float64Array): void;
  /**
   * X = Yᵀ·B for the k basis rows after the first `skip`: row j of the result (count × n) is
   * Σ_i y[j·k + i]·b_{skip+i}, with y column-major (k coefficients per output).
   */
  combineRows(basis: Float64Array, skip: number, k: number, y: Float64Array, count: number): Float64Array;
  /**
   * Applies recorded QL sweeps, last first, to the row-major matrix z (rows of `count` entries):
   * see RotationSweeps.
   */
  rotateRows(z: Float64Array, count: number, sweeps: RotationSweeps): void;
  /** Threads that share each call now: 1, or more once helper threads (./team.ts) are ready. */
  threads(): number;
  /** Settles once any helper threads that share the calls have started (./team.ts). */
  readonly ready: Promise<void>;
  /** Stops the helper threads, if any; the kernels stay usable on the calling thread. */
  release(): void;
}

/**
 * Givens rotations recorded by a QL eigensolver: sweep t holds the rotations i = highs[t]−1 down to
 * lows[t], stored from starts[t] on (rotation i at starts[t] + highs[t] − 1 − i); rotation i turns
 * rows (z_i, z_{i+1}) into (c·z_i + s·z_{i+1}, c·z_{i+1} − s·z_i). Applying the sweeps in reverse
 * order, each in ascending i, to unit vectors gives the columns of the eigenvector matrix.
 */
export interface RotationSweeps {
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  /** Entries of cos/sin in use. */
  readonly used: number;
  readonly lows: readonly number[];
  readonly highs: readonly number[];
  readonly starts: readonly number[];
}

/**
 * The EigenPro preconditioner's correction with its eigenvectors V (s×r, column-major: vector k
 * at k·s), which stay fixed from set-up to the end of training: V·diag(w)·Vᵀ·T in float64, two
 * products of 2·r·s·l multiply-adds in all, each step (src/solver/eigenpro.ts,
 * preconditionerCorrection). The wasm implementation keeps V in its memory for as long as it is
 * in use, so that a step copies only T in and its result out.
 */
export interface CorrectionKernels {
  /** 'wasm' or 'js', for benchmarks and tests. */
  readonly engine: 'wasm' | 'js';
  /**
   * V·diag(weights)·Vᵀ·T, s×l row-major, for T (s×l) the row-major t, or, with `rows`, the s rows
   * `rows` of t (a larger l-column matrix); `weights` has r entries.
   */
  correction(t: Float32Array, l: number, weights: Float64Array, rows?: Int32Array): Float64Array;
}
