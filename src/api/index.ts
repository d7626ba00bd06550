// The public API: createSegmenter and its contract.
export { createSegmenter, DEFAULT_PATCH, DEFAULT_NETWORK } from './create-segmenter.js';
export { AUTO_WEBGPU_BUDGET_BYTES } from './backend-choice.js';
export { METADATA_PATCH } from './model-file.js';
export { resolveScan, resolveLabeled } from './inputs.js';
export type * from './types.js';
