import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { sizeOf } from '../src/core/shape.js';
import { supervisedLoss } from '../src/nn/loss.js';
import { memoryPlan } from '../src/nn/memory-plan.js';
import { Sgd } from '../src/nn/sgd.js';
import { VNet } from '../src/nn/vnet.js';
import type { VNetConfig } from '../src/nn/vnet-config.js';
import { trackAllocations } from './support/tracking-backend.js';

/**
 * memoryPlan against what the code really keeps (allocations counted on the reference backend), and
 * the ownership rules: a training step leaves exactly parameters, gradients, buffers and optimiser
 * state alive; an eval forward keeps nothing but its output.
 */
describe('VNet memory: memoryPlan and ownership', () => {
  const cases: Array<Partial<VNetConfig>> = [
    { nFilters: 2, normalization: 'batch', dropout: true },
    { nFilters: 2, normalization: 'instance', dropout: false, nClasses: 3 },
    { nFilters: 1, normalization: 'none', dropout: true, inChannels: 2 },
  ];
  for (const config of cases) {
    it(`matches the estimate exactly and leaks nothing: ${JSON.stringify(config)}`, async () => {
      const tracked = trackAllocations(createReferenceBackend());
      const be = tracked.backend;
      const batch = 2;
      const patch = [16, 16, 32] as const;
      const plan = memoryPlan(config, patch, batch);
      const net = new VNet(be, config, { seed: 5 });
      const params = net.parameters().reduce((a, p) => a + p.value.size, 0);
      expect(plan.parameterCount).toBe(params);
      expect(tracked.liveElements() * 4).toBe(plan.bytes.parameters + plan.bytes.buffers);
      const optimizer = new Sgd(be, net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
      const base = tracked.liveElements();

      const inChannels = config.inChannels ?? 1;
      const x = be.upload(
        new Float32Array(batch * inChannels * sizeOf(patch)).map((_, i) => Math.sin(i)),
        [batch, inChannels, ...patch],
      );
      const y = be.upload(
        new Uint8Array(batch * sizeOf(patch)).map((_, i) => (i % 7 === 0 ? 1 : 0)),
        [batch, ...patch],
      );
      const io = x.size + y.size;
      const logits = net.forward(x);
      const kept = tracked.liveElements() - base - io - logits.size;
      expect(kept * 4, 'activations kept for backward').toBe(plan.bytes.activations);

      const { loss, grad } = supervisedLoss(be, logits, y);
      net.backward(grad);
      optimizer.step();
      for (const t of [logits, loss, grad]) be.dispose(t);
      expect(tracked.liveElements() - base - io, 'after a step: only gradients added').toBe(params);
      expect(plan.bytes.gradients).toBe(params * 4);

      net.eval();
      const evalLogits = net.forward(x);
      expect(tracked.liveElements() - base - io - params).toBe(evalLogits.size);
      for (const t of [evalLogits, x, y]) be.dispose(t);
      optimizer.dispose();
      net.dispose();
      expect(tracked.liveCount()).toBe(0);
    });
  }

  it('gives the paper-size figures and rejects patches the network cannot take', () => {
    const plan = memoryPlan({}, [112, 112, 80], 4);
    // PyTorch's count for the script's VNet(1, 2, 16, 'batchnorm'): sum(p.numel() for p in m.parameters()).
    expect(plan.parameterCount).toBe(9448866);
    expect(plan.bytes.total).toBeGreaterThan(plan.bytes.activations);
    expect(plan.largestTensorBytes).toBe(4 * 16 * 112 * 112 * 80 * 4);
    expect(() => memoryPlan({}, [112, 112, 81], 4)).toThrow(/multiples of 16/);
    expect(() => memoryPlan({}, [16, 16, 16], 0)).toThrow(/batch/);
  });

  it('rejects an input whose spatial size is not a multiple of 16', () => {
    const be = createReferenceBackend();
    const net = new VNet(be, { nFilters: 1 });
    expect(() => net.forward(be.zeros([1, 1, 16, 16, 24], 'float32'))).toThrow(/multiples of 16/);
    expect(() => net.backward(be.zeros([1, 2, 16, 16, 16], 'float32'))).toThrow(/training-mode forward/);
  });
});
