/**
 * ONNX -> sds-web V-Net checkpoint: reads a model that `torch.onnx.export` wrote for METHOD.md's V-Net
 * (or that exportVNetOnnx wrote) and returns a safetensors checkpoint with PyTorch's state_dict names
 * and the config in __metadata__, which loadVNet and createSegmenter().load accept.
 *
 * Why by graph structure and not by initializer names: in eval mode torch's exporter folds each
 * BatchNorm that follows a Conv into that Conv (w' = w * s, b' = (b - mean) * s + beta), and the folded
 * tensors get anonymous names ("onnx::Conv_299"). torch 1.13 does not fold after ConvTranspose, so the
 * up-sampling blocks keep BatchNormalization nodes. The V-Net's convolutions appear in the graph in
 * execution order, which is also state_dict order, so the k-th Conv / ConvTranspose node is the k-th
 * conv of `vnetBlocks` (then out_conv); shapes are checked against that table.
 *
 * A folded BatchNorm is loaded as the folded conv weights plus an identity BatchNorm: gamma 1, beta 0,
 * running_mean 0 and running_var 1 - eps, so that (x - 0) / sqrt(var + eps) * 1 + 0 = x exactly in
 * eval mode (with var 1 it would scale by 1 / sqrt(1 + 1e-5)). Eval-mode outputs then equal PyTorch's.
 * Fine-tuning starts from these statistics; the folded network is mathematically the same but its
 * BatchNorm forgets the original running statistics (ONNX does not carry them after folding).
 */
import { SdsError } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import { type SafetensorsArray, writeSafetensors } from '../nn/checkpoint/safetensors.js';
import { METADATA_CONFIG, METADATA_ITERATION } from '../nn/checkpoint/vnet-checkpoint.js';
import { type Normalization, type VNetConfig, resolveVNetConfig, vnetBlocks } from '../nn/vnet-config.js';
import { BN_EPS } from './export.js';
import { DOUBLE, FLOAT, type ModelProto, type NodeProto, type TensorProto, onnx, toNumber } from './proto.js';

export interface ImportOnnxOptions {
  /**
   * What a graph without any normalisation node is: 'batch' (default; torch folded every BatchNorm,
   * as it does for METHOD.md's V-Net when no up-sampling BatchNorm survives) or 'none'.
   */
  readonly unnormalized?: 'batch' | 'none';
}

interface HostTensor {
  readonly dims: number[];
  readonly data: Float32Array;
}

/** One convolution of the graph with the normalisation node that reads its output, if any. */
interface ConvNode {
  readonly node: NodeProto;
  readonly weight: HostTensor;
  readonly bias: Float32Array;
  readonly norm:
    | { kind: 'batch'; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; eps: number }
    | { kind: 'instance' }
    | null;
}

const fail = (message: string): SdsError => new SdsError('E_ONNX', `importOnnx: ${message}`);

/** A copy of the bytes in a fresh ArrayBuffer (protobufjs may hand out Node Buffers that share a pool). */
const ownBuffer = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;

