/**
 * Where a V-Net training step spends its time, per layer type and resolution level: the step of
 * vnet-step.ts run layer by layer with `backend.sync()` after each call, so lazy backends (threaded
 * wasm, WebGPU) do each layer's work inside its own timing. The walk calls the network's own leaf
 * layers in the order VNet.forward / VNet.backward (src/nn/vnet.ts) do, skip additions and dropout
 * included, and fuses batch norm -> ReLU pairs where Sequential does (timed as 'BatchNorm3d+ReLU');
 * it keeps every intermediate until the end (VNet frees some earlier), which changes memory, not work. The per-call syncs add a little overhead that the whole-step figure does not have.
 */
import type { Backend } from '../../src/backend/backend.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { Layer } from '../../src/nn/layer.js';
import { Conv3d } from '../../src/nn/layers/conv3d.js';
import { fusedNormReluAt } from '../../src/nn/layers/sequential.js';
import { supervisedLoss } from '../../src/nn/loss.js';
import { type BlockSpec, vnetBlocks } from '../../src/nn/vnet-config.js';
import { add } from '../../src/ops/index.js';
import type { BenchTrainer } from './vnet-step.js';

export interface ProfileEntry {
  /** e.g. 'Conv3d k3 L0', 'BatchNorm3d L2', 'add (skip) L1'. */
  readonly what: string;
  readonly direction: 'forward' | 'backward' | 'update';
  ms: number;
  calls: number;
}

function layerKind(layer: Layer, spec: BlockSpec | null): string {
  const type = layer.constructor.name;
  if (!(layer instanceof Conv3d)) return type;
  if (spec === null) return 'Conv3d k1 (out_conv)';
  return spec.kind === 'down' ? 'Conv3d k2 s2 (down)' : 'Conv3d k3';
}

