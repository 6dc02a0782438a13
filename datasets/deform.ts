/**
 * Random deformations of 28×28 grey digits, for datasets/mnistDeformed.ts: the elastic distortion
 * of Simard, Steinkraus & Platt (ICDAR 2003) plus a small random rotation, scaling and translation,
 * as in the MNIST-8M / infinite-MNIST sets of Loosli, Canu & Bottou (2007). Pure functions over
 * caller-owned buffers (nothing the size of an image is allocated per image).
 *
 * Coordinates: x is the column, y the row, pixel (x, y) is element y·28 + x; the image centre is
 * (13.5, 13.5).
 */

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

/** The random deformation applied to each image. Lengths in pixels. */
export interface DeformationParameters {
  /** Standard deviation of the Gaussian that smooths the uniform [−1, 1] displacement noise. */
  readonly sigma: number;
  /** Scale of the smoothed displacement field (Simard's α). */
  readonly alpha: number;
  /** Translation along each axis, uniform in [−maxShift, maxShift]. */
  readonly maxShift: number;
  /** Rotation about the centre, uniform in [−maxRotation, maxRotation] degrees. */
  readonly maxRotation: number;
  /** Scaling about the centre, uniform in [1 − maxScale, 1 + maxScale]. */
  readonly maxScale: number;
}

/**
 * The parameters of mnist-deformed (datasets/README.md gives the measurements behind them):
 * Simard et al.'s σ = 4 with α = 16 rather than their 34 — with a normalized Gaussian, α = 34
 * displaces each pixel by about 1.4 pixels (standard deviation per axis) and alone drops a
 * nearest-centroid classifier of the original classes from 80 % to 58 % correct; α = 16 gives
 * 0.65 pixels, bent strokes and a readable digit — plus a rotation of up to 6°, a scaling by up to
 * 6 % and a shift of up to 1 pixel per axis, which keep the digit's 20×20 box inside the frame.
 */
export const MNIST_DEFORMATION: DeformationParameters = {
  sigma: 4,
  alpha: 16,
  maxShift: 1,
  maxRotation: 6,
  maxScale: 0.06,
};

/**
 * A Gaussian of standard deviation `sigma` sampled at −radius … radius (default ⌈3σ⌉) and
 * normalized to sum 1, so that smoothing keeps a constant field constant.
 */
export function gaussianKernel(sigma: number, radius = Math.ceil(3 * sigma)): Float64Array {
  if (!(sigma > 0) || !Number.isInteger(radius) || radius < 0) {
    throw new RangeError(`gaussianKernel: sigma must be > 0 and radius a non-negative integer; got ${sigma}, ${radius}`);
  }
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    const w = Math.exp(-(k * k) / (2 * sigma * sigma));
    kernel[k + radius] = w;
    sum += w;
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  return kernel;
}

/**
 * Smooths a SIDE×SIDE field with `kernel` (odd length, centred) as two 1-D passes, rows then
 * columns; the edge value is repeated past the border (so a constant field stays constant).
 * `field` and `out` may be the same array; `scratch` holds SIDE² numbers, `line` SIDE + len − 1.
 */
export function smoothField(
  field: Float64Array,
  kernel: Float64Array,
  out: Float64Array,
  scratch: Float64Array = new Float64Array(PIXELS),
  line: Float64Array = new Float64Array(SIDE + kernel.length - 1),
): Float64Array {
  // Each pass smooths the rows and writes them transposed, so the second pass smooths the columns
  // and transposes them back.
  smoothRowsTransposed(field, scratch, kernel, line);
  smoothRowsTransposed(scratch, out, kernel, line);
  return out;
}

