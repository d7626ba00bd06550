import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { channelScale, copy, dropoutMask, mix32 } from '../../ops/index.js';
import type { Layer } from '../layer.js';
import { LayerBase } from './base.js';

export interface Dropout3dOptions {
  readonly name: string;
  /** Probability of zeroing a whole (n, c) channel. */
  readonly p: number;
  /** Seed of the mask stream; forward call k uses a seed derived from (seed, k). */
  readonly seed: number;
}

interface DropoutCache {
  readonly mask: Tensor;
  readonly ownsMask: boolean;
}

/**
 * torch.nn.Dropout3d: zeroes whole channels with probability p and scales the rest by 1 / (1 - p).
 * y = channelScale(x, mask) and, since that is linear, dx = channelScale(dy, mask).
 * Masks come from the counter-based dropoutMask op, so every backend draws the same ones; a test can
 * inject a fixed [N, C] mask instead (it stays the caller's).
 */
export class Dropout3d extends LayerBase implements Layer {
  readonly keepsInput = false;
  readonly keepsOutput = false;
  readonly p: number;
  private readonly seed: number;
  private calls = 0;
  private injected: Tensor | null = null;
  private cache: DropoutCache | null = null;

  constructor(backend: Backend, o: Dropout3dOptions) {
    super(backend, o.name);
    if (!(o.p >= 0 && o.p < 1)) throw new SdsError('E_INVALID_ARGUMENT', `${o.name}: p: expected a number in [0, 1), found ${o.p}`);
    this.p = o.p;
    this.seed = o.seed >>> 0;
  }

  /** Uses `mask` ([N, C], values 0 or 1/(1-p)) for every training forward until cleared with null. */
  injectMask(mask: Tensor | null): void {
    this.injected = mask;
  }

  /**
   * Training forwards drawn so far: the mask stream's position. A checkpoint saves it so a resumed run
   * draws the masks the uninterrupted run would have.
   */
  get draws(): number {
    return this.calls;
  }

  set draws(value: number) {
    if (!(Number.isSafeInteger(value) && value >= 0))
      throw new SdsError('E_INVALID_ARGUMENT', `${this.name}: draws: expected an integer >= 0, found ${value}`);
    this.calls = value;
  }

  /** The seed the next training forward will draw its mask with. */
  nextSeed(): number {
    return mix32((this.seed ^ Math.imul(this.calls + 1, 0x9e3779b9)) >>> 0);
  }

  /** In eval mode dropout is the identity; it still returns a new tensor, as every forward does. */
  forward(x: Tensor): Tensor {
    this.releaseCache();
    if (!this.training) return copy(this.backend, x);
    let mask = this.injected;
    const ownsMask = mask === null;
    if (mask === null) mask = dropoutMask(this.backend, x.shape[0], x.shape[1], { p: this.p, seed: this.nextSeed() });
    this.calls++;
    this.cache = { mask, ownsMask };
    return channelScale(this.backend, x, mask);
  }

  backward(dy: Tensor): Tensor {
    const c = this.expectCache(this.cache);
    const dx = channelScale(this.backend, dy, c.mask);
    this.releaseCache();
    return dx;
  }

  releaseCache(): void {
    if (this.cache === null) return;
    if (this.cache.ownsMask) this.backend.dispose(this.cache.mask);
    this.cache = null;
  }
}
