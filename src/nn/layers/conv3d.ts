import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import type { Vec3 } from '../../core/shape.js';
import { channelSum, conv3d, conv3dBackwardData, conv3dBackwardFilter, spatialOf } from '../../ops/index.js';
import type { Conv3dParams } from '../../contract/params.js';
import { fanIn, uniformTensor } from '../init.js';
import type { Layer, Parameter } from '../layer.js';
import { LayerBase } from './base.js';

export interface Conv3dOptions {
  /** state_dict prefix, e.g. 'encoder.block_one.conv.0'. */
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Cubic kernel size, stride and padding (all the V-Net needs). */
  readonly kernel: number;
  readonly stride?: number;
  readonly padding?: number;
  /** Compute d loss / d input in backward (false for the first layer of a network). Default true. */
  readonly inputGrad?: boolean;
  /** Seed of the PyTorch-default initialisation (see init.ts). */
  readonly seed: number;
}

const cube = (v: number): Vec3 => [v, v, v];

/** torch.nn.Conv3d with bias. */
export class Conv3d extends LayerBase implements Layer {
  readonly keepsInput = true;
  readonly keepsOutput = false;
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly geometry: Conv3dParams;
  private readonly kernel: Vec3;
  private readonly inputGrad: boolean;
  private cachedInput: Tensor | null = null;

  constructor(backend: Backend, o: Conv3dOptions) {
    super(backend, o.name);
    this.kernel = cube(o.kernel);
    this.geometry = { stride: cube(o.stride ?? 1), padding: cube(o.padding ?? 0), dilation: cube(1) };
    this.inputGrad = o.inputGrad ?? true;
    const shape = [o.outChannels, o.inChannels, ...this.kernel];
    const bound = 1 / Math.sqrt(fanIn(shape));
    this.weight = this.addParameter('weight', uniformTensor(backend, o.seed, `${o.name}.weight`, shape, bound));
    this.bias = this.addParameter('bias', uniformTensor(backend, o.seed, `${o.name}.bias`, [o.outChannels], bound));
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    if (this.training) this.cachedInput = x;
    return conv3d(this.backend, x, this.weight.value, this.bias.value, this.geometry);
  }

  backward(dy: Tensor): Tensor | null {
    const x = this.expectCache(this.cachedInput);
    this.setGrad(this.weight, conv3dBackwardFilter(this.backend, x, dy, { ...this.geometry, kernel: this.kernel }));
    this.setGrad(this.bias, channelSum(this.backend, dy));
    const dx = this.inputGrad
      ? conv3dBackwardData(this.backend, dy, this.weight.value, { ...this.geometry, inputSpatial: spatialOf(x.shape) })
      : null;
    this.releaseCache();
    return dx;
  }

  releaseCache(): void {
    this.cachedInput = null;
  }
}
