/**
 * V-Net -> ONNX (opset 17), eval mode: the graph of METHOD.md's V-Net as onnxruntime and PyTorch
 * users know it. Input `image` [N, inChannels, D, H, W] and output `logits` [N, nClasses, D, H, W] with
 * N, D, H, W symbolic (dim_param), so one session runs any window size that divides by 16.
 *
 * - BatchNorm: folded into the convolution before it (default; w' = w * s, b' = (b - mean) * s + beta
 *   with s = gamma / sqrt(var + eps), in float64), or kept as BatchNormalization nodes.
 * - InstanceNorm (affine = false): InstanceNormalization with scale 1 and bias 0.
 * - Dropout is a training-mode op: eval mode has none, so the graph has none.
 * - Up-sampling: ConvTranspose (kernel 2, stride 2), or for 'webgpu-compatible' the same map as a 1x1x1
 *   Conv to 8 * Cout channels followed by a pixel shuffle (Reshape / Transpose / Reshape), because ORT
 *   Web's WebGPU provider rejects 3-D ConvTranspose (onnxruntime issue 28356).
 *
 * Initializers carry the PyTorch state_dict names of the weights they hold (folded values when folded),
 * so a model is readable next to a checkpoint.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { VNet } from '../nn/vnet.js';
import { type BlockSpec, type VNetConfig, vnetBlocks } from '../nn/vnet-config.js';
import { FLOAT, INT64, IR_VERSION, OPSET, type NodeProto, type TensorProto, onnx } from './proto.js';

/** How the V-Net is written (the API's exportOnnx options have this shape; onnx/ is below api/). */
export interface ExportOnnxOptions {
  /** 'transpose' (ConvTranspose nodes, default) or 'webgpu-compatible' (up-convolutions in a form ORT WebGPU runs). */
  readonly upsampling?: 'transpose' | 'webgpu-compatible';
  /** Fold BatchNorm into the preceding convolutions. Default true. */
  readonly foldBatchNorm?: boolean;
}

/** PyTorch's BatchNorm3d eps, which sds-web's BatchNorm3d uses too. */
export const BN_EPS = 1e-5;

type Weights = ReadonlyMap<string, Float32Array>;

/** Reads every parameter and running statistic of the network back from the device. */
async function readWeights(backend: Backend, net: VNet): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const e of net.stateEntries()) {
    if (e.kind === 'counter') continue;
    const t = e.kind === 'parameter' ? e.parameter.value : e.buffer.value;
    out.set(e.name, (await backend.read(t)) as Float32Array);
  }
  return out;
}

/** Accumulates nodes and initializers, naming intermediate values uniquely. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  value(hint: string): string {
    return `${hint}:${this.counter++}`;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dataType: FLOAT, dims, rawData: bytesOf(data) });
    return name;
  }

  int64s(name: string, data: number[]): string {
    const v = BigInt64Array.from(data.map((x) => BigInt(x)));
    this.initializers.push({ name, dataType: INT64, dims: [data.length], rawData: bytesOf(v) });
    return name;
  }

  node(opType: string, inputs: string[], hint: string, attributes: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? this.value(hint);
    const attribute = Object.entries(attributes).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
        : Number.isInteger(v) && name !== 'epsilon'
          ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
    );
    this.nodes.push({ opType, input: inputs, output: [out], name: `${opType}:${hint}`, attribute });
    return out;
  }
}

// ONNX raw_data is little-endian; every platform sds-web runs on is little-endian too.
function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

/** Per output channel: scale s = gamma / sqrt(var + eps) and shift t = beta - mean * s. */
function bnAffine(w: Weights, norm: string): { scale: Float64Array; shift: Float64Array } {
  const gamma = need(w, `${norm}.weight`);
  const beta = need(w, `${norm}.bias`);
  const mean = need(w, `${norm}.running_mean`);
  const variance = need(w, `${norm}.running_var`);
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + BN_EPS));
  const shift = Float64Array.from(beta, (b, c) => b - mean[c] * scale[c]);
  return { scale, shift };
}

function need(w: Weights, name: string): Float32Array {
  const v = w.get(name);
  if (v === undefined) throw new SdsError('E_ONNX', `exportOnnx: the network has no tensor "${name}"`);
  return v;
}

/**
 * Folds y = s * (conv(x) + b) + t into the conv: per output channel c, the weights scale by s[c] and the
 * bias becomes s[c] * b[c] + t[c]. `outAxisStride` says where channel c lives in the weight array
 * (Conv [Cout, Cin, k^3]: outer; ConvTranspose [Cin, Cout, k^3]: middle).
 */
