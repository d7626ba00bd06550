// Public surface of sds-web. Internals stay internal: only what a user needs is exported here.
export { SdsError, type SdsErrorCode } from './core/errors.js';
export { Tensor, type BackendName } from './core/tensor.js';
export type { DType, TypedArray } from './core/dtype.js';
export type { Shape, Vec3 } from './core/shape.js';
export type { Backend, BackendInfo } from './backend/backend.js';
export { createBackend, type CreateBackendOptions } from './api/create-backend.js';
export { createReferenceBackend } from './ops/reference/index.js';
export { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from './backend/webgpu/index.js';
export { createWasmBackend, type WasmBackendOptions } from './backend/wasm/index.js';

/** Every op: a validating dispatch function (backend first) and its float64 CPU reference. */
export * as ops from './ops/index.js';

export {
  BatchNorm3d,
  Conv3d,
  ConvTranspose3d,
  Dropout3d,
  InstanceNorm3d,
  ReLU,
  Sequential,
  VNet,
  type VNetOptions,
  type VNetConfig,
  type Normalization,
  type Layer,
  type Parameter,
  Sgd,
  type SgdOptions,
  supervisedLoss,
  mixedLoss,
  memoryPlan,
  type MemoryPlan,
} from './nn/index.js';
export * from './nn/checkpoint/vnet-checkpoint.js';
export { readSafetensors, writeSafetensors } from './nn/checkpoint/safetensors.js';

export {
  type Volume,
  type VolumeData,
  type VolumeDType,
  type VolumeMetadata,
  makeVolume,
  toLabelVolume,
  readNifti,
  writeLabelNifti,
  writeImageNifti,
  readHdf5Volumes,
  readDicomSeries,
  type DicomFile,
  zScoreNormalize,
  percentileNormalize,
  cropOrPad,
  resampleToSpacing,
  segmentationMetrics,
  type ClassMetrics,
  type MetricOptions,
} from './volume/index.js';

/** Cornerstone3D interop (no Cornerstone dependency): a label Volume → a labelmap volume's scalar array. */
export {
  toCornerstoneLabelmap,
  cornerstoneGeometry,
  type CornerstoneGeometry,
  type CornerstoneLabelArray,
  type CornerstoneLabelmapOptions,
} from './volume/cornerstone.js';

// The API users meet: a Segmenter in this thread or in a worker.
export { createSegmenter, DEFAULT_PATCH, DEFAULT_NETWORK, AUTO_WEBGPU_BUDGET_BYTES, METADATA_PATCH } from './api/index.js';
export type {
  BackendChoice,
  CreateSegmenterOptions,
  ExportOnnxOptions,
  FinetuneConfig,
  FinetuneOptions,
  FinetuneProgress,
  FinetuneResult,
  LabeledScanInput,
  ModelInput,
  ScanInput,
  SegmentOptions,
  Segmenter,
  SegmenterInfo,
} from './api/types.js';
export { createWorkerSegmenter, exposeSegmenter, type WorkerSegmenterOptions } from './worker/index.js';
// Trainer checkpoints in the browser (OPFS / IndexedDB, completion marker, fallback to the previous one).
export {
  openBrowserCheckpointStore,
  type BrowserCheckpointStore,
  type BrowserCheckpointStoreOptions,
  type BrowserLatestCheckpoint,
  type CheckpointMarker,
} from './train/checkpoint/browser-checkpoint.js';
