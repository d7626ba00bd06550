import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import type { Vec3 } from '../../core/shape.js';
import { addChannelBias, channelSum, conv3d, conv3dBackwardData, conv3dBackwardFilter, spatialOf } from '../../ops/index.js';
import type { Conv3dParams } from '../../contract/params.js';
import { fanIn, uniformTensor } from '../init.js';
import type { Layer, Parameter } from '../layer.js';
import { LayerBase } from './base.js';

export interface ConvTranspose3dOptions {
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride?: number;
  readonly padding?: number;
  readonly seed: number;
}

const cube = (v: number): Vec3 => [v, v, v];

/**
 * torch.nn.ConvTranspose3d (no output_padding), weight [Cin, Cout, k, k, k] as PyTorch stores it.
 *
 * A transposed convolution is the input-gradient of the convolution whose weight is the same array
 * read as [Co, Ci, k...] = [Cin, Cout, k...]: forward(x) = conv3dBackwardData(x, w) + bias, with the
 * "conv input" being our output. Its backward therefore swaps roles with that convolution:
 * dx = conv3d(dy, w) (the conv's forward), dw = conv3dBackwardFilter(dy, x) (our output gradient plays
 * the conv's input, our input plays the conv's output gradient), db = channelSum(dy).
 */
export class ConvTranspose3d extends LayerBase implements Layer {
  readonly keepsInput = true;
  readonly keepsOutput = false;
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly geometry: Conv3dParams;
  private readonly kernel: Vec3;
  private cachedInput: Tensor | null = null;

  constructor(backend: Backend, o: ConvTranspose3dOptions) {
    super(backend, o.name);
    this.kernel = cube(o.kernel);
    this.geometry = { stride: cube(o.stride ?? 1), padding: cube(o.padding ?? 0), dilation: cube(1) };
    const shape = [o.inChannels, o.outChannels, ...this.kernel];
    // PyTorch takes fan_in from weight dim 1, which for a transposed conv is Cout: bound 1/sqrt(Cout k^3).
    const bound = 1 / Math.sqrt(fanIn(shape));
    this.weight = this.addParameter('weight', uniformTensor(backend, o.seed, `${o.name}.weight`, shape, bound));
    this.bias = this.addParameter('bias', uniformTensor(backend, o.seed, `${o.name}.bias`, [o.outChannels], bound));
  }

  /** out = (in - 1) * stride - 2 * padding + kernel per axis (dilation 1, no output_padding). */
  outputSpatial(inputSpatial: Vec3): Vec3 {
    const s = this.geometry.stride;
    const p = this.geometry.padding;
    const k = this.kernel;
    return [0, 1, 2].map((a) => (inputSpatial[a] - 1) * s[a] - 2 * p[a] + k[a]) as unknown as Vec3;
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    if (this.training) this.cachedInput = x;
    const inputSpatial = this.outputSpatial(spatialOf(x.shape));
    const noBias = conv3dBackwardData(this.backend, x, this.weight.value, { ...this.geometry, inputSpatial });
    const y = addChannelBias(this.backend, noBias, this.bias.value);
    this.backend.dispose(noBias);
    return y;
  }

  backward(dy: Tensor): Tensor {
    const x = this.expectCache(this.cachedInput);
    this.setGrad(this.weight, conv3dBackwardFilter(this.backend, dy, x, { ...this.geometry, kernel: this.kernel }));
    this.setGrad(this.bias, channelSum(this.backend, dy));
    const dx = conv3d(this.backend, dy, this.weight.value, null, this.geometry);
    this.releaseCache();
    return dx;
  }

  releaseCache(): void {
    this.cachedInput = null;
  }
}