function smoothRowsTransposed(src: Float64Array, dst: Float64Array, kernel: Float64Array, line: Float64Array): void {
  const taps = kernel.length;
  const radius = (taps - 1) >> 1;
  for (let y = 0; y < SIDE; y++) {
    const base = y * SIDE;
    const first = src[base];
    const last = src[base + SIDE - 1];
    for (let k = 0; k < radius; k++) {
      line[k] = first;
      line[radius + SIDE + k] = last;
    }
    for (let x = 0; x < SIDE; x++) line[radius + x] = src[base + x];
    // Four outputs at a time (SIDE = 28 = 7·4): four independent sums keep the CPU's adders busy,
    // twice as fast as one running sum per output.
    for (let x = 0; x < SIDE; x += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < taps; k++) {
        const w = kernel[k];
        const q = x + k;
        a0 += w * line[q];
        a1 += w * line[q + 1];
        a2 += w * line[q + 2];
        a3 += w * line[q + 3];
      }
      dst[x * SIDE + y] = a0;
      dst[(x + 1) * SIDE + y] = a1;
      dst[(x + 2) * SIDE + y] = a2;
      dst[(x + 3) * SIDE + y] = a3;
    }
  }
}

/** Where random numbers come from: uniform in [0, 1), one at a time or a whole array. */
export interface UniformSource {
  next(): number;
  fill(out: Float64Array): void;
}

/**
 * Simard et al.'s elastic displacement field: 2·SIDE² numbers uniform in [−1, 1] from `random`
 * (the dx field first, row by row, then dy), each field smoothed with `kernel` and multiplied by
 * `alpha`. Writes `dx` and `dy` (SIDE² each).
 */
export function displacementField(
  random: UniformSource,
  kernel: Float64Array,
  alpha: number,
  dx: Float64Array,
  dy: Float64Array,
  scratch: Float64Array = new Float64Array(PIXELS),
  line: Float64Array = new Float64Array(SIDE + kernel.length - 1),
): void {
  noise(random, kernel, alpha, dx, scratch, line);
  noise(random, kernel, alpha, dy, scratch, line);
}

function noise(
  random: UniformSource,
  kernel: Float64Array,
  alpha: number,
  field: Float64Array,
  scratch: Float64Array,
  line: Float64Array,
): void {
  random.fill(field);
  for (let p = 0; p < PIXELS; p++) field[p] = 2 * field[p] - 1;
  smoothField(field, kernel, field, scratch, line);
  for (let p = 0; p < PIXELS; p++) field[p] *= alpha;
}

/** A rotation and scaling about the image centre, then a translation. */
export interface Placement {
  /** Where the digit moves, in pixels (+x right, +y down). */
  readonly shiftX: number;
  readonly shiftY: number;
  /** Radians; positive turns +x towards +y. */
  readonly rotation: number;
  /** Size factor; 1 keeps the size. */
  readonly scale: number;
}

export const IDENTITY: Placement = { shiftX: 0, shiftY: 0, rotation: 0, scale: 1 };

const CENTRE = (SIDE - 1) / 2;

/**
 * Deforms a SIDE×SIDE uint8 image into `out`: output pixel (x, y) takes the bilinear interpolation
 * of `image` at
 *   (sx, sy) = c + R(−rotation)·((x, y) − c − shift) / scale + (dx, dy)[y·SIDE + x],  c = (13.5, 13.5),
 * outside the image counting as 0 (the background), rounded and clamped to 0–255. With zero fields
 * and the identity placement it returns the image exactly; with zero fields and an integer shift,
 * the image moved by that many pixels. `dx`/`dy` undefined means zero fields.
 */
