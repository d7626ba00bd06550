/**
 * The SDS trainer's patch sampler: labeled halves (img_a, lab_a), (img_b, lab_b) and unlabeled halves
 * unimg_a, unimg_b per iteration, cut on the host from per-scan z-scored Volumes (patches.ts: random
 * crop, zero padding where a scan is smaller than the patch) with the task's augmentation (config
 * `augmentation`: left-right flips only for hippocampus; axial rot90 + flips for LA).
 * Every random choice comes from counter-based streams, and the sampler's whole state (stream
 * positions, epoch orders) is a small JSON object, so a checkpoint can resume it exactly.
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { sizeOf, type Vec3 } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { type Volume, zScoreNormalize } from '../../volume/index.js';
import {
  expectFlipAxes,
  type LabeledVolume,
  type PatchPlacement,
  prepareScan,
  type PreparedScan,
  randomPlacement,
  rotatedShape,
  type VolumeAxis,
  writePatch,
} from '../patches.js';
import { labeledLookForeign, type ScannerCheck } from '../adapt/scanner-distance.js';
import { augmentAppearance, MRI_APPEARANCE } from '../appearance.js';
import { RandomStream } from '../random-stream.js';
import type { SdsBatch } from './iteration.js';

export interface Augmentation {
  readonly rot90Axial: boolean;
  readonly flipAxes: readonly VolumeAxis[];
}

/**
 * A placement with the configured augmentation: when `rot90Axial`, k quarter turns in the x-y plane
 * (k uniform in 0-3, drawn first, as the LA code rotates the scan before cropping), then a crop or
 * padding offset in the rotated frame and the flips.
 */
export function randomAugmentedPlacement(scanShape: Vec3, patch: Vec3, augmentation: Augmentation, rng: RandomStream): PatchPlacement {
  const k = augmentation.rot90Axial ? rng.int(4) : 0;
  const placement = randomPlacement(rotatedShape(scanShape, k), patch, augmentation.flipAxes, rng);
  return k === 0 ? placement : { ...placement, rot90: k };
}

/** Epoch-wise order without replacement (every scan once per epoch, reshuffled), as a shuffling DataLoader. */
class EpochOrder {
  order: number[] = [];
  next = 0;
  constructor(
    private readonly count: number,
    readonly rng: RandomStream,
  ) {}

  take(): number {
    if (this.next >= this.order.length) {
      this.order = this.rng.permutation(this.count);
      this.next = 0;
    }
    return this.order[this.next++];
  }
}

/** The sampler's state in a checkpoint's metadata. */
export interface SamplerState {
  readonly labeledCount: number;
  readonly unlabeledCount: number;
  readonly placement: number;
  readonly labeled: { readonly stream: number; readonly order: readonly number[]; readonly next: number };
  readonly unlabeled: { readonly stream: number; readonly order: readonly number[]; readonly next: number };
  /** The appearance stream's position (absent in checkpoints from before `augmentLabeled`: 0). */
  readonly appearance?: number;
}

export interface SdsSamplerOptions {
  readonly patch: Vec3;
  /** Patches per half (labeledBatch / 2). */
  readonly half: number;
  readonly nClasses: number;
  readonly augmentation: Augmentation;
  readonly seed: number;
  /** The mode reads no labels (AdaBN, TENT): labeled scans may be absent. */
  readonly labelFree?: boolean;
  /** MRI appearance augmentation of the labeled patches (config `adaptation.augmentLabeled`; default false). */
  readonly augmentLabeled?: boolean | 'auto';
}

/** Z-scores an unlabeled scan; its label is the shared all-background buffer (never used as a target). */
function prepareUnlabeled(volume: Volume, background: Uint8Array, what: string): PreparedScan {
  const image = zScoreNormalize(volume).data;
  for (let i = 0; i < image.length; i++)
    if (!Number.isFinite(image[i]))
      throw new SdsError('E_NONFINITE', `${what} (${volume.metadata.fileName || 'image'}): expected finite intensities, found ${image[i]}`);
  return { name: volume.metadata.fileName || what, shape: [...volume.shape] as Vec3, image, label: background.subarray(0, image.length) };
}

