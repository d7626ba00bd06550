// train/: training loops and inference over Volumes. Backend-agnostic: Backend + nn + volume only.
export { RandomStream } from './random-stream.js';
export {
  type LabeledVolume,
  type PatchPlacement,
  type PreparedScan,
  type VolumeAxis,
  prepareScan,
  randomPlacement,
  volumeShapeOfPatch,
  writePatch,
} from './patches.js';
export {
  HIPPOCAMPUS_PATCH,
  SupervisedTrainer,
  type LearningRateSchedule,
  type SupervisedProgress,
  type SupervisedResult,
  type TrainSupervisedOptions,
  trainSupervised,
} from './supervised.js';
export { paddedShape, segmentWholeScan } from './segment.js';
export { type EvaluationOptions, type ScanScore, evaluateScans, meanScores } from './evaluate.js';
