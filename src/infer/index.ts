// Inference: MONAI-style sliding windows over whole scans, argmax, largest connected component.
export { type BlendMode, DEFAULT_SIGMA_SCALE, importanceMap } from './importance.js';
export { type WindowPlan, axisStarts, planWindows, scanInterval } from './windows.js';
export {
  type ChannelVolume,
  type Predictor,
  type ProbabilityVolume,
  type SlidingWindowOptions,
  type SlidingWindowProgress,
  type WindowBatch,
  type WindowPredictor,
  MONAI_DEFAULTS,
  flipSets,
  slidingWindowInference,
  tensorPredictor,
} from './sliding-window.js';
export {
  type Components,
  type Connectivity,
  type LargestComponentOptions,
  keepLargestComponent,
  keepLargestComponentPerSample,
  labelComponents,
} from './connected-components.js';
export { type SegmentVolumeOptions, type SwitchableModel, argmaxClasses, segmentVolume, segmentVolumeWith } from './segment-volume.js';
export { SEGMENT_DEFAULTS, type SegmentProgress, type SegmentWindowOptions, segmentVolumeOptions } from './segment-options.js';
