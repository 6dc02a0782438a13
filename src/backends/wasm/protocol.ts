/**
 * The wasm backend's job protocol between the main thread and its workers, over one small
 * SharedArrayBuffer (the "control block") beside the shared WebAssembly memory:
 *
 * - Int32 words: GENERATION (bumped and notified to start a job), PENDING (workers still busy;
 *   the last one to finish notifies), ERROR (set by the first worker that fails) and the length of
 *   its message, which follows as UTF-16 code units.
 * - A custom kernel's transform as JSON { js, constants } (UTF-16 at CUSTOM_TEXT_OFFSET), with the
 *   id it is for and its length. Workers sleep in Atomics.wait between jobs, so they cannot take
 *   messages; they read it here the first time a job names that id.
 * - Per worker, PARAM_COUNT float64 parameters (pointers, sizes, kernel constants) at PARAMS_OFFSET.
 *
 * Pointers are byte offsets into the WebAssembly memory; all fit exactly in a float64.
 */

export const GENERATION = 0;
export const PENDING = 1;
export const ERROR = 2;
export const ERROR_LENGTH = 3;
/** UTF-16 message of a failed job, at this byte offset. */
export const ERROR_TEXT_OFFSET = 64;
export const ERROR_TEXT_MAX = 2000;
export const CUSTOM_TEXT_ID = 4;
export const CUSTOM_TEXT_LENGTH = 5;
/** UTF-16 JSON of the current custom transform, at this byte offset. */
export const CUSTOM_TEXT_OFFSET = 4096;
export const CUSTOM_TEXT_MAX = 2048;
export const PARAMS_OFFSET = 8192;
export const PARAM_COUNT = 32;

export function controlBytes(workers: number): number {
  return PARAMS_OFFSET + workers * PARAM_COUNT * 8;
}

/** Operations (param OP). */
export const OP_IDLE = 0;
export const OP_FUSED = 1;
export const OP_BLOCK = 2;
export const OP_QUIT = 3;
export const OP_CACHED_PRODUCT = 4;
export const OP_FUSED_GROUP = 5;
export const OP_TRANSPOSED_PRODUCT = 6;

/**
 * OP_FUSED_GROUP's table of members, MEMBER_FIELDS float64 per member at P.MEMBERS: the member's
 * transform (kind, c0, c1), its weights α and its transposed output (l × ldo) for this worker.
 */
export const MEMBER_FIELDS = 5;
export const M = { KIND: 0, C0: 1, C1: 2, ALPHA: 3, OUT_T: 4 } as const;

/** The device code's ids of cached-value precisions (CACHE_* in kernels/wasm/assembly/blocks.ts). */
export const PRECISION_IDS = { float32: 0, float16: 1, bfloat16: 2 } as const;
/** Each worker's buffer of widened rows: 4 rows × CACHE_COL_BLOCK (1024, in blocks.ts) floats. */
export const CACHE_WIDENED_BYTES = 4 * 1024 * 4;