export class SdsSampler {
  private readonly labeled: PreparedScan[];
  private readonly unlabeled: PreparedScan[];
  private readonly labeledOrder: EpochOrder;
  private readonly unlabeledOrder: EpochOrder;
  private readonly placementRng: RandomStream;
  private readonly appearanceRng: RandomStream;
  private readonly images: Float32Array;
  private readonly labels: Uint8Array;
  private readonly unlabeledBoth: Float32Array;
  /** Whether the labeled patches get appearance augmentation, and (for 'auto') the test that decided it. */
  readonly augmentsLabeled: boolean;
  readonly scannerCheck: ScannerCheck | null;

  constructor(
    labeled: readonly LabeledVolume[],
    unlabeled: readonly Volume[],
    private readonly options: SdsSamplerOptions,
  ) {
    expectFlipAxes(options.augmentation.flipAxes);
    if (labeled.length === 0 && options.labelFree !== true)
      throw new SdsError('E_INVALID_ARGUMENT', 'trainSds: labeled: expected at least one scan, found none');
    this.labeled = labeled.map((pair, i) => prepareScan(pair, options.nClasses, `labeled[${i}]`));
    const background = new Uint8Array(unlabeled.reduce((n, v) => Math.max(n, v.data.length), 0));
    this.unlabeled = unlabeled.map((v, i) => prepareUnlabeled(v, background, `unlabeled[${i}]`));
    // Separate streams: the unlabeled set's size must not shift the labeled draws, and vice versa.
    this.labeledOrder = new EpochOrder(this.labeled.length, new RandomStream(options.seed, 0x1ab));
    this.unlabeledOrder = new EpochOrder(this.unlabeled.length, new RandomStream(options.seed, 0x11ab));
    this.placementRng = new RandomStream(options.seed, 0x9a7c);
    // Its own stream, so switching the augmentation on leaves every crop and flip where it was.
    this.appearanceRng = new RandomStream(options.seed, 0xa99e);
    const mode = options.augmentLabeled ?? false;
    this.scannerCheck =
      mode === 'auto' && this.labeled.length > 0
        ? labeledLookForeign(
            this.labeled.map((s) => s.image),
            this.unlabeled.map((s) => s.image),
            new RandomStream(options.seed, 0x5ca7),
          )
        : null;
    this.augmentsLabeled = mode === true || this.scannerCheck?.foreign === true;
    const voxels = options.half * sizeOf(options.patch);
    this.images = new Float32Array(voxels);
    this.labels = new Uint8Array(voxels);
    this.unlabeledBoth = new Float32Array(2 * voxels);
  }

  get unlabeledCount(): number {
    return this.unlabeled.length;
  }

  /** The unlabeled scans, z-scored (for batch-norm re-estimation). */
  get unlabeledScans(): readonly PreparedScan[] {
    return this.unlabeled;
  }

  /** One half: `half` patches from scans in epoch order, uploaded as [n, 1, D, H, W] and [n, D, H, W]. */
  private drawHalf(backend: Backend, scans: PreparedScan[], order: EpochOrder): { image: Tensor; label: Tensor } {
    const { patch, half, augmentation } = this.options;
    const voxels = sizeOf(patch);
    const appearance = this.augmentsLabeled && scans === this.labeled;
    for (let n = 0; n < half; n++) {
      const scan = scans[order.take()];
      const placement = randomAugmentedPlacement(scan.shape, patch, augmentation, this.placementRng);
      writePatch(scan, patch, placement, this.images, this.labels, n * voxels);
      if (appearance) augmentAppearance(this.images, n * voxels, patch, MRI_APPEARANCE, this.appearanceRng);
    }
    return { image: backend.upload(this.images, [half, 1, ...patch]), label: backend.upload(this.labels, [half, ...patch]) };
  }

