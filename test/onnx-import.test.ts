// importVNetOnnx on files torch.onnx.export wrote (scripts/make-onnx-fixture.py, torch 1.13, opset 17).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { SdsError } from '../src/core/errors.js';
import { checkpointConfig, loadVNet, readSafetensors } from '../src/nn/index.js';
import { VNet } from '../src/nn/vnet.js';
import { importVNetOnnx } from '../src/onnx/index.js';
import { type AttributeProto, onnx } from '../src/onnx/proto.js';
import { maxRelativeError, readNpy } from './onnx-helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/onnx/', import.meta.url));
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(`${FIXTURES}${name}`));

let backend: Backend;
beforeAll(() => {
  backend = createReferenceBackend();
});
afterAll(() => backend.destroy());

async function logitsOf(checkpoint: Uint8Array, input: { data: Float32Array; shape: number[] }): Promise<Float32Array> {
  const net = new VNet(backend, checkpointConfig(readSafetensors(checkpoint).metadata)!);
  loadVNet(backend, net, checkpoint);
  net.eval();
  const x = backend.upload(input.data, input.shape);
  const y = net.forward(x);
  const out = (await backend.read(y)) as Float32Array;
  backend.dispose(x);
  backend.dispose(y);
  net.dispose();
  return out;
}

function expectOnnxError(run: () => unknown, message: RegExp): void {
  let error: unknown = null;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SdsError);
  expect((error as SdsError).code).toBe('E_ONNX');
  expect((error as SdsError).message).toMatch(message);
}

