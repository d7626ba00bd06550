import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import type { Parameter } from '../src/nn/layer.js';
import { Sgd } from '../src/nn/sgd.js';

describe('Sgd', () => {
  it('follows torch.optim.SGD with momentum and weight decay, and the step schedule', async () => {
    const be = createReferenceBackend();
    const w0 = [0.5, -1.25, 2];
    const param: Parameter = { name: 'w', value: be.upload(Float32Array.from(w0), [3]), grad: null };
    const opt = new Sgd(be, [param], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, stepSize: 2, gamma: 0.5 });
    // Hand-run PyTorch's update in float64: g = grad + wd * w; buf = m * buf + g; w -= lr_k * buf.
    const w = [...w0];
    const buf = [0, 0, 0];
    const lrs: number[] = [];
    for (let k = 0; k < 5; k++) {
      const grad = [Math.sin(k + 1), Math.cos(k), 0.25 * k];
      lrs.push(opt.lr);
      param.grad = be.upload(Float32Array.from(grad), [3]);
      opt.step();
      for (let i = 0; i < 3; i++) {
        buf[i] = 0.9 * buf[i] + Math.fround(grad[i]) + 0.01 * w[i];
        w[i] -= 0.1 * 0.5 ** Math.floor(k / 2) * buf[i];
      }
    }
    expect(lrs).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    expect(opt.iteration).toBe(5);
    const got = Array.from((await be.read(param.value)) as Float32Array);
    got.forEach((v, i) => expect(v).toBeCloseTo(w[i], 5));
  });

  it('refuses to step while a parameter has no gradient', () => {
    const be = createReferenceBackend();
    const opt = new Sgd(be, [{ name: 'decoder.out_conv.bias', value: be.zeros([2], 'float32'), grad: null }], { lr: 0.1 });
    expect(() => opt.step()).toThrow(/no gradient|found none for decoder\.out_conv\.bias/);
    expect(() => new Sgd(be, [], { lr: 0.1, stepSize: 0 })).toThrow(/stepSize/);
  });
});
