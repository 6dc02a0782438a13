/**
 * Seeded randomness for a training run, from @stdlib/random: one Mersenne Twister seeded by the
 * user's seed hands out the seeds of the samplers it needs (subsample, per-epoch permutations,
 * eigensolver start vector), so the same seed gives the same model on the same backend.
 *
 * Every sampler is seeded afresh from that one generator, so its state (mt19937's 631 words) is
 * the whole state of the stream: a checkpoint saves it and a resumed run continues the same stream.
 */
import mt19937 from '@stdlib/random/base/mt19937';
import randu from '@stdlib/random/base/randu';
import sample from '@stdlib/random/sample';
import shuffle from '@stdlib/random/shuffle';
import { KmfitError } from '../errors.js';

/** The generator; its `state` property gets and sets a Uint32Array copy of the whole state. */
type Mt19937 = ReturnType<typeof mt19937.factory>;

export class SeededRandom {
  private readonly source: Mt19937;

  constructor(seed: number) {
    // mt19937 rejects a zero seed; shift so that every seed in [0, 2³² − 1) is accepted.
    this.source = mt19937.factory({ seed: (seed % 0xffffffff) + 1 });
  }

  /**
   * A generator that continues from a state returned by `state`.
   * @throws KmfitError CHECKPOINT_MISMATCH when the words are not an mt19937 state.
   */
  static fromState(state: Uint32Array): SeededRandom {
    const random = new SeededRandom(0);
    try {
      random.source.state = state; // copies, and checks the layout (version, length)
    } catch (error) {
      throw new KmfitError(
        'CHECKPOINT_MISMATCH',
        `The saved random state (${state.length} words) is not one this kmfit can continue: ${(error as Error).message}.`,
        { cause: error },
      );
    }
    return random;
  }

  /** A copy of the generator's whole state. */
  state(): Uint32Array {
    return this.source.state.slice();
  }

  /** A seed for a derived sampler. */
  private nextSeed(): number {
    return (this.source() % 0xfffffffe) + 1;
  }

  /** Uniform numbers in [0, 1) from an independent stream. */
  uniformStream(): () => number {
    const generator = randu.factory({ seed: this.nextSeed() });
    return () => generator();
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    shuffle.factory({ seed: this.nextSeed() })(order, { copy: 'none' });
    return order;
  }

  /** k distinct indices from 0..n−1, in random order. */
  subsample(n: number, k: number): Int32Array {
    if (k >= n) return this.permutation(n);
    const all = Array.from({ length: n }, (_, i) => i);
    const chosen = sample.factory({ seed: this.nextSeed() })(all, { size: k, replace: false });
    return Int32Array.from(chosen as ArrayLike<number>);
  }
}