function foldInto(
  weight: Float32Array,
  bias: Float32Array,
  bn: { scale: Float64Array; shift: Float64Array },
  transposed: boolean,
  inChannels: number,
): { weight: Float32Array; bias: Float32Array } {
  const cout = bias.length;
  const k3 = weight.length / (cout * inChannels);
  const w = new Float32Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    const c = transposed ? Math.floor(i / k3) % cout : Math.floor(i / (inChannels * k3));
    w[i] = weight[i] * bn.scale[c];
  }
  const b = Float32Array.from(bias, (v, c) => v * bn.scale[c] + bn.shift[c]);
  return { weight: w, bias: b };
}

/**
 * ConvTranspose(kernel 2, stride 2) as Conv 1x1x1 + pixel shuffle: y[n, co, 2d+a, 2h+b, 2w+c] =
 * bias[co] + sum_ci x[n, ci, d, h, w] * W[ci, co, a, b, c], i.e. a 1x1x1 conv to channels (co, a, b, c)
 * whose result is rearranged [N, Cout, 2, 2, 2, D, H, W] -> [N, Cout, D, 2, H, 2, W, 2] -> [N, Cout, 2D, 2H, 2W].
 * The reshape targets are computed from the input's shape, so N, D, H, W stay dynamic.
 */
function pixelShuffleUp(g: GraphBuilder, x: string, name: string, weight: Float32Array, bias: Float32Array, cin: number): string {
  const cout = bias.length;
  const w = new Float32Array(weight.length);
  for (let ci = 0; ci < cin; ci++)
    for (let co = 0; co < cout; co++) for (let k = 0; k < 8; k++) w[(co * 8 + k) * cin + ci] = weight[(ci * cout + co) * 8 + k];
  const b = Float32Array.from({ length: cout * 8 }, (_, i) => bias[Math.floor(i / 8)]);
  const z = g.node('Conv', [x, g.floats(`${name}.weight`, [cout * 8, cin, 1, 1, 1], w), g.floats(`${name}.bias`, [cout * 8], b)], name, {
    kernel_shape: [1, 1, 1],
  });
  const n = g.node('Shape', [x], `${name}.n`, { start: 0, end: 1 });
  const dhw = g.node('Shape', [x], `${name}.dhw`, { start: 2, end: 5 });
  const split = g.node('Concat', [n, g.int64s(`${name}.split_dims`, [cout, 2, 2, 2]), dhw], `${name}.split_shape`, { axis: 0 });
  const doubled = g.node('Mul', [dhw, g.int64s(`${name}.two`, [2])], `${name}.dhw2`);
  const merged = g.node('Concat', [n, g.int64s(`${name}.cout`, [cout]), doubled], `${name}.merged_shape`, { axis: 0 });
  const r = g.node('Reshape', [z, split], `${name}.split`);
  const t = g.node('Transpose', [r], `${name}.shuffle`, { perm: [0, 1, 5, 2, 6, 3, 7, 4] });
  return g.node('Reshape', [t, merged], `${name}.merged`);
}

/** One conv -> norm -> ReLU stage; returns the output value's name. */
function stage(
  g: GraphBuilder,
  w: Weights,
  config: VNetConfig,
  spec: BlockSpec,
  index: number,
  x: string,
  o: Required<ExportOnnxOptions>,
): string {
  const prefix = `${spec.name}.conv.${index}`;
  const cin = index === 0 ? spec.inChannels : spec.outChannels;
  const norm = config.normalization === 'none' ? null : `${spec.name}.conv.${index + 1}`;
  let weight = need(w, `${prefix}.weight`);
  let bias = need(w, `${prefix}.bias`);
  const transposed = spec.kind === 'up';
  const fold = config.normalization === 'batch' && o.foldBatchNorm;
  if (fold) ({ weight, bias } = foldInto(weight, bias, bnAffine(w, norm!), transposed, cin));
  let y: string;
  if (transposed && o.upsampling === 'webgpu-compatible') {
    y = pixelShuffleUp(g, x, prefix, weight, bias, cin);
  } else {
    const k = spec.kind === 'conv' ? 3 : 2;
    const attrs: Record<string, number[]> =
      spec.kind === 'conv' ? { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] } : { kernel_shape: [2, 2, 2], strides: [2, 2, 2] };
    const wDims = transposed ? [cin, spec.outChannels, k, k, k] : [spec.outChannels, cin, k, k, k];
    const inputs = [x, g.floats(`${prefix}.weight`, wDims, weight), g.floats(`${prefix}.bias`, [spec.outChannels], bias)];
    y = g.node(transposed ? 'ConvTranspose' : 'Conv', inputs, prefix, attrs);
  }
  if (config.normalization === 'batch' && !fold) {
    const p = (s: string): string => g.floats(`${norm}.${s}`, [spec.outChannels], need(w, `${norm}.${s}`));
    y = g.node('BatchNormalization', [y, p('weight'), p('bias'), p('running_mean'), p('running_var')], norm!, { epsilon: BN_EPS });
  } else if (config.normalization === 'instance') {
    const ones = g.floats(`${norm}.scale`, [spec.outChannels], new Float32Array(spec.outChannels).fill(1));
    const zeros = g.floats(`${norm}.shift`, [spec.outChannels], new Float32Array(spec.outChannels));
    y = g.node('InstanceNormalization', [y, ones, zeros], norm!, { epsilon: BN_EPS });
  }
  return g.node('Relu', [y], `${spec.name}.relu${index}`);
}