export async function profileStep(backend: Backend, trainer: BenchTrainer): Promise<ProfileEntry[]> {
  const { net } = trainer;
  const specs = new Map(vnetBlocks(net.config).map((s) => [s.name, s]));
  const entries = new Map<string, ProfileEntry>();
  const timed = async <T>(what: string, direction: ProfileEntry['direction'], run: () => T): Promise<T> => {
    const start = performance.now();
    const result = run();
    await backend.sync();
    const key = `${direction} ${what}`;
    const e = entries.get(key) ?? { what, direction, ms: 0, calls: 0 };
    e.ms += performance.now() - start;
    e.calls++;
    entries.set(key, e);
    return result;
  };
  const kept: Tensor[] = [];
  /** Per block, the indices of the batch norms its forward fused with the next ReLU. */
  const fusedAt = new Map([...net.blocks.keys()].map((name) => [name, new Set<number>()]));
  const keep = (t: Tensor): Tensor => (kept.push(t), t);
  const levelOf = (name: string): string => `L${specs.get(name)!.level}`;

  const block = async (name: string, x: Tensor): Promise<Tensor> => {
    let current = x;
    const layers = net.blocks.get(name)!.layers;
    for (let i = 0; i < layers.length; i++) {
      const input = current;
      const norm = fusedNormReluAt(layers, i);
      const what = norm !== null ? 'BatchNorm3d+ReLU' : layerKind(layers[i], specs.get(name)!);
      current = keep(
        await timed(`${what} ${levelOf(name)}`, 'forward', () => (norm !== null ? norm.forwardRelu(input) : layers[i].forward(input))),
      );
      if (norm !== null) fusedAt.get(name)!.add(i++);
    }
    return current;
  };
  const skipAdd = (name: string, a: Tensor, b: Tensor, direction: 'forward' | 'backward'): Promise<Tensor> =>
    timed(`add (skip) ${levelOf(name)}`, direction, () => add(backend, a, b));

  // Forward, as VNet.forward.
  const x1 = await block('encoder.block_one', trainer.image);
  const x2 = await block('encoder.block_two', await block('encoder.block_one_dw', x1));
  const x3 = await block('encoder.block_three', await block('encoder.block_two_dw', x2));
  const x4 = await block('encoder.block_four', await block('encoder.block_three_dw', x3));
  const x5raw = await block('encoder.block_five', await block('encoder.block_four_dw', x4));
  const x5 = keep(await timed('Dropout3d L4', 'forward', () => net.encoderDropout.forward(x5raw)));
  const up = async (upName: string, convName: string, from: Tensor, bypass: Tensor): Promise<Tensor> =>
    block(convName, keep(await skipAdd(upName, await block(upName, from), bypass, 'forward')));
  const x6 = await up('decoder.block_five_up', 'decoder.block_six', x5, x4);
  const x7 = await up('decoder.block_six_up', 'decoder.block_seven', x6, x3);
  const x8 = await up('decoder.block_seven_up', 'decoder.block_eight', x7, x2);
  const x9raw = await up('decoder.block_eight_up', 'decoder.block_nine', x8, x1);
  const x9 = keep(await timed('Dropout3d L0', 'forward', () => net.decoderDropout.forward(x9raw)));
  const logits = keep(await timed('Conv3d k1 (out_conv) L0', 'forward', () => net.outConv.forward(x9)));
  const { loss, grad } = await timed('diceCeLoss', 'forward', () => supervisedLoss(backend, logits, trainer.labels));
  keep(loss);

  // Backward, as VNet.backward: a gradient is freed once its consumer ran, except those the encoder
  // skips still need (disposeDy false), which the skip addition frees.
  const back = async (what: string, layer: Layer, dy: Tensor): Promise<Tensor | null> => {
    const dx = await timed(what, 'backward', () => layer.backward(dy));
    backend.dispose(dy);
    return dx;
  };
  const blockBack = async (name: string, dy: Tensor, disposeDy = true): Promise<Tensor | null> => {
    let g: Tensor | null = dy;
    const layers = net.blocks.get(name)!.layers;
    for (let i = layers.length - 1; i >= 0 && g !== null; i--) {
      const input: Tensor = g;
      const fused = fusedAt.get(name)!.has(i - 1);
      if (fused) i--;
      const what = fused ? 'BatchNorm3d+ReLU' : layerKind(layers[i], specs.get(name)!);
      const layer = layers[i];
      g = await timed(`${what} ${levelOf(name)}`, 'backward', () => layer.backward(input));
      if (input !== dy || disposeDy) backend.dispose(input);
    }
    return g;
  };
  const withSkip = async (dw: string, dy: Tensor, skipGrad: Tensor): Promise<Tensor> => {
    const fromDown = (await blockBack(dw, dy))!;
    const total = await timed(`add (skip) ${levelOf(dw)}`, 'backward', () => add(backend, fromDown, skipGrad));
    backend.dispose(fromDown);
    backend.dispose(skipGrad);
    return total;
  };
  let g = (await back('Conv3d k1 (out_conv) L0', net.outConv, grad))!;
  g = (await back('Dropout3d L0', net.decoderDropout, g))!;
  const dx8up = (await blockBack('decoder.block_nine', g))!;
  const dx7up = (await blockBack('decoder.block_eight', (await blockBack('decoder.block_eight_up', dx8up, false))!))!;
  const dx6up = (await blockBack('decoder.block_seven', (await blockBack('decoder.block_seven_up', dx7up, false))!))!;
  const dx5up = (await blockBack('decoder.block_six', (await blockBack('decoder.block_six_up', dx6up, false))!))!;
  g = (await blockBack('decoder.block_five_up', dx5up, false))!;
  g = (await back('Dropout3d L4', net.encoderDropout, g))!;
  g = (await blockBack('encoder.block_five', g))!;
  g = (await blockBack('encoder.block_four', await withSkip('encoder.block_four_dw', g, dx5up)))!;
  g = (await blockBack('encoder.block_three', await withSkip('encoder.block_three_dw', g, dx6up)))!;
  g = (await blockBack('encoder.block_two', await withSkip('encoder.block_two_dw', g, dx7up)))!;
  const none = await blockBack('encoder.block_one', await withSkip('encoder.block_one_dw', g, dx8up));
  if (none !== null) backend.dispose(none);
  await timed('SGD step', 'update', () => trainer.optimizer.step());
  for (const t of kept) backend.dispose(t);
  net.releaseCache();
  await backend.sync();
  return [...entries.values()];
}
