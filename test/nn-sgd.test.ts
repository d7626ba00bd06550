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

  it('L2-SP: an anchor adds weight * (w - w0) to the gradient, so without a loss the weights return to w0', async () => {
    const be = createReferenceBackend();
    const start = [0.5, -1.25, 2];
    const pretrained = [0.25, -1, 1.5];
    const param: Parameter = { name: 'w', value: be.upload(Float32Array.from(start), [3]), grad: null };
    const anchor = { weight: 2, values: [be.upload(Float32Array.from(pretrained), [3])] };
    const opt = new Sgd(be, [param], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, anchor });
    // PyTorch with the penalty in the loss: g = grad + wd * w + weight * (w - w0); buf = m * buf + g; w -= lr * buf.
    const w = [...start];
    const buf = [0, 0, 0];
    for (let k = 0; k < 4; k++) {
      const grad = [Math.sin(k + 1), Math.cos(k), 0.25 * k];
      param.grad = be.upload(Float32Array.from(grad), [3]);
      opt.step();
      for (let i = 0; i < 3; i++) {
        buf[i] = 0.9 * buf[i] + Math.fround(grad[i]) + 0.01 * w[i] + 2 * (w[i] - pretrained[i]);
        w[i] -= 0.1 * buf[i];
      }
    }
    const got = Array.from((await be.read(param.value)) as Float32Array);
    got.forEach((v, i) => expect(v).toBeCloseTo(w[i], 5));
    // With zero loss gradients (and no weight decay) the weights settle at the anchor.
    const q: Parameter = { name: 'q', value: be.upload(Float32Array.from(start), [3]), grad: null };
    const pull = new Sgd(be, [q], { lr: 0.1, momentum: 0.5, anchor });
    for (let k = 0; k < 200; k++) {
      q.grad = be.zeros([3], 'float32');
      pull.step();
    }
    Array.from((await be.read(q.value)) as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(pretrained[i], 4));
  });

  it('refuses an anchor that does not match the parameters', () => {
    const be = createReferenceBackend();
    const param: Parameter = { name: 'w', value: be.zeros([3], 'float32'), grad: null };
    expect(() => new Sgd(be, [param], { lr: 0.1, anchor: { weight: 1, values: [] } })).toThrow(/expected 1 tensors/);
    expect(() => new Sgd(be, [param], { lr: 0.1, anchor: { weight: 1, values: [be.zeros([4], 'float32')] } })).toThrow(
      /expected shape \[3\], found \[4\]/,
    );
    expect(() => new Sgd(be, [param], { lr: 0.1, anchor: { weight: -1, values: [be.zeros([3], 'float32')] } })).toThrow(/anchor\.weight/);
  });

  it('refuses to step while a parameter has no gradient', () => {
    const be = createReferenceBackend();
    const opt = new Sgd(be, [{ name: 'decoder.out_conv.bias', value: be.zeros([2], 'float32'), grad: null }], { lr: 0.1 });
    expect(() => opt.step()).toThrow(/no gradient|found none for decoder\.out_conv\.bias/);
    expect(() => new Sgd(be, [], { lr: 0.1, stepSize: 0 })).toThrow(/stepSize/);
  });
});