  /**
   * The next iteration's patches: labeled a, labeled b, then (when `withUnlabeled`) unlabeled a and b.
   * Without unlabeled patches (stage 1) the unlabeled slots repeat the labeled images, as sdsIteration's
   * supervised mode allows. The caller frees the batch with `disposeSdsBatch`.
   */
  draw(backend: Backend, withUnlabeled: boolean): SdsBatch {
    if (withUnlabeled && this.unlabeled.length === 0)
      throw new SdsError('E_INVALID_ARGUMENT', 'trainSds: unlabeled: expected at least one scan for stage 2, found none');
    if (this.labeled.length === 0) {
      // Label-free modes read only the unlabeled halves; the labeled slots repeat them.
      const ua = this.drawHalf(backend, this.unlabeled, this.unlabeledOrder);
      const ub = this.drawHalf(backend, this.unlabeled, this.unlabeledOrder);
      return { imageA: ua.image, labelA: ua.label, imageB: ub.image, labelB: ub.label, unlabeledA: ua.image, unlabeledB: ub.image };
    }
    const a = this.drawHalf(backend, this.labeled, this.labeledOrder);
    const b = this.drawHalf(backend, this.labeled, this.labeledOrder);
    if (!withUnlabeled)
      return { imageA: a.image, labelA: a.label, imageB: b.image, labelB: b.label, unlabeledA: a.image, unlabeledB: b.image };
    const ua = this.drawHalf(backend, this.unlabeled, this.unlabeledOrder);
    const both = this.unlabeledBoth;
    both.set(this.images);
    const ub = this.drawHalf(backend, this.unlabeled, this.unlabeledOrder);
    both.set(this.images, this.images.length);
    backend.dispose(ua.label);
    backend.dispose(ub.label);
    // Both unlabeled halves in one tensor too, for the eval-mode forwards that see them both.
    const unlabeled = backend.upload(both, [2 * this.options.half, 1, ...this.options.patch]);
    return { imageA: a.image, labelA: a.label, imageB: b.image, labelB: b.label, unlabeledA: ua.image, unlabeledB: ub.image, unlabeled };
  }

  state(): SamplerState {
    const order = (o: EpochOrder): SamplerState['labeled'] => ({ stream: o.rng.position, order: [...o.order], next: o.next });
    return {
      labeledCount: this.labeled.length,
      unlabeledCount: this.unlabeled.length,
      placement: this.placementRng.position,
      appearance: this.appearanceRng.position,
      labeled: order(this.labeledOrder),
      unlabeled: order(this.unlabeledOrder),
    };
  }

  /** Continues from `state` (a checkpoint of a sampler over the same scans, in the same order). */
  restore(state: SamplerState): void {
    if (state.labeledCount !== this.labeled.length || state.unlabeledCount !== this.unlabeled.length)
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `trainSds: resume: the checkpoint sampled ${state.labeledCount} labeled and ${state.unlabeledCount} unlabeled scans, ` +
          `found ${this.labeled.length} and ${this.unlabeled.length} (pass the same scans in the same order)`,
      );
    const apply = (o: EpochOrder, s: SamplerState['labeled'], count: number): void => {
      if (!(s.order.every((i) => Number.isInteger(i) && i >= 0 && i < count) && Number.isInteger(s.next) && s.next >= 0))
        throw new SdsError('E_FORMAT', `trainSds: resume: sampler order ${JSON.stringify(s)} does not fit ${count} scans`);
      o.rng.seek(s.stream);
      o.order = [...s.order];
      o.next = s.next;
    };
    apply(this.labeledOrder, state.labeled, this.labeled.length);
    apply(this.unlabeledOrder, state.unlabeled, this.unlabeled.length);
    this.placementRng.seek(state.placement);
    this.appearanceRng.seek(state.appearance ?? 0);
  }
}

/** Frees a batch from `draw` (each tensor once: stage-1 batches repeat the labeled images). */
export function disposeSdsBatch(backend: Backend, batch: SdsBatch): void {
  for (const t of new Set(Object.values(batch) as Tensor[])) backend.dispose(t);
}
