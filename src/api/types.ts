/**
 * The public contract of sds-web as users meet it: a `Segmenter` owns one backend and one
 * model (a teacher V-Net, plus the two students while fine-tuning) and offers finetune / segment /
 * save / load / exportOnnx. The worker-backed segmenter (worker/) implements the same interface, so
 * the same code runs on the main thread, in a Web Worker or in Node's worker_threads.
 *
 * Concurrency rule (documented in the README): calls on one segmenter run one at a time in call order
 * (a FIFO queue), so `segment` called while `finetune` runs waits for it; two segmenters never share
 * state. `dispose()` rejects queued calls with E_DISPOSED.
 */
import type { BackendName } from '../core/tensor.js';
import type { Vec3 } from '../core/shape.js';
import type { MemoryPlan } from '../nn/memory-plan.js';
import type { VNetConfig } from '../nn/vnet-config.js';
import type { SdsConfig } from '../train/sds/config.js';
import type { BrowserCheckpointStoreOptions } from '../train/checkpoint/browser-checkpoint.js';
import type { NetworkName } from '../train/checkpoint/checkpoint.js';
import type { Volume } from '../volume/volume.js';

/** Which backend to run on; 'auto' = WebGPU when an adapter exists and the memory plan fits, else wasm. */
export type BackendChoice = 'auto' | 'webgpu' | 'wasm' | 'reference';

/**
 * A scan as users hold it: a Volume, the bytes of a NIfTI (.nii / .nii.gz) or LA-HDF5 file (with its
 * name so the format is known), a Blob/File (browser), or a path (Node only; a DICOM series is a
 * directory path).
 */
export type ScanInput = Volume | { readonly name: string; readonly bytes: Uint8Array | ArrayBuffer } | Blob | string;

/** A labeled scan: image and label map on the same grid. */
export interface LabeledScanInput {
  readonly image: ScanInput;
  readonly label: ScanInput;
}

/** Model bytes: an sds-web / PyTorch-named safetensors V-Net checkpoint (or a path to one in Node). */
export type ModelInput = Uint8Array | ArrayBuffer | Blob | string;

export interface CreateSegmenterOptions {
  /** Default 'auto'. */
  readonly backend?: BackendChoice;
  /** Pretrained weights; without them the network is freshly initialised from `network` + `seed`. */
  readonly model?: ModelInput;
  /** V-Net of a fresh model (ignored when `model` carries its config). Default: nClasses 2, nFilters 16. */
  readonly network?: Partial<VNetConfig>;
  /** A GPUDevice to use instead of requesting one (webgpu). */
  readonly device?: GPUDevice;
  /** Threads of the wasm backend (default: the machine's core count, at most 8; 1 without SharedArrayBuffer). */
  readonly threads?: number;
  /** Seeds a fresh network's weights. Default 0. */
  readonly seed?: number;
  /**
   * Training patch / inference window in Volume axes [X, Y, Z], multiples of 16. Default: the model's
   * own (stored in its metadata), else [32, 48, 32] (hippocampus).
   */
  readonly patch?: Vec3;
}

export interface SegmenterInfo {
  readonly backend: BackendName;
  /** Adapter name (webgpu), "WebAssembly SIMD, 2 threads" (wasm), … */
  readonly description: string;
  /** Why this backend was chosen ('auto' lists what it tried and why it passed on the others). */
  readonly reasons: readonly string[];
  readonly adapter?: string;
  readonly limits: Readonly<Record<string, number>>;
  readonly threads?: number;
  readonly relaxedSimd?: boolean;
  readonly network: VNetConfig;
  /** Window / patch in Volume axes [X, Y, Z]. */
  readonly patch: Vec3;
  /** Whether weights were loaded or fine-tuned (false: freshly initialised). */
  readonly trained: boolean;
}

/** Config overrides of the SDS trainer, merged one level deep onto the small-CPU preset. */
export type FinetuneConfig = { readonly [K in keyof SdsConfig]?: Partial<SdsConfig[K]> | SdsConfig[K] };