/** Parameters common to every job. */
export const P = {
  OP: 0,
  KIND: 1, // transform id (transforms.ts); 0: custom JS expression
  C0: 2,
  C1: 3,
  CUSTOM_ID: 4,
  D: 5,
  DIRECT: 6, // 1: distances as Σ(x − z)²
  // OP_FUSED: outT (l × ldo, transposed) = k(X, Z[j0:j1]) · α[j0:j1] over center panels [q0, q1)
  XP: 7, // row panels of the batch
  XN: 8,
  ROW_PANELS: 9,
  ZP: 10, // center panels
  ZN: 11,
  Q0: 12,
  Q1: 13,
  J0: 14,
  J1: 15,
  ALPHA: 16,
  L: 17,
  OUT_T: 18,
  LDO: 19,
  TILE: 20,
  TILE_ROWS: 21, // multiple of 8
  TILE_COLS: 22, // multiple of 4
  // OP_FUSED_GROUP: OP_FUSED's parameters for each member of a center group, one distance tile for all
  MEMBERS: 23, // the member table (MEMBER_FIELDS float64 each) in wasm memory
  MEMBER_COUNT: 24,
  SPARE_TILE: 25, // a second tile: each member's transform runs on a copy of the distances
  // OP_BLOCK: out[i·ldo + j] = k(X_i, Y_j) for the center panels [q0, q1) of X (rows 4q0 … 4q1)
  YP: 7, // Y as row panels (the vector side)
  YN: 8,
  Y_PANELS: 9,
  XP4: 10, // X as center panels (the broadcast side)
  XN4: 11,
  // Q0: 12, Q1: 13 as above
  OUT: 14,
  OUT_LD: 15,
  Y_BLOCK: 16, // row panels of Y per pass (kept in L2)
  Q_BLOCK: 17, // center panels of X per pass
  // OP_CACHED_PRODUCT: product[i·l + c] = Σ_j K[i·cols + j]·A[j·l + c] for rows [K_ROW0, K_ROW1) of K
  K_VALUES: 7, // the cached rows (a chunk of K) in wasm memory
  K_PRECISION: 8, // PRECISION_IDS
  K_ROW0: 9,
  K_ROW1: 10,
  K_COLS: 11,
  A_T: 12, // A transposed: l × A_LD floats, zero past K_COLS
  A_LD: 13, // a multiple of 8
  A_COLS: 14, // l
  PRODUCT: 15, // rows × l for the chunk
  WIDENED: 16, // this worker's CACHE_WIDENED_BYTES
  SUMS: 17, // this worker's 4 × l accumulators of 4 lanes
  K_ROW_TABLE: 18, // 0: rows K_COLS values apart from K_VALUES; else a u32 table of each row's address
  // OP_TRANSPOSED_PRODUCT: outT[c·ld + i] += Σ_j K[j·ld + i]·A[j·l + c] for the columns i of the
  // panels [T_PANEL0, T_PANEL1) (8 columns each) of a chunk of T_ROWS float32 rows of K
  T_VALUES: 7, // the rows (a chunk of K), T_LD floats apart
  T_LD: 8, // a multiple of 8
  T_PANEL0: 9,
  T_PANEL1: 10,
  T_ROWS: 11,
  T_A: 12, // the chunk's rows of A, row-major (T_ROWS × l)
  T_L: 13,
  T_OUT: 14, // l × T_LD, accumulated over the chunks
  T_ROW_TABLE: 15, // 0: rows T_LD floats apart from T_VALUES; else a u32 table of each row's address (T_ROWS + 1 entries)
} as const;

/**
 * The worker's code: a string, so that it works unchanged from source, bundled as ESM or CJS, or in
 * a browser, with no file path to resolve. A platform prelude hands `run` the start data
 * { module, memory, control, index } and a callback that reports the worker ready.
 */
export function workerSource(platform: 'node' | 'web'): string {
  const prelude =
    platform === 'node'
      ? `'use strict';
const { workerData, parentPort } = require('node:worker_threads');
run(workerData, () => parentPort.postMessage('ready'));
`
      : `'use strict';
self.onmessage = (event) => { self.onmessage = null; run(event.data, () => self.postMessage('ready')); };
`;
  return prelude + WORKER_BODY;
}