function tensorValues(t: TensorProto): HostTensor {
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  const width = t.dataType === DOUBLE ? 8 : 4;
  if (t.rawData && t.rawData.length % width !== 0) {
    throw fail(`tensor "${t.name}": expected raw data in whole ${width}-byte values, found ${t.rawData.length} bytes`);
  }
  if (t.dataType === FLOAT) {
    if (t.rawData && t.rawData.length > 0) data = new Float32Array(ownBuffer(t.rawData));
    else data = Float32Array.from(t.floatData ?? []);
  } else if (t.dataType === DOUBLE) {
    data =
      t.rawData && t.rawData.length > 0 ? Float32Array.from(new Float64Array(ownBuffer(t.rawData))) : Float32Array.from(t.doubleData ?? []);
  } else {
    throw fail(`tensor "${t.name}": expected float32 or float64 data, found ONNX data type ${t.dataType}`);
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw fail(`tensor "${t.name}": external data files are not supported; export with the weights inside the .onnx`);
  if (data.length !== count) throw fail(`tensor "${t.name}": expected ${count} values for dims [${dims.join(', ')}], found ${data.length}`);
  return { dims, data };
}

/** Every constant value of the graph by name: initializers, Constant nodes, and Identity aliases. */
function constants(model: ModelProto): Map<string, TensorProto> {
  const values = new Map<string, TensorProto>();
  for (const t of model.graph?.initializer ?? []) values.set(t.name ?? '', t);
  for (const n of model.graph?.node ?? []) {
    const out = n.output?.[0];
    if (out === undefined) continue;
    if (n.opType === 'Constant') {
      const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (t) values.set(out, t);
    } else if (n.opType === 'Identity' && values.has(n.input?.[0] ?? '')) {
      values.set(out, values.get(n.input![0])!);
    }
  }
  return values;
}

function attrFloat(n: NodeProto, name: string, fallback: number): number {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a === undefined ? fallback : (a.f ?? fallback);
}

/** The geometry a V-Net convolution must have: sds-web's conv3d takes one padding per axis, both sides alike. */
interface ConvGeometry {
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
}

const CONV_ATTRIBUTES = new Set(['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
const CONV_TRANSPOSE_ATTRIBUTES = new Set([...CONV_ATTRIBUTES, 'output_padding', 'output_shape']);

/** An attribute of `node` that sds-web cannot represent: E_ONNX naming the node and the attribute. */
function refuse(node: NodeProto, what: string, attribute: string, message: string): SdsError {
  return new SdsError('E_ONNX', `importOnnx: ${node.opType} node "${node.name ?? ''}" (${what}): attribute ${attribute}: ${message}`, {
    node: node.name ?? '',
    attribute,
  });
}

/**
 * Reads every attribute of a Conv / ConvTranspose node and checks it against the geometry the V-Net
 * layer `what` has; anything else (another stride, dilation, groups, per-side pads, an unknown
 * attribute) would import silently wrong, so it is refused. auto_pad SAME_* is accepted where it comes
 * to the same symmetric padding; an odd total (one more voxel on one side) is not expressible in
 * sds-web's conv3d parameters and is refused.
 */
function checkConvAttributes(node: NodeProto, what: string, expected: ConvGeometry): void {
  const known = node.opType === 'ConvTranspose' ? CONV_TRANSPOSE_ATTRIBUTES : CONV_ATTRIBUTES;
  const attributes = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  for (const name of attributes.keys())
    if (!known.has(name)) throw refuse(node, what, name, `expected only ${[...known].join(', ')}, found this one too`);
  const ints = (name: string, fallback: number[]): number[] => {
    const a = attributes.get(name);
    return a === undefined ? fallback : (a.ints ?? []).map((v) => toNumber(v));
  };
  const expectInts = (name: string, found: number[], want: number[]): void => {
    if (found.join() !== want.join()) throw refuse(node, what, name, `expected [${want.join(', ')}], found [${found.join(', ')}]`);
  };
  const { kernel, stride, pad } = expected;
  const group = attributes.get('group');
  const groups = group === undefined ? 1 : toNumber(group.i ?? 1);
  if (groups !== 1) throw refuse(node, what, 'group', `expected 1 (sds-web convolutions are not grouped), found ${groups}`);
  expectInts('kernel_shape', ints('kernel_shape', [kernel, kernel, kernel]), [kernel, kernel, kernel]);
  expectInts('strides', ints('strides', [1, 1, 1]), [stride, stride, stride]);
  expectInts('dilations', ints('dilations', [1, 1, 1]), [1, 1, 1]);
  const autoPad = attributes.has('auto_pad') ? new TextDecoder().decode(attributes.get('auto_pad')!.s ?? new Uint8Array()) : 'NOTSET';
  if (autoPad === 'NOTSET') {
    const pads = ints('pads', [0, 0, 0, 0, 0, 0]);
    if (pads.length === 6 && pads.slice(0, 3).join() !== pads.slice(3).join())
      throw refuse(
        node,
        what,
        'pads',
        `expected the same padding at both ends of each axis, found [${pads.join(', ')}] (asymmetric padding is not supported)`,
      );
    expectInts('pads', pads, [pad, pad, pad, pad, pad, pad]);
  } else if (autoPad === 'VALID') {
    if (pad !== 0) throw refuse(node, what, 'auto_pad', `expected explicit pads [${pad}, ...], found VALID (no padding)`);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // SAME keeps ceil(size / stride) outputs. For stride 1 the total padding is kernel - 1; for kernel <= stride
    // on the V-Net's sizes (multiples of the stride) it is 0. Anything else depends on the input size.
    const total = stride === 1 ? kernel - 1 : kernel <= stride ? 0 : NaN;
    if (node.opType === 'ConvTranspose' || Number.isNaN(total))
      throw refuse(node, what, 'auto_pad', `expected NOTSET with explicit pads, found ${autoPad} (its padding depends on the input size)`);
    if (total % 2 !== 0)
      throw refuse(
        node,
        what,
        'auto_pad',
        `${autoPad} pads ${total} voxel(s) per axis, one more on one side: asymmetric padding is not supported (sds-web's conv3d pads both sides alike)`,
      );
    if (total / 2 !== pad) throw refuse(node, what, 'auto_pad', `expected padding ${pad} per side, found ${autoPad} (${total / 2})`);
  } else throw refuse(node, what, 'auto_pad', `expected NOTSET, VALID, SAME_UPPER or SAME_LOWER, found "${autoPad}"`);
  if (node.opType === 'ConvTranspose') {
    expectInts('output_padding', ints('output_padding', [0, 0, 0]), [0, 0, 0]);
    if (attributes.has('output_shape'))
      throw refuse(node, what, 'output_shape', 'expected none (the output size follows from stride and kernel), found one');
  }
}

function convNodes(model: ModelProto): ConvNode[] {
  const values = constants(model);
  const nodes = model.graph?.node ?? [];
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const get = (n: NodeProto, index: number, what: string): HostTensor => {
    const name = n.input?.[index];
    const t = name === undefined || name === '' ? undefined : values.get(name);
    if (t === undefined)
      throw fail(
        `${n.opType} node "${n.name ?? ''}": expected a constant ${what} (input ${index}), found ${name === undefined || name === '' ? 'none' : `the computed value "${name}"`}`,
      );
    return tensorValues(t);
  };
  const out: ConvNode[] = [];
  for (const n of nodes) {
    if (n.opType !== 'Conv' && n.opType !== 'ConvTranspose') continue;
    const weight = get(n, 0 + 1, 'weight');
    const cout = n.opType === 'Conv' ? weight.dims[0] : weight.dims[1];
    const bias = (n.input ?? []).length > 2 && n.input![2] !== '' ? get(n, 2, 'bias').data : new Float32Array(cout);
    const next = consumers.get(n.output?.[0] ?? '') ?? [];
    const normNode = next.length === 1 && ['BatchNormalization', 'InstanceNormalization'].includes(next[0].opType ?? '') ? next[0] : null;
    let norm: ConvNode['norm'] = null;
    if (normNode?.opType === 'BatchNormalization') {
      norm = {
        kind: 'batch',
        gamma: get(normNode, 1, 'scale').data,
        beta: get(normNode, 2, 'bias').data,
        mean: get(normNode, 3, 'mean').data,
        variance: get(normNode, 4, 'variance').data,
        eps: attrFloat(normNode, 'epsilon', 1e-5),
      };
    } else if (normNode?.opType === 'InstanceNormalization') {
      const scale = get(normNode, 1, 'scale').data;
      const shift = get(normNode, 2, 'bias').data;
      // The V-Net's InstanceNorm3d has affine = false (scale 1, bias 0) and sds-web's has no parameters.
      if (scale.some((v) => v !== 1) || shift.some((v) => v !== 0)) {
        throw fail(`InstanceNormalization "${normNode.name ?? ''}": expected scale 1 and bias 0 (affine = false), found learned values`);
      }
      const eps = attrFloat(normNode, 'epsilon', 1e-5);
      if (Math.abs(eps - BN_EPS) > 1e-9) throw fail(`InstanceNormalization "${normNode.name ?? ''}": expected epsilon 1e-5, found ${eps}`);
      norm = { kind: 'instance' };
    }
    out.push({ node: n, weight, bias, norm });
  }
  return out;
}

function decode(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) throw fail(`expected the bytes of an .onnx file (Uint8Array), found ${typeof bytes}`);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw fail(`expected an ONNX ModelProto, found bytes protobuf cannot decode (${(e as Error).message})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0)
    throw fail('expected an ONNX model with a graph, found none (not an .onnx file?)');
  return model;
}

/** Config from the shapes: in / f from the first conv, classes from the last, normalisation from the nodes. */
function inferConfig(convs: ConvNode[], options: ImportOnnxOptions): VNetConfig {
  const first = convs[0]?.weight.dims ?? [];
  const last = convs[convs.length - 1]?.weight.dims ?? [];
  if (convs.length === 0 || first.length !== 5 || last.length !== 5) {
    throw fail(
      `expected a V-Net (3-D Conv nodes with 5-D weights), found ${convs.length} Conv/ConvTranspose node(s)${convs.length > 0 ? ` with weight dims [${first.join(', ')}]` : ''}`,
    );
  }
  const kinds = new Set(convs.map((c) => c.norm?.kind ?? 'folded'));
  let normalization: Normalization;
  if (kinds.has('instance')) normalization = 'instance';
  else if (kinds.has('batch')) normalization = 'batch';
  else normalization = options.unnormalized ?? 'batch';
  try {
    return resolveVNetConfig({ inChannels: first[1], nFilters: first[0], nClasses: last[0], normalization });
  } catch (e) {
    throw fail(`the shapes give no valid V-Net config: ${(e as Error).message}`);
  }
}

/**
 * The checkpoint bytes for a torch.onnx.export-ed (or sds-web-exported) V-Net. Bad files throw
 * SdsError 'E_ONNX' saying what was expected and what was found.
 */
export function importVNetOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Uint8Array {
  try {
    return importChecked(bytes, options);
  } catch (e) {
    if (e instanceof SdsError) throw e;
    // Whatever a damaged file provokes below (absurd dims, odd attribute types) is still a bad file.
    throw fail(`expected a well-formed V-Net ONNX model, found one that fails to read (${(e as Error).message})`);
  }
}

function importChecked(bytes: Uint8Array, options: ImportOnnxOptions): Uint8Array {
  const model = decode(bytes);
  const convs = convNodes(model);
  const config = inferConfig(convs, options);
  const specs = vnetBlocks(config);
  const expected = specs.reduce((n, s) => n + s.convs, 0) + 1;
  if (convs.length !== expected) {
    throw fail(`expected ${expected} Conv/ConvTranspose nodes for a V-Net with nFilters ${config.nFilters}, found ${convs.length}`);
  }
  const tensors = new Map<string, { shape: Shape; data: SafetensorsArray }>();
  const put = (name: string, shape: Shape, data: SafetensorsArray): void => void tensors.set(name, { shape, data });
  const step = config.normalization === 'none' ? 2 : 3;
  let k = 0;
  for (const spec of specs) {
    for (let stage = 0; stage < spec.convs; stage++, k++) {
      const c = convs[k];
      const cin = stage === 0 ? spec.inChannels : spec.outChannels;
      const kernel = spec.kind === 'conv' ? 3 : 2;
      const op = spec.kind === 'up' ? 'ConvTranspose' : 'Conv';
      const dims = spec.kind === 'up' ? [cin, spec.outChannels, kernel, kernel, kernel] : [spec.outChannels, cin, kernel, kernel, kernel];
      const prefix = `${spec.name}.conv.${stage * step}`;
      if (c.node.opType === op)
        checkConvAttributes(c.node, prefix, { kernel, stride: spec.kind === 'conv' ? 1 : 2, pad: spec.kind === 'conv' ? 1 : 0 });
      if (c.node.opType !== op || c.weight.dims.join() !== dims.join()) {
        throw fail(
          `node ${k + 1} ("${c.node.name ?? ''}") should be ${prefix}: expected ${op} with weight [${dims.join(', ')}], found ${c.node.opType} with weight [${c.weight.dims.join(', ')}]`,
        );
      }
      put(`${prefix}.weight`, dims, c.weight.data);
      put(`${prefix}.bias`, [spec.outChannels], c.bias);
      if (config.normalization === 'batch') putBatchNorm(put, `${spec.name}.conv.${stage * step + 1}`, spec.outChannels, c.norm);
      else if ((c.norm?.kind ?? null) !== (config.normalization === 'instance' ? 'instance' : null)) {
        throw fail(
          `${prefix}: expected ${config.normalization === 'instance' ? 'InstanceNormalization' : 'no normalisation'} after it, found ${c.norm?.kind ?? 'none'}`,
        );
      }
    }
  }
  const out = convs[k];
  const outDims = [config.nClasses, config.nFilters, 1, 1, 1];
  if (out.node.opType === 'Conv') checkConvAttributes(out.node, 'decoder.out_conv', { kernel: 1, stride: 1, pad: 0 });
  if (out.node.opType !== 'Conv' || out.weight.dims.join() !== outDims.join() || out.norm !== null) {
    throw fail(
      `last node should be decoder.out_conv: expected Conv with weight [${outDims.join(', ')}], found ${out.node.opType} with weight [${out.weight.dims.join(', ')}]`,
    );
  }
  put('decoder.out_conv.weight', outDims, out.weight.data);
  put('decoder.out_conv.bias', [config.nClasses], out.bias);
  return writeSafetensors(tensors, {
    format: 'pt',
    [METADATA_CONFIG]: JSON.stringify(config),
    [METADATA_ITERATION]: '0',
    'sds.source': `onnx (${model.producerName ?? 'unknown producer'} ${model.producerVersion ?? ''})`.trim(),
  });
}

function putBatchNorm(
  put: (name: string, shape: Shape, data: SafetensorsArray) => void,
  name: string,
  channels: number,
  norm: ConvNode['norm'],
): void {
  if (norm?.kind === 'instance') throw fail(`${name}: expected BatchNormalization or a folded BatchNorm, found InstanceNormalization`);
  let gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array;
  if (norm === null) {
    // Folded by the exporter: identity statistics (see the file comment for var = 1 - eps).
    gamma = new Float32Array(channels).fill(1);
    beta = new Float32Array(channels);
    mean = new Float32Array(channels);
    variance = new Float32Array(channels).fill(1 - BN_EPS);
  } else {
    ({ gamma, beta, mean } = norm);
    // sds-web's BatchNorm3d uses eps 1e-5: another eps is absorbed into the variance (var + eps is what counts).
    variance = Float32Array.from(norm.variance, (v) => v + norm.eps - BN_EPS);
  }
  for (const [what, v] of [
    ['gamma', gamma],
    ['beta', beta],
    ['mean', mean],
    ['variance', variance],
  ] as const) {
    if (v.length !== channels) throw fail(`${name}: expected BatchNormalization ${what} of ${channels} values, found ${v.length}`);
  }
  put(`${name}.weight`, [channels], gamma);
  put(`${name}.bias`, [channels], beta);
  put(`${name}.running_mean`, [channels], mean);
  put(`${name}.running_var`, [channels], variance);
  put(`${name}.num_batches_tracked`, [], BigInt64Array.of(0n));
}
