import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebGpuBackend, createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { sizeOf } from '../src/core/shape.js';
import { supervisedLoss } from '../src/nn/loss.js';
import { memoryPlan } from '../src/nn/memory-plan.js';
import { Sgd } from '../src/nn/sgd.js';
import { VNet } from '../src/nn/vnet.js';

/**
 * memoryPlan against the WebGPU buffer pool's measured peak over a whole training step. The plan
 * counts tensor elements; the pool measures what the device really holds: size classes round each
 * buffer up (at most 1/8 above 64 KiB, to 256 bytes below), kernels add short-lived scratch
 * (split-K partial sums, loss partials), while the plan's backward workspace is an estimate. A plan a
 * user can choose a patch with must land within 20-25% of the measured peak of a steady-state step.
 */
describe('VNet memory on webgpu: memoryPlan vs the buffer pool peak', () => {
  let backend: WebGpuBackend;
  beforeAll(async () => {
    backend = await createWebGpuBackend();
  });
  afterAll(() => backend?.destroy());

  it('a training step peaks within the plan plus rounding and scratch, and later steps allocate no new buffers', async () => {
    const config = { nFilters: 2, normalization: 'batch', dropout: true } as const;
    const batch = 2;
    const patch = [16, 16, 32] as const;
    const plan = memoryPlan(config, patch, batch);
    await backend.sync();
    const before = backend.stats().liveBytes;
    backend.resetPeak();

    const net = new VNet(backend, config, { seed: 5 });
    const optimizer = new Sgd(backend, net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const x = backend.upload(
      new Float32Array(batch * sizeOf(patch)).map((_, i) => Math.sin(i)),
      [batch, 1, ...patch],
    );
    const y = backend.upload(
      new Uint8Array(batch * sizeOf(patch)).map((_, i) => (i % 7 === 0 ? 1 : 0)),
      [batch, ...patch],
    );
    const step = async (): Promise<void> => {
      const logits = net.forward(x);
      const { loss, grad } = supervisedLoss(backend, logits, y);
      net.backward(grad);
      optimizer.step();
      for (const t of [logits, loss, grad]) backend.dispose(t);
      await backend.sync();
    };
    // Step 1 creates the gradients and momentum buffers; from step 2 on a step is in its steady state.
    await step();
    backend.resetPeak();
    await step();
    const peak = backend.stats().peakLiveBytes - before;
    const created = backend.stats().buffersCreated;
    await step();
    expect(backend.stats().buffersCreated, 'a steady-state step creates no new buffers').toBe(created);

    // Measured when written: 0.987 (the plan's backward workspace is a slight overestimate).
    expect(peak / plan.bytes.total, `pool peak ${peak} B vs memoryPlan ${plan.bytes.total} B`).toBeGreaterThan(0.8);
    expect(peak / plan.bytes.total, `pool peak ${peak} B vs memoryPlan ${plan.bytes.total} B`).toBeLessThan(1.25);
    console.log(`memoryPlan ${plan.bytes.total} B, measured pool peak ${peak} B (${(peak / plan.bytes.total).toFixed(3)}x)`);

    for (const t of [x, y]) backend.dispose(t);
    optimizer.dispose();
    net.dispose();
    await backend.sync();
    expect(backend.stats().liveBytes).toBe(before);
  });
});
