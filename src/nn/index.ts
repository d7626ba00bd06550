// nn/: layers with parameters, the V-Net, losses, SGD, checkpoints. Backend-agnostic: Backend + ops only.
export type { Counter, Layer, Parameter, TensorBuffer } from './layer.js';
export { BatchNorm3d, type BatchNorm3dOptions } from './layers/batch-norm3d.js';
export { Conv3d, type Conv3dOptions } from './layers/conv3d.js';
export { ConvTranspose3d, type ConvTranspose3dOptions } from './layers/conv-transpose3d.js';
export { Dropout3d, type Dropout3dOptions } from './layers/dropout3d.js';
export { InstanceNorm3d, type InstanceNorm3dOptions } from './layers/instance-norm3d.js';
export { ReLU } from './layers/relu.js';
export { Sequential } from './layers/sequential.js';
export { fanIn, fnv1a, tensorSeed, uniformValues } from './init.js';
export { viewAs } from './view.js';
export { VNet, type StateEntry, type VNetOptions } from './vnet.js';
export { DEFAULT_VNET_CONFIG, type BlockSpec, type Normalization, type VNetConfig, resolveVNetConfig, vnetBlocks } from './vnet-config.js';
export { mixedLoss, supervisedLoss, type MixedTargets } from './loss.js';
export { Sgd, type SgdOptions } from './sgd.js';
export { memoryPlan, type MemoryPlan } from './memory-plan.js';
export * from './checkpoint/safetensors.js';
export * from './checkpoint/vnet-checkpoint.js';
