import { SdsError } from '../core/errors.js';
import { mix32, uniformAt } from '../ops/random.js';

/**
 * A seeded stream of uniform numbers for the host-side choices of a training run (which scan, where
 * to crop, whether to flip). It walks the same counter-based generator the dropout kernels use, so a
 * run is reproducible from its seed on every backend and platform (Math.random is neither seedable
 * nor stable across engines).
 */
export class RandomStream {
  private readonly seed: number;
  private counter = 0;

  constructor(seed: number, stream = 0) {
    // Separate streams (sampling, shuffling) from one user seed without overlapping counters.
    this.seed = mix32((seed >>> 0) ^ mix32(stream + 0x9e3779b9));
  }

  /** Numbers handed out so far: with the seed, the stream's whole state (a checkpoint saves it). */
  get position(): number {
    return this.counter;
  }

  /** Continues the stream at `position` (a resumed run draws what the uninterrupted one would have). */
  seek(position: number): void {
    if (!(Number.isSafeInteger(position) && position >= 0))
      throw new SdsError('E_INVALID_ARGUMENT', `RandomStream.seek: expected an integer >= 0, found ${position}`);
    this.counter = position;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformAt(this.seed, this.counter++);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** A Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