export function warp(
  image: Uint8Array,
  dx: Float64Array | undefined,
  dy: Float64Array | undefined,
  placement: Placement,
  out: Uint8Array,
): Uint8Array {
  const cos = Math.cos(placement.rotation) / placement.scale;
  const sin = Math.sin(placement.rotation) / placement.scale;
  const last = SIDE - 1;
  for (let y = 0, p = 0; y < SIDE; y++) {
    const v = y - CENTRE - placement.shiftY;
    for (let x = 0; x < SIDE; x++, p++) {
      const u = x - CENTRE - placement.shiftX;
      const sx = CENTRE + cos * u + sin * v + (dx === undefined ? 0 : dx[p]);
      const sy = CENTRE - sin * u + cos * v + (dy === undefined ? 0 : dy[p]);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let value: number;
      if (x0 >= 0 && y0 >= 0 && x0 < last && y0 < last) {
        const q = y0 * SIDE + x0;
        value =
          (1 - fy) * ((1 - fx) * image[q] + fx * image[q + 1]) + fy * ((1 - fx) * image[q + SIDE] + fx * image[q + SIDE + 1]);
      } else if (x0 < -1 || y0 < -1 || x0 > last || y0 > last) {
        value = 0;
      } else {
        value =
          (1 - fy) * ((1 - fx) * pixel(image, x0, y0) + fx * pixel(image, x0 + 1, y0)) +
          fy * ((1 - fx) * pixel(image, x0, y0 + 1) + fx * pixel(image, x0 + 1, y0 + 1));
      }
      const rounded = Math.round(value);
      out[p] = rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
    }
  }
  return out;
}

function pixel(image: Uint8Array, x: number, y: number): number {
  return x >= 0 && y >= 0 && x < SIDE && y < SIDE ? image[y * SIDE + x] : 0;
}

/** `image` moved by (shiftX, shiftY) pixels (bilinear for fractions), background 0 coming in. */
export function translate(image: Uint8Array, shiftX: number, shiftY: number, out = new Uint8Array(PIXELS)): Uint8Array {
  return warp(image, undefined, undefined, { ...IDENTITY, shiftX, shiftY }, out);
}

/** murmur3's 32-bit finalizer: a bijection of uint32 that mixes every input bit into every output bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The random stream of row `row` of a data set made with `seed`: numbers uniform in [0, 1) (32
 * random bits each) from sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128 bits of
 * state), whose state is a hash of (seed, row). A row's randomness depends on nothing else, so any
 * range of rows can be made alone, in any order. `seed` and `row`: integers in [0, 2³²).
 */
export class RowRandom implements UniformSource {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number, row: number) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(row ^ mix32(this.a));
    this.c = mix32(this.b ^ 0x6a09e667);
    for (let i = 0; i < 12; i++) this.next(); // sfc32's recommended warm-up
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) + t;
    this.c |= 0;
    return (t >>> 0) / 4294967296;
  }

  /** `out.length` numbers of the stream, the same as that many calls of next(). */
  fill(out: Float64Array): void {
    // The state in locals for the loop (a method call per number costs more than the generator).
    let { a, b, c, d } = this;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (((c << 21) | (c >>> 11)) + t) | 0;
      out[i] = (t >>> 0) / 4294967296;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

/**
 * Everything one image's deformation needs, allocated once: the kernel and the buffers. `deform`
 * draws, from `random`, the placement (shift x, shift y, rotation, scale: 4 numbers) and then the
 * displacement field (2·SIDE² numbers), and warps `image` into `out`.
 */
export class Deformer {
  readonly kernel: Float64Array;
  private readonly dx = new Float64Array(PIXELS);
  private readonly dy = new Float64Array(PIXELS);
  private readonly scratch = new Float64Array(PIXELS);
  private readonly line: Float64Array;

  constructor(readonly parameters: DeformationParameters = MNIST_DEFORMATION) {
    this.kernel = gaussianKernel(parameters.sigma);
    this.line = new Float64Array(SIDE + this.kernel.length - 1);
  }

  deform(image: Uint8Array, random: UniformSource, out: Uint8Array): Uint8Array {
    const { maxShift, maxRotation, maxScale, alpha } = this.parameters;
    const placement: Placement = {
      shiftX: maxShift * (2 * random.next() - 1),
      shiftY: maxShift * (2 * random.next() - 1),
      rotation: ((maxRotation * Math.PI) / 180) * (2 * random.next() - 1),
      scale: 1 + maxScale * (2 * random.next() - 1),
    };
    displacementField(random, this.kernel, alpha, this.dx, this.dy, this.scratch, this.line);
    return warp(image, this.dx, this.dy, placement, out);
  }
}
