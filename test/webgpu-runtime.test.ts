import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebGpuContext } from '../src/backend/webgpu/context.js';
import { acquireDevice } from '../src/backend/webgpu/device.js';
import { makeElementwiseKernels } from '../src/backend/webgpu/kernels/elementwise.js';
import { BufferPool } from '../src/backend/webgpu/buffer-pool.js';
import { WebGpuRuntime, grid1d } from '../src/backend/webgpu/runtime.js';
import { SdsError } from '../src/core/errors.js';

// The runtime under the kernels: command batching, the uniform ring, the buffer pool and limits.
describe('webgpu runtime', () => {
  let runtime: WebGpuRuntime;
  let ctx: WebGpuContext;
  let kernels: ReturnType<typeof makeElementwiseKernels>;
  const read = async (t: ReturnType<WebGpuContext['alloc']>) => new Float32Array(await runtime.readBuffer(ctx.buffer(t), t.size * 4));

  beforeAll(async () => {
    const { device } = await acquireDevice();
    runtime = new WebGpuRuntime(device);
    ctx = new WebGpuContext(runtime, device.limits);
    kernels = makeElementwiseKernels(ctx);
  });
  afterAll(() => runtime.destroy());

  test('many dispatches share one submit until a read, and chained results are right', async () => {
    const n = 70_000; // over one 256-wide row of workgroups
    const a = ctx.upload(
      Float32Array.from({ length: n }, (_, i) => i),
      [n],
    );
    const submitsBefore = runtime.submitCount;
    let acc = a;
    for (let i = 0; i < 20; i++) acc = kernels.add(acc, a);
    expect(runtime.submitCount).toBe(submitsBefore);
    const out = await read(acc);
    expect(out[0]).toBe(0);
    expect(out[12_345]).toBe(21 * 12_345);
    expect(out[n - 1]).toBe(21 * (n - 1));
    expect(runtime.submitCount).toBe(submitsBefore + 1);
  });

  test('the uniform ring wraps after 512 dispatches without corrupting values', async () => {
    const one = ctx.upload(new Float32Array([1, 2, 3]), [3]);
    let acc = one;
    for (let i = 0; i < 1200; i++) acc = kernels.add(acc, one);
    expect([...(await read(acc))]).toEqual([1201, 2402, 3603]);
  });

  test('a pooled buffer reused by an upload does not change work recorded before it', async () => {
    const a = ctx.upload(new Float32Array([1, 1, 1, 1]), [4]);
    const b = ctx.upload(new Float32Array([2, 2, 2, 2]), [4]);
    const sum = kernels.add(a, b); // recorded, not yet submitted
    ctx.release(b); // b's buffer goes back to the pool...
    const c = ctx.upload(new Float32Array([100, 100, 100, 100]), [4]); // ...and is likely handed out again
    expect([...(await read(sum))]).toEqual([3, 3, 3, 3]);
    expect([...(await read(c))]).toEqual([100, 100, 100, 100]);
  });

  test('zeros are zero even in a recycled buffer', async () => {
    const dirty = ctx.upload(new Float32Array(64).fill(7), [64]);
    ctx.release(dirty);
    const z = ctx.zeros([64], 'float32');
    expect((await read(z)).every((v) => v === 0)).toBe(true);
  });

  test('the pool stops creating buffers once a step repeats', () => {
    const step = () => {
      const ts = [ctx.alloc([1000], 'float32'), ctx.alloc([5000], 'float32'), ctx.alloc([1000], 'float32')];
      ts.forEach((t) => ctx.release(t));
    };
    step();
    const created = runtime.pool.stats().buffersCreated;
    for (let i = 0; i < 10; i++) step();
    expect(runtime.pool.stats().buffersCreated).toBe(created);
  });

  test('a tensor over the binding limit fails before any dispatch, naming the limit', () => {
    const limit = ctx.limits.maxStorageBufferBindingSize;
    const elements = Math.floor(limit / 4) + 1024;
    let error: unknown;
    try {
      ctx.alloc([1, 1, elements], 'float32');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SdsError);
    expect((error as SdsError).code).toBe('E_LIMIT_EXCEEDED');
    expect((error as SdsError).message).toMatch(/maxStorageBufferBindingSize|maxBufferSize/);
  });

  test('size classes and grid folding', () => {
    expect(BufferPool.sizeClass(1)).toBe(256);
    expect(BufferPool.sizeClass(257)).toBe(512);
    expect(BufferPool.sizeClass(1_000_000)).toBeGreaterThanOrEqual(1_000_000);
    expect(BufferPool.sizeClass(1_000_000)).toBeLessThan(1_000_000 * 1.13);
    const [x, y] = grid1d(256 * 70_000, 256);
    expect(x).toBeLessThanOrEqual(65_535);
    expect(x * y).toBeGreaterThanOrEqual(70_000);
  });
});