export interface FinetuneOptions {
  /** Labeled scans of the site (may be empty for the label-free modes 'adabn' and 'tent'). */
  readonly labeled: readonly LabeledScanInput[];
  readonly unlabeled: readonly ScanInput[];
  readonly validation?: readonly LabeledScanInput[];
  /**
   * Overrides of the trainer config. With pretrained weights and no `mode`, finetune runs the SDK's
   * adaptation recipe (SDS_ADAPT_PRESET: SDS plus batch-norm re-estimation on the unlabeled scans);
   * a `mode` runs that method as specified ('sds' is METHOD.md's SDS), at the small-CPU preset's sizes.
   */
  readonly config?: FinetuneConfig;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: FinetuneProgress) => void;
  /**
   * Browser (page or worker): keep a resumable trainer checkpoint every `config.checkpointEvery`
   * iterations in OPFS, or IndexedDB where OPFS cannot write (src/train/checkpoint/browser-checkpoint.ts:
   * completion marker, checksum, the previous one kept). Plain data, so it crosses a worker boundary.
   */
  readonly checkpoints?: BrowserCheckpointStoreOptions;
  /** A trainer checkpoint to continue from (e.g. `(await store.readLatest())?.bytes`), same scans and config. */
  readonly resume?: Uint8Array;
}

/** One progress event of finetune (plain data, so it crosses a worker boundary by structured clone). */
export type FinetuneProgress =
  | {
      readonly type: 'iteration';
      readonly phase: 'stage1' | 'stage2';
      readonly iteration: number;
      readonly of: number;
      /** Overall progress 0..1 over both stages. */
      readonly fraction: number;
      readonly losses: readonly number[];
      /** Agreement confidences c1, c2 (stage 2, SDS modes). */
      readonly confidences?: readonly number[];
      /** Index of the student that updated the teacher (0 = S1). */
      readonly selected?: number;
      readonly alpha?: number;
      readonly lr: number;
      readonly ms: number;
      readonly reads: number;
      readonly etaMs: number;
      /**
       * Students (0 = S1) whose loss was NaN or Inf this iteration: their step was skipped and they did
       * not update the teacher. Absent when every loss was finite. Several iterations in a row with a
       * skip stop finetune with E_NONFINITE.
       */
      readonly skipped?: readonly number[];
    }
  | {
      readonly type: 'validation';
      readonly phase: 'stage1' | 'stage2';
      readonly iteration: number;
      readonly dice: Partial<Record<NetworkName, number>>;
    }
  | { readonly type: 'done'; readonly fraction: 1 };

export interface FinetuneResult {
  readonly stage1Iterations: number;
  readonly iterations: number;
  readonly aborted: boolean;
  /** The network now used by segment(). */
  readonly deployed: NetworkName;
  /** Best validation Dice per network, when validation scans were given. */
  readonly bestDice: Partial<Record<NetworkName, number>>;
  readonly msPerIteration: number;
  /**
   * The training patch in Volume axes [X, Y, Z]: config.patch when given, else the segmenter's patch cut
   * to the largest multiple of 16 inside the median training scan (a patch mostly of padding would give
   * batch norm the padding's statistics).
   */
  readonly patch: Vec3;
}

export interface SegmentOptions {
  /** Sliding-window overlap 0..1 (MONAI). Default 0.5. */
  readonly overlap?: number;
  /** Window blending. Default 'gaussian'. */
  readonly blend?: 'gaussian' | 'constant';
  /** Flip test-time augmentation (left-right). Default false. */
  readonly tta?: boolean;
  /** Keep the largest connected component per class. Default true. */
  readonly largestComponent?: boolean;
  /** Which network: the deployed teacher (default) or a student after finetune. */
  readonly network?: NetworkName;
  /** 'sds' (default, our kernels) or 'onnxruntime' (onnxruntime-web on the exported model, same sliding window). */
  readonly engine?: 'sds' | 'onnxruntime';
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { readonly fraction: number; readonly window: number; readonly windows: number }) => void;
}

export interface ExportOnnxOptions {
  /** 'transpose' (ConvTranspose nodes, default) or 'webgpu-compatible' (up-convolutions in a form ORT WebGPU runs). */
  readonly upsampling?: 'transpose' | 'webgpu-compatible';
  /** Fold BatchNorm into the preceding convolutions. Default true. */
  readonly foldBatchNorm?: boolean;
}

export interface Segmenter {
  info(): SegmenterInfo;
  /** Bytes the training step (default batch: the finetune preset's) or one inference window needs. */
  memoryPlan(options?: { readonly patch?: Vec3; readonly batch?: number }): MemoryPlan;
  finetune(options: FinetuneOptions): Promise<FinetuneResult>;
  segment(input: ScanInput, options?: SegmentOptions): Promise<Volume<Uint8Array>>;
  /** The deployed network as a safetensors V-Net checkpoint (PyTorch names, config in metadata). */
  save(): Promise<Uint8Array>;
  load(model: ModelInput): Promise<void>;
  exportOnnx(options?: ExportOnnxOptions): Promise<Uint8Array>;
  dispose(): Promise<void>;
}
