import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import { shapeString } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { add, mix32 } from '../ops/index.js';
import type { Counter, Layer, Parameter, TensorBuffer } from './layer.js';
import { BatchNorm3d } from './layers/batch-norm3d.js';
import { Conv3d } from './layers/conv3d.js';
import { Dropout3d } from './layers/dropout3d.js';
import type { Sequential } from './layers/sequential.js';
import { buildBlock } from './vnet-blocks.js';
import { DROPOUT_P, VNET_SIZE_MULTIPLE, type VNetConfig, resolveVNetConfig, vnetBlocks } from './vnet-config.js';

export interface VNetOptions {
  /** Seed of the initial weights and of the dropout mask streams. Default 0. */
  readonly seed?: number;
}

/** One entry of the state_dict, in PyTorch's order. */
export type StateEntry =
  | { readonly kind: 'parameter'; readonly name: string; readonly parameter: Parameter }
  | { readonly kind: 'buffer'; readonly name: string; readonly buffer: TensorBuffer }
  | { readonly kind: 'counter'; readonly name: string; readonly counter: Counter };

/**
 * The V-Net of UA-MT / BCP (METHOD.md "Networks"), forward and backward written out like its PyTorch
 * forward: encoder x1..x5 with Dropout3d on x5, decoder with additive skips after each up-sampling
 * (x5_up = block_five_up(x5) + x4, ...), Dropout3d on x9, then out_conv (1x1x1) to logits.
 * Ownership as for layers (layer.ts): the caller owns the input and the logits; in training mode the
 * network keeps every intermediate until `backward` (or the next forward) and frees them then.
 */
export class VNet {
  readonly config: VNetConfig;
  readonly blocks: ReadonlyMap<string, Sequential>;
  readonly outConv: Conv3d;
  readonly encoderDropout: Dropout3d;
  readonly decoderDropout: Dropout3d;
  private readonly backend: Backend;
  private training = true;
  private dropoutInTraining = true;
  /** Whether the cached training forward applied dropout (its backward must too). */
  private forwardDropout = false;
  private retained: Tensor[] = [];
  private cachedForward = false;

  constructor(backend: Backend, config: Partial<VNetConfig> = {}, options: VNetOptions = {}) {
    this.backend = backend;
    this.config = resolveVNetConfig(config);
    const seed = (options.seed ?? 0) >>> 0;
    const blocks = new Map<string, Sequential>();
    for (const spec of vnetBlocks(this.config)) {
      // Nobody needs the gradient of the input image: block_one's first conv skips it.
      blocks.set(spec.name, buildBlock(backend, spec, this.config.normalization, seed, spec.name !== 'encoder.block_one'));
    }
    this.blocks = blocks;
    this.outConv = new Conv3d(backend, {
      name: 'decoder.out_conv',
      inChannels: this.config.nFilters,
      outChannels: this.config.nClasses,
      kernel: 1,
      seed,
    });
    this.encoderDropout = new Dropout3d(backend, { name: 'encoder.dropout', p: DROPOUT_P, seed: mix32(seed ^ 0x5eed0001) });
    this.decoderDropout = new Dropout3d(backend, { name: 'decoder.dropout', p: DROPOUT_P, seed: mix32(seed ^ 0x5eed0002) });
  }

  private block(name: string): Sequential {
    return this.blocks.get(name) as Sequential;
  }

  /** Every layer that holds state, in state_dict order. */
  private leafLayers(): Layer[] {
    return [...[...this.blocks.values()].flatMap((b) => b.layers), this.outConv];
  }

  get isTraining(): boolean {
    return this.training;
  }

  /**
   * Training mode. `dropout: false` keeps the two Dropout3d layers the identity while batch norm trains
   * (batch-norm re-estimation wants the statistics inference will see, which has no dropout).
   */
  train(options: { readonly dropout?: boolean } = {}): void {
    this.setTraining(true);
    this.dropoutInTraining = options.dropout ?? true;
  }

  eval(): void {
    this.setTraining(false);
  }

  private setTraining(training: boolean): void {
    this.releaseCache();
    this.training = training;
    for (const l of [...this.blocks.values(), this.outConv, this.encoderDropout, this.decoderDropout]) l.setTraining(training);
  }

  private expectInput(x: Tensor): void {
    const spatial = x.shape.slice(2);
    if (x.shape.length !== 5 || x.shape[1] !== this.config.inChannels || spatial.some((s) => s % VNET_SIZE_MULTIPLE !== 0)) {
      throw new SdsError(
        'E_SHAPE_MISMATCH',
        `VNet: expected input [N, ${this.config.inChannels}, D, H, W] with D, H, W multiples of ${VNET_SIZE_MULTIPLE}, found ${shapeString(x.shape)}`,
      );
    }
  }