function block(g: GraphBuilder, w: Weights, config: VNetConfig, spec: BlockSpec, x: string, o: Required<ExportOnnxOptions>): string {
  // PyTorch's Sequential numbers every module: a stage is conv, norm, ReLU (3 indices) or conv, ReLU (2).
  const step = config.normalization === 'none' ? 2 : 3;
  let y = x;
  for (let s = 0; s < spec.convs; s++) y = stage(g, w, config, spec, s * step, y, o);
  return y;
}

/** Builds the ModelProto bytes from host weights (state_dict names) and the config. */
export function vnetOnnxBytes(config: VNetConfig, weights: Weights, options: ExportOnnxOptions = {}): Uint8Array {
  const o: Required<ExportOnnxOptions> = { upsampling: options.upsampling ?? 'transpose', foldBatchNorm: options.foldBatchNorm ?? true };
  if (o.upsampling !== 'transpose' && o.upsampling !== 'webgpu-compatible') {
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `exportOnnx: upsampling: expected 'transpose' or 'webgpu-compatible', found ${JSON.stringify(o.upsampling)}`,
    );
  }
  const g = new GraphBuilder();
  const specs = new Map(vnetBlocks(config).map((s) => [s.name.split('.')[1], s]));
  const run = (name: string, x: string): string => block(g, weights, config, specs.get(name)!, x, o);
  const add = (a: string, b: string, hint: string): string => g.node('Add', [a, b], hint);
  const x1 = run('block_one', 'image');
  const x2 = run('block_two', run('block_one_dw', x1));
  const x3 = run('block_three', run('block_two_dw', x2));
  const x4 = run('block_four', run('block_three_dw', x3));
  const x5 = run('block_five', run('block_four_dw', x4));
  const x6 = run('block_six', add(run('block_five_up', x5), x4, 'skip4'));
  const x7 = run('block_seven', add(run('block_six_up', x6), x3, 'skip3'));
  const x8 = run('block_eight', add(run('block_seven_up', x7), x2, 'skip2'));
  const x9 = run('block_nine', add(run('block_eight_up', x8), x1, 'skip1'));
  const f = config.nFilters;
  const outW = g.floats('decoder.out_conv.weight', [config.nClasses, f, 1, 1, 1], need(weights, 'decoder.out_conv.weight'));
  const outB = g.floats('decoder.out_conv.bias', [config.nClasses], need(weights, 'decoder.out_conv.bias'));
  g.node('Conv', [x9, outW, outB], 'decoder.out_conv', { kernel_shape: [1, 1, 1] }, 'logits');

  const io = (name: string, channels: number) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [{ dimParam: 'N' }, { dimValue: channels }, { dimParam: 'D' }, { dimParam: 'H' }, { dimParam: 'W' }] },
      },
    },
  });
  const model = onnx.ModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'sds-web',
    docString: `V-Net ${JSON.stringify(config)}, eval mode, BatchNorm ${o.foldBatchNorm ? 'folded' : 'kept'}, up-sampling ${o.upsampling}; D, H, W multiples of 16`,
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: [
      { key: 'sds.config', value: JSON.stringify(config) },
      { key: 'sds.upsampling', value: o.upsampling },
    ],
    graph: {
      name: 'vnet',
      node: g.nodes,
      initializer: g.initializers,
      input: [io('image', config.inChannels)],
      output: [io('logits', config.nClasses)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The network's eval-mode graph as ONNX bytes (the network's own mode is not touched). */
export async function exportVNetOnnx(backend: Backend, net: VNet, options: ExportOnnxOptions = {}): Promise<Uint8Array> {
  return vnetOnnxBytes(net.config, await readWeights(backend, net), options);
}