describe('importVNetOnnx', () => {
  it('BatchNorm V-Net (nFilters 2; torch folded BN into Conv, kept it after ConvTranspose): logits equal PyTorch', async () => {
    const model = bytesOf('vnet-bn-f2.onnx');
    // The fixture really has both forms: anonymous folded Conv initializers and 4 BatchNormalization nodes.
    const graph = onnx.ModelProto.decode(model).graph!;
    expect(graph.node!.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(4);
    expect(graph.node!.find((n) => n.opType === 'Conv')!.input![1]).toMatch(/^onnx::Conv_/);
    const checkpoint = importVNetOnnx(model);
    const file = readSafetensors(checkpoint);
    expect(checkpointConfig(file.metadata)).toMatchObject({ inChannels: 1, nFilters: 2, nClasses: 2, normalization: 'batch' });
    // A folded BatchNorm comes back as the identity, a kept one with its running statistics.
    expect(Array.from(file.tensors.get('encoder.block_one.conv.1.running_var')!.data as Float32Array)).toEqual(
      [0.99999, 0.99999].map(Math.fround),
    );
    expect((file.tensors.get('decoder.block_five_up.conv.1.running_var')!.data as Float32Array)[0]).not.toBeCloseTo(1, 2);
    const got = await logitsOf(checkpoint, readNpy(`${FIXTURES}vnet-bn-f2.input.npy`));
    expect(maxRelativeError(got, readNpy(`${FIXTURES}vnet-bn-f2.logits.npy`).data)).toBeLessThan(1e-4);
  });

  it('InstanceNorm V-Net (nFilters 1, 3 classes, non-cubic input): config inferred, logits equal PyTorch', async () => {
    const checkpoint = importVNetOnnx(bytesOf('vnet-in-f1.onnx'));
    expect(checkpointConfig(readSafetensors(checkpoint).metadata)).toMatchObject({ nFilters: 1, nClasses: 3, normalization: 'instance' });
    const got = await logitsOf(checkpoint, readNpy(`${FIXTURES}vnet-in-f1.input.npy`));
    expect(maxRelativeError(got, readNpy(`${FIXTURES}vnet-in-f1.logits.npy`).data)).toBeLessThan(1e-4);
  });

  it('corrupt, truncated and non-V-Net files fail with E_ONNX saying what was expected', () => {
    expectOnnxError(() => importVNetOnnx(new TextEncoder().encode('this is not an onnx file')), /expected an ONNX/);
    const model = bytesOf('vnet-bn-f2.onnx');
    expectOnnxError(() => importVNetOnnx(model.subarray(0, model.length / 2)), /expected an ONNX/);
    // A valid ONNX model that is not a V-Net: a single 3x3x3 convolution.
    const single = onnx.ModelProto.encode(
      onnx.ModelProto.fromObject({
        irVersion: 8,
        opsetImport: [{ version: 17 }],
        graph: {
          node: [{ opType: 'Conv', input: ['x', 'w'], output: ['y'] }],
          initializer: [
            { name: 'w', dataType: onnx.TensorProto.DataType.FLOAT, dims: [4, 1, 3, 3, 3], floatData: new Array(108).fill(0.5) },
          ],
        },
      }),
    ).finish();
    expectOnnxError(() => importVNetOnnx(single), /expected 30 Conv\/ConvTranspose nodes for a V-Net with nFilters 4, found 1/);
  });

  it('reads every Conv / ConvTranspose attribute: other geometry fails with E_ONNX naming the node and the attribute', () => {
    const original = bytesOf('vnet-bn-f2.onnx');
    const INTS = onnx.AttributeProto.AttributeType.INTS;
    /** The fixture with the attributes of the node named `node` changed by `edit`. */
    const edited = (node: string, edit: (attributes: AttributeProto[]) => AttributeProto[]): Uint8Array => {
      const model = onnx.ModelProto.decode(original);
      const n = model.graph!.node!.find((x) => x.name === node)!;
      n.attribute = edit(n.attribute ?? []);
      return onnx.ModelProto.encode(model).finish();
    };
    const set = (name: string, a: AttributeProto) => (attributes: AttributeProto[]) => [
      ...attributes.filter((x) => x.name !== name),
      { name, ...a },
    ];
    const conv = '/encoder/block_one/conv/conv.0/Conv';
    const up = '/decoder/block_five_up/conv/conv.0/ConvTranspose';
    const INT = onnx.AttributeProto.AttributeType.INT;
    const text = (v: string) => ({ type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) });
    const cases: [string, string, AttributeProto, RegExp][] = [
      [conv, 'strides', { type: INTS, ints: [2, 2, 2] }, /expected \[1, 1, 1\], found \[2, 2, 2\]/],
      [conv, 'dilations', { type: INTS, ints: [2, 2, 2] }, /expected \[1, 1, 1\], found \[2, 2, 2\]/],
      [conv, 'group', { type: INT, i: 2 }, /expected 1 \(sds-web convolutions are not grouped\), found 2/],
      [
        conv,
        'pads',
        { type: INTS, ints: [1, 1, 1, 0, 0, 0] },
        /expected the same padding at both ends of each axis, found \[1, 1, 1, 0, 0, 0\] \(asymmetric/,
      ],
      [conv, 'kernel_shape', { type: INTS, ints: [5, 5, 5] }, /expected \[3, 3, 3\], found \[5, 5, 5\]/],
      [conv, 'auto_pad', text('SOMETIMES'), /expected NOTSET, VALID, SAME_UPPER or SAME_LOWER, found "SOMETIMES"/],
      [conv, 'foo', { type: INT, i: 1 }, /expected only auto_pad, dilations, group, kernel_shape, pads, strides, found this one too/],
      [up, 'output_padding', { type: INTS, ints: [1, 1, 1] }, /expected \[0, 0, 0\], found \[1, 1, 1\]/],
      [up, 'output_shape', { type: INTS, ints: [8, 8, 8] }, /expected none/],
      [up, 'auto_pad', text('SAME_UPPER'), /found SAME_UPPER \(its padding depends on the input size\)/],
    ];
    for (const [node, attribute, value, message] of cases) {
      let error: unknown = null;
      try {
        importVNetOnnx(edited(node, set(attribute, value)));
      } catch (e) {
        error = e;
      }
      expect(error, `${node} ${attribute}`).toBeInstanceOf(SdsError);
      expect((error as SdsError).code).toBe('E_ONNX');
      expect((error as SdsError).details).toEqual({ node, attribute });
      expect((error as SdsError).message).toContain(`node "${node}"`);
      expect((error as SdsError).message).toContain(`attribute ${attribute}: `);
      expect((error as SdsError).message).toMatch(message);
    }
  });

  it('auto_pad SAME_UPPER where it comes to the same symmetric padding imports the same checkpoint', () => {
    const original = bytesOf('vnet-bn-f2.onnx');
    const model = onnx.ModelProto.decode(original);
    for (const n of model.graph!.node!)
      if (n.opType === 'Conv')
        n.attribute = [
          ...(n.attribute ?? []).filter((a) => a.name !== 'pads'),
          { name: 'auto_pad', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('SAME_UPPER') },
        ];
    expect(importVNetOnnx(onnx.ModelProto.encode(model).finish())).toEqual(importVNetOnnx(original));
  });
});
