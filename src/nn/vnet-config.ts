import { SdsError } from '../core/errors.js';

export type Normalization = 'batch' | 'instance' | 'none';

/** The UA-MT / BCP V-Net's constructor arguments (n_channels, n_classes, n_filters, normalization, has_dropout). */
export interface VNetConfig {
  readonly inChannels: number;
  readonly nClasses: number;
  readonly nFilters: number;
  readonly normalization: Normalization;
  /** Dropout3d(p = 0.5) on the bottleneck output and on the last decoder features, in training mode. */
  readonly dropout: boolean;
}

export const DEFAULT_VNET_CONFIG: VNetConfig = Object.freeze({
  inChannels: 1,
  nClasses: 2,
  nFilters: 16,
  normalization: 'batch',
  dropout: true,
});

/** Four stride-2 down-samplings: every spatial size of the input must divide by 16. */
export const VNET_SIZE_MULTIPLE = 16;

export const DROPOUT_P = 0.5;

function expectCount(what: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
    throw new SdsError('E_INVALID_ARGUMENT', `VNet config: ${what}: expected an integer >= 1, found ${JSON.stringify(v)}`);
  }
}

/** Fills defaults and rejects what the network cannot be built with. */
export function resolveVNetConfig(partial: Partial<VNetConfig> = {}): VNetConfig {
  const c = { ...DEFAULT_VNET_CONFIG, ...partial };
  expectCount('inChannels', c.inChannels);
  expectCount('nFilters', c.nFilters);
  if (!(Number.isInteger(c.nClasses) && c.nClasses >= 2 && c.nClasses <= 255)) {
    // Label maps are uint8 and softmax needs two classes at least.
    throw new SdsError('E_INVALID_ARGUMENT', `VNet config: nClasses: expected an integer in [2, 255], found ${JSON.stringify(c.nClasses)}`);
  }
  if (!['batch', 'instance', 'none'].includes(c.normalization)) {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `VNet config: normalization: expected 'batch', 'instance' or 'none', found ${JSON.stringify(c.normalization)}`,
    );
  }
  if (typeof c.dropout !== 'boolean')
    throw new SdsError('E_INVALID_ARGUMENT', `VNet config: dropout: expected a boolean, found ${JSON.stringify(c.dropout)}`);
  return Object.freeze(c);
}

export type BlockKind = 'conv' | 'down' | 'up';

/** One block of the network: its state_dict prefix, kind, conv count and channels. */
export interface BlockSpec {
  readonly name: string;
  readonly kind: BlockKind;
  /** Number of conv -> norm -> ReLU stages (1 for down/up blocks). */
  readonly convs: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Resolution level of the block's output: spatial size / 2^level. */
  readonly level: number;
}

/**
 * The blocks in PyTorch's registration order (which is also the state_dict order): the encoder's
 * stage conv counts 1, 2, 3, 3, 3 with channels f, 2f, 4f, 8f, 16f, the decoder's 3, 3, 2, 1.
 * Both the VNet and memoryPlan read this one table.
 */
export function vnetBlocks(config: VNetConfig): BlockSpec[] {
  const f = config.nFilters;
  const b = (name: string, kind: BlockKind, convs: number, inChannels: number, outChannels: number, level: number): BlockSpec => ({
    name,
    kind,
    convs,
    inChannels,
    outChannels,
    level,
  });
  return [
    b('encoder.block_one', 'conv', 1, config.inChannels, f, 0),
    b('encoder.block_one_dw', 'down', 1, f, 2 * f, 1),
    b('encoder.block_two', 'conv', 2, 2 * f, 2 * f, 1),
    b('encoder.block_two_dw', 'down', 1, 2 * f, 4 * f, 2),
    b('encoder.block_three', 'conv', 3, 4 * f, 4 * f, 2),
    b('encoder.block_three_dw', 'down', 1, 4 * f, 8 * f, 3),
    b('encoder.block_four', 'conv', 3, 8 * f, 8 * f, 3),
    b('encoder.block_four_dw', 'down', 1, 8 * f, 16 * f, 4),
    b('encoder.block_five', 'conv', 3, 16 * f, 16 * f, 4),
    b('decoder.block_five_up', 'up', 1, 16 * f, 8 * f, 3),
    b('decoder.block_six', 'conv', 3, 8 * f, 8 * f, 3),
    b('decoder.block_six_up', 'up', 1, 8 * f, 4 * f, 2),
    b('decoder.block_seven', 'conv', 3, 4 * f, 4 * f, 2),
    b('decoder.block_seven_up', 'up', 1, 4 * f, 2 * f, 1),
    b('decoder.block_eight', 'conv', 2, 2 * f, 2 * f, 1),
    b('decoder.block_eight_up', 'up', 1, 2 * f, f, 0),
    b('decoder.block_nine', 'conv', 1, f, f, 0),
  ];
}