const WORKER_BODY = `
function run({ module, memory, control, index }, ready) {
const P = ${JSON.stringify(P)};
const w = new WebAssembly.Instance(module, { env: { memory } }).exports;
const i32 = new Int32Array(control);
const text = new Uint16Array(control, ${ERROR_TEXT_OFFSET}, ${ERROR_TEXT_MAX});
const p = new Float64Array(control, ${PARAMS_OFFSET} + index * ${PARAM_COUNT * 8}, ${PARAM_COUNT});
const customTransforms = new Map();

// A custom kernel's transform, compiled from the JSON the main thread left in the control block.
// Only custom formula kernels come here (built-ins run the SIMD transforms), and only after the
// main thread compiled the same expression: where code generation is forbidden, that already failed.
function compileTransform(js, constants) {
  const names = Object.keys(constants);
  const prelude = 'const r2 = raw > 0 ? raw : 0;' + (/\\br\\b/.test(js) ? ' const r = Math.sqrt(r2);' : '');
  const source = '"use strict"; return function (buf, start, end) {' +
    ' for (let i = start; i < end; i++) { const raw = buf[i]; ' + prelude + ' buf[i] = ' + js + '; } };';
  return new Function(...names, source)(...names.map((name) => constants[name]));
}

function customTransform(id) {
  let transform = customTransforms.get(id);
  if (transform === undefined) {
    if (Atomics.load(i32, ${CUSTOM_TEXT_ID}) !== id) throw new Error('custom kernel ' + id + ' is not in the control block');
    const length = Atomics.load(i32, ${CUSTOM_TEXT_LENGTH});
    const json = String.fromCharCode(...new Uint16Array(control, ${CUSTOM_TEXT_OFFSET}, length));
    const { js, constants } = JSON.parse(json);
    transform = compileTransform(js, constants);
    customTransforms.set(id, transform);
  }
  return transform;
}

function applyTransform(ptr, count) {
  const kind = p[P.KIND];
  if (kind !== 0) w.transform(ptr, count, kind, p[P.C0], p[P.C1]);
  else customTransform(p[P.CUSTOM_ID])(new Float32Array(memory.buffer, ptr, count), 0, count);
}

function fused() {
  const d = p[P.D], direct = p[P.DIRECT];
  const xp = p[P.XP], xn = p[P.XN], rowPanels = p[P.ROW_PANELS], zp = p[P.ZP], zn = p[P.ZN];
  const q0 = p[P.Q0], q1 = p[P.Q1], j0 = p[P.J0], j1 = p[P.J1], alpha = p[P.ALPHA], l = p[P.L];
  const outT = p[P.OUT_T], ldo = p[P.LDO], tile = p[P.TILE];
  const tilePanels = p[P.TILE_ROWS] / 8, tileCenterPanels = p[P.TILE_COLS] / 4;
  new Float32Array(memory.buffer, outT, l * ldo).fill(0);
  for (let q = q0; q < q1; q += tileCenterPanels) {
    const qEnd = Math.min(q + tileCenterPanels, q1);
    const first = q * 4;
    const from = Math.max(first, j0), to = Math.min(qEnd * 4, j1);
    if (from >= to) continue;
    for (let r = 0; r < rowPanels; r += tilePanels) {
      const panels = Math.min(tilePanels, rowPanels - r);
      const ldt = panels * 8;
      w.squaredDistances(xp + r * 32 * d, xn + r * 32, panels, zp + q * 16 * d, zn + q * 16, qEnd - q, d, tile, ldt, direct);
      const start = tile + (from - first) * ldt * 4;
      applyTransform(start, (to - from) * ldt);
      w.timesWeights(start, ldt, panels, to - from, alpha + from * l * 4, l, outT + r * 32, ldo);
    }
  }
}

// Each tile's squared distances are computed once; every member transforms a copy of them and
// adds its product with its own α into its own output.
function fusedGroup() {
  const d = p[P.D], direct = p[P.DIRECT];
  const xp = p[P.XP], xn = p[P.XN], rowPanels = p[P.ROW_PANELS], zp = p[P.ZP], zn = p[P.ZN];
  const q0 = p[P.Q0], q1 = p[P.Q1], j0 = p[P.J0], j1 = p[P.J1], l = p[P.L];
  const ldo = p[P.LDO], tile = p[P.TILE], spare = p[P.SPARE_TILE];
  const tilePanels = p[P.TILE_ROWS] / 8, tileCenterPanels = p[P.TILE_COLS] / 4;
  const count = p[P.MEMBER_COUNT];
  const members = new Float64Array(memory.buffer, p[P.MEMBERS], count * ${MEMBER_FIELDS});
  for (let k = 0; k < count; k++) new Float32Array(memory.buffer, members[k * ${MEMBER_FIELDS} + ${M.OUT_T}], l * ldo).fill(0);
  for (let q = q0; q < q1; q += tileCenterPanels) {
    const qEnd = Math.min(q + tileCenterPanels, q1);
    const first = q * 4;
    const from = Math.max(first, j0), to = Math.min(qEnd * 4, j1);
    if (from >= to) continue;
    for (let r = 0; r < rowPanels; r += tilePanels) {
      const panels = Math.min(tilePanels, rowPanels - r);
      const ldt = panels * 8;
      w.squaredDistances(xp + r * 32 * d, xn + r * 32, panels, zp + q * 16 * d, zn + q * 16, qEnd - q, d, tile, ldt, direct);
      const offset = (from - first) * ldt * 4;
      const size = (to - from) * ldt;
      const distances = new Float32Array(memory.buffer, tile + offset, size);
      for (let k = 0; k < count; k++) {
        const at = k * ${MEMBER_FIELDS};
        // The last member may transform the distances themselves.
        const start = k + 1 < count ? spare + offset : tile + offset;
        if (k + 1 < count) new Float32Array(memory.buffer, start, size).set(distances);
        w.transform(start, size, members[at + ${M.KIND}], members[at + ${M.C0}], members[at + ${M.C1}]);
        w.timesWeights(start, ldt, panels, to - from, members[at + ${M.ALPHA}] + from * l * 4, l, members[at + ${M.OUT_T}] + r * 32, ldo);
      }
    }
  }
}

function block() {
  const d = p[P.D], direct = p[P.DIRECT];
  const yp = p[P.YP], yn = p[P.YN], yPanels = p[P.Y_PANELS], xp = p[P.XP4], xn = p[P.XN4];
  const q0 = p[P.Q0], q1 = p[P.Q1], out = p[P.OUT], ldo = p[P.OUT_LD];
  const yBlock = p[P.Y_BLOCK], qBlock = p[P.Q_BLOCK];
  for (let q = q0; q < q1; q += qBlock) {
    const qEnd = Math.min(q + qBlock, q1);
    for (let b = 0; b < yPanels; b += yBlock) {
      const panels = Math.min(yBlock, yPanels - b);
      w.squaredDistances(yp + b * 32 * d, yn + b * 32, panels, xp + q * 16 * d, xn + q * 16, qEnd - q, d, out + (q * 4 * ldo + b * 8) * 4, ldo, direct);
    }
    applyTransform(out + q * 16 * ldo, (qEnd - q) * 4 * ldo);
  }
}

function cachedProduct() {
  w.cachedProduct(p[P.K_VALUES], p[P.K_ROW_TABLE], p[P.K_PRECISION], p[P.K_ROW0], p[P.K_ROW1], p[P.K_COLS], p[P.A_T], p[P.A_LD],
    p[P.A_COLS], p[P.PRODUCT], p[P.WIDENED], p[P.SUMS]);
}

function transposedProduct() {
  const first = p[P.T_PANEL0], ld = p[P.T_LD], table = p[P.T_ROW_TABLE];
  if (table) w.timesWeightsOfRows(table, first * 32, p[P.T_PANEL1] - first, p[P.T_ROWS], p[P.T_A], p[P.T_L], p[P.T_OUT] + first * 32, ld);
  else w.timesWeights(p[P.T_VALUES] + first * 32, ld, p[P.T_PANEL1] - first, p[P.T_ROWS], p[P.T_A], p[P.T_L], p[P.T_OUT] + first * 32, ld);
}

function fail(error) {
  if (Atomics.compareExchange(i32, ${ERROR}, 0, 1) !== 0) return;
  const message = String((error && error.stack) || error).slice(0, ${ERROR_TEXT_MAX});
  for (let i = 0; i < message.length; i++) text[i] = message.charCodeAt(i);
  Atomics.store(i32, ${ERROR_LENGTH}, message.length);
}

let seen = Atomics.load(i32, ${GENERATION});
ready();
for (;;) {
  // Only a new generation starts a job. A wake-up is a hint: the main thread's notify can come late,
  // after this worker saw the new generation by itself, ran the job and slept again; taking that
  // wake-up for a job ran it twice and left PENDING at −1, so that the main thread waited forever.
  while (Atomics.load(i32, ${GENERATION}) === seen) Atomics.wait(i32, ${GENERATION}, seen);
  seen = Atomics.load(i32, ${GENERATION});
  const op = p[P.OP];
  if (op === ${OP_QUIT}) break;
  try {
    if (op === ${OP_FUSED}) fused();
    else if (op === ${OP_BLOCK}) block();
    else if (op === ${OP_CACHED_PRODUCT}) cachedProduct();
    else if (op === ${OP_FUSED_GROUP}) fusedGroup();
    else if (op === ${OP_TRANSPOSED_PRODUCT}) transposedProduct();
  } catch (error) {
    fail(error);
  }
  if (Atomics.sub(i32, ${PENDING}, 1) === 1) Atomics.notify(i32, ${PENDING});
}
}
`;
