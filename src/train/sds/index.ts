// train/sds/: the Switching Dual-Student trainer with Loss-Aware EMA (METHOD.md stage 2) and its baselines.
export * from './config.js';
export {
  randomCube,
  cubeMaskFor,
  cutMixBatch,
  disposeCutMixBatch,
  type CutMixBatch,
  type CutMixInputs,
  type CutMixPair,
} from './cut-mix-batch.js';
export { pseudoLabels, type PseudoLabelOptions } from './pseudo-labels.js';
export { studentLoss } from './student-loss.js';
export { takeGradients, addGradients, updateStudent } from './update-student.js';
export { chooseStudent, selectStudent, type Selection } from './select-student.js';
export { laEmaAlphaFor, fixedEmaAlpha, laEmaUpdate, entryTensor } from './la-ema.js';
export { createSdsState, disposeSdsState, copyWeights, type SdsState, type Student, type CreateSdsStateOptions } from './state.js';
export { sdsIteration, type SdsBatch, type SdsEvent } from './iteration.js';
export { ReadCounter } from './reads.js';
export {
  SdsSampler,
  disposeSdsBatch,
  randomAugmentedPlacement,
  type Augmentation,
  type SamplerState,
  type SdsSamplerOptions,
} from './sampler.js';
export {
  encodeCheckpoint,
  parseCheckpoint,
  snapshotNet,
  vnetFile,
  METADATA_TRAINER,
  METADATA_TRAINER_CONFIG,
  NETWORK_NAMES,
  type BestRecord,
  type HostWeights,
  type NetworkName,
  type ParsedCheckpoint,
  type Phase,
  type TrainerMeta,
} from '../checkpoint/checkpoint.js';
export { trainSds, type SdsTrainerEvent, type SdsTrainResult, type TrainSdsOptions } from './trainer.js';