  /** Logits [N, nClasses, D, H, W]; the caller owns them. */
  forward(x: Tensor): Tensor {
    this.expectInput(x);
    this.releaseCache();
    // Training keeps each intermediate for backward; eval frees it as soon as its last reader ran.
    const done = (...ts: Tensor[]): void => {
      if (this.training) this.retained.push(...ts);
      else for (const t of ts) this.backend.dispose(t);
    };
    const dropout = this.training && this.config.dropout && this.dropoutInTraining;
    this.forwardDropout = dropout;
    const b = (name: string, input: Tensor): Tensor => this.block(name).forward(input);

    const x1 = b('encoder.block_one', x);
    const x1dw = b('encoder.block_one_dw', x1);
    const x2 = b('encoder.block_two', x1dw);
    const x2dw = b('encoder.block_two_dw', x2);
    const x3 = b('encoder.block_three', x2dw);
    const x3dw = b('encoder.block_three_dw', x3);
    const x4 = b('encoder.block_four', x3dw);
    const x4dw = b('encoder.block_four_dw', x4);
    done(x1dw, x2dw, x3dw);
    const x5raw = b('encoder.block_five', x4dw);
    done(x4dw);
    const x5 = dropout ? this.encoderDropout.forward(x5raw) : x5raw;
    if (dropout) done(x5raw);

    const skip = (upName: string, from: Tensor, bypass: Tensor): Tensor => {
      const up = b(upName, from);
      const sum = add(this.backend, up, bypass);
      done(from, up, bypass);
      return sum;
    };
    const x5up = skip('decoder.block_five_up', x5, x4);
    const x6 = b('decoder.block_six', x5up);
    done(x5up);
    const x6up = skip('decoder.block_six_up', x6, x3);
    const x7 = b('decoder.block_seven', x6up);
    done(x6up);
    const x7up = skip('decoder.block_seven_up', x7, x2);
    const x8 = b('decoder.block_eight', x7up);
    done(x7up);
    const x8up = skip('decoder.block_eight_up', x8, x1);
    const x9raw = b('decoder.block_nine', x8up);
    done(x8up);
    const x9 = dropout ? this.decoderDropout.forward(x9raw) : x9raw;
    if (dropout) done(x9raw);
    const logits = this.outConv.forward(x9);
    done(x9);
    this.cachedForward = this.training;
    return logits;
  }

  /**
   * Back-propagates d loss / d logits through the last training forward, setting every parameter's
   * `grad`. The skip connections fan a tensor out twice, so their gradients add.
   */
  backward(dLogits: Tensor): void {
    if (!this.cachedForward) throw new SdsError('E_INVALID_ARGUMENT', 'VNet: backward needs a training-mode forward first');
    const be = this.backend;
    const dropout = this.forwardDropout;
    const back = (layer: Layer, dy: Tensor, disposeDy = true): Tensor => {
      const dx = layer.backward(dy) as Tensor;
      if (disposeDy) be.dispose(dy);
      return dx;
    };
    let g = back(this.outConv, dLogits, false);
    if (dropout) g = back(this.decoderDropout, g);
    const dx8up = back(this.block('decoder.block_nine'), g);
    const dx7up = back(this.block('decoder.block_eight'), back(this.block('decoder.block_eight_up'), dx8up, false));
    const dx6up = back(this.block('decoder.block_seven'), back(this.block('decoder.block_seven_up'), dx7up, false));
    const dx5up = back(this.block('decoder.block_six'), back(this.block('decoder.block_six_up'), dx6up, false));
    g = back(this.block('decoder.block_five_up'), dx5up, false);
    if (dropout) g = back(this.encoderDropout, g);
    // Encoder, bottom up: each x_k feeds its down-sampling block and a decoder skip.
    const withSkip = (dw: string, dy: Tensor, skipGrad: Tensor): Tensor => {
      const fromDown = back(this.block(dw), dy);
      const total = add(be, fromDown, skipGrad);
      be.dispose(fromDown);
      be.dispose(skipGrad);
      return total;
    };
    g = back(this.block('encoder.block_five'), g);
    g = back(this.block('encoder.block_four'), withSkip('encoder.block_four_dw', g, dx5up));
    g = back(this.block('encoder.block_three'), withSkip('encoder.block_three_dw', g, dx6up));
    g = back(this.block('encoder.block_two'), withSkip('encoder.block_two_dw', g, dx7up));
    const dx1 = withSkip('encoder.block_one_dw', g, dx8up);
    const none = this.block('encoder.block_one').backward(dx1);
    be.dispose(dx1);
    if (none !== null) be.dispose(none);
    this.releaseCache();
  }

  /** Drops a training forward's intermediates without running backward. */
  releaseCache(): void {
    for (const l of [...this.blocks.values(), this.outConv, this.encoderDropout, this.decoderDropout]) l.releaseCache();
    for (const t of this.retained) this.backend.dispose(t);
    this.retained = [];
    this.cachedForward = false;
  }

  /** The BatchNorm3d layers in state_dict order (none with instance norm). */
  batchNorms(): BatchNorm3d[] {
    return this.leafLayers().filter((l): l is BatchNorm3d => l instanceof BatchNorm3d);
  }

  parameters(): Parameter[] {
    return this.leafLayers().flatMap((l) => l.parameters());
  }

  /** PyTorch's state_dict order: per module, parameters then buffers (running stats, num_batches_tracked). */
  stateEntries(): StateEntry[] {
    return this.leafLayers().flatMap((l): StateEntry[] => [
      ...l.parameters().map((parameter) => ({ kind: 'parameter' as const, name: parameter.name, parameter })),
      ...l.buffers().map((buffer) => ({ kind: 'buffer' as const, name: buffer.name, buffer })),
      ...l.counters().map((counter) => ({ kind: 'counter' as const, name: counter.name, counter })),
    ]);
  }

  dispose(): void {
    this.releaseCache();
    for (const l of this.leafLayers()) l.dispose();
  }
}
