import type { Backend } from '../backend/backend.js';
import type { Layer } from './layer.js';
import { BatchNorm3d } from './layers/batch-norm3d.js';
import { Conv3d } from './layers/conv3d.js';
import { ConvTranspose3d } from './layers/conv-transpose3d.js';
import { InstanceNorm3d } from './layers/instance-norm3d.js';
import { ReLU } from './layers/relu.js';
import { Sequential } from './layers/sequential.js';
import type { BlockSpec, Normalization } from './vnet-config.js';

function normLayer(backend: Backend, normalization: Normalization, name: string, channels: number): Layer | null {
  if (normalization === 'batch') return new BatchNorm3d(backend, { name, channels });
  if (normalization === 'instance') return new InstanceNorm3d(backend, { name });
  return null;
}

/**
 * ConvBlock, DownsamplingConvBlock or UpsamplingDeconvBlock of the UA-MT / BCP code: a `conv` Sequential
 * of (conv, norm, ReLU) stages. Indices follow PyTorch's Sequential, which numbers every module, so a
 * stage steps the index by 3 with a norm and by 2 without (ReLU has no state but takes an index).
 */
export function buildBlock(backend: Backend, spec: BlockSpec, normalization: Normalization, seed: number, inputGrad: boolean): Sequential {
  const layers: Layer[] = [];
  const at = (): string => `${spec.name}.conv.${layers.length}`;
  for (let stage = 0; stage < spec.convs; stage++) {
    const inChannels = stage === 0 ? spec.inChannels : spec.outChannels;
    const common = { inChannels, outChannels: spec.outChannels, seed };
    if (spec.kind === 'conv') {
      layers.push(new Conv3d(backend, { ...common, name: at(), kernel: 3, padding: 1, inputGrad: inputGrad || stage > 0 }));
    } else if (spec.kind === 'down') {
      layers.push(new Conv3d(backend, { ...common, name: at(), kernel: 2, stride: 2, inputGrad }));
    } else {
      layers.push(new ConvTranspose3d(backend, { ...common, name: at(), kernel: 2, stride: 2 }));
    }
    const norm = normLayer(backend, normalization, at(), spec.outChannels);
    if (norm !== null) layers.push(norm);
    layers.push(new ReLU(backend, at()));
  }
  return new Sequential(backend, layers);
}
