/**
 * One V-Net training step for bench/vnet-run.ts, as the stage-1 trainer (src/train/supervised.ts) runs it:
 * forward in train mode (BatchNorm batch statistics, Dropout3d on), the (CE + Dice) / 2 loss, backward,
 * SGD with momentum 0.9 and weight decay 1e-4, then `backend.sync()` so the clock sees the work done
 * (WebGPU and the threaded wasm backend only enqueue it). Same settings as bench/vnet_torch.py.
 */
import type { Backend } from '../../src/backend/backend.js';
import type { Shape } from '../../src/core/shape.js';
import type { Tensor } from '../../src/core/tensor.js';
import { Sgd } from '../../src/nn/sgd.js';
import { supervisedLoss } from '../../src/nn/loss.js';
import { VNet } from '../../src/nn/vnet.js';

export const VNET_BENCH_CONFIG = { inChannels: 1, nClasses: 2, nFilters: 16, normalization: 'batch', dropout: true } as const;

/** An image [N, 1, D, H, W] (noise plus the label) and labels [N, D, H, W] with a centred ball of class 1. */
export function benchBatch(shape: Shape): { image: Float32Array; labels: Uint8Array } {
  const [n, , d, h, w] = shape;
  const voxels = d * h * w;
  const labels = new Uint8Array(n * voxels);
  const image = new Float32Array(n * voxels);
  const r = Math.min(d, h, w) / 4;
  let state = 0x9e3779b9;
  const noise = (): number => {
    // xorshift32: cheap, deterministic; the values only need to look like an image, not be Gaussian.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  };
  for (let z = 0, i = 0; z < d; z++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++, i++) labels[i] = (z - d / 2) ** 2 + (y - h / 2) ** 2 + (x - w / 2) ** 2 <= r * r ? 1 : 0;
  for (let k = 1; k < n; k++) labels.copyWithin(k * voxels, 0, voxels);
  for (let i = 0; i < image.length; i++) image[i] = 2 * noise() + 1.5 * labels[i];
  return { image, labels };
}

export interface BenchTrainer {
  readonly net: VNet;
  readonly optimizer: Sgd;
  readonly image: Tensor;
  readonly labels: Tensor;
  /** Runs one step and waits for the backend; returns the loss tensor (the caller reads and disposes it). */
  step(): Promise<Tensor>;
  dispose(): void;
}

export function benchTrainer(backend: Backend, shape: Shape): BenchTrainer {
  const net = new VNet(backend, VNET_BENCH_CONFIG, { seed: 1 });
  const optimizer = new Sgd(backend, net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const data = benchBatch(shape);
  const image = backend.upload(data.image, shape);
  const labels = backend.upload(data.labels, [shape[0], ...shape.slice(2)]);
  return {
    net,
    optimizer,
    image,
    labels,
    async step(): Promise<Tensor> {
      const logits = net.forward(image);
      const { loss, grad } = supervisedLoss(backend, logits, labels);
      backend.dispose(logits);
      net.backward(grad);
      backend.dispose(grad);
      optimizer.step();
      await backend.sync();
      return loss;
    },
    dispose(): void {
      optimizer.dispose();
      net.dispose();
      backend.dispose(image);
      backend.dispose(labels);
    },
  };
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
