/**
 * Bench-only: the bytes of a one-node ONNX model, y = Conv(x, w) with PyTorch's NCDHW layout, so
 * onnxruntime-web can be timed on exactly the convolution sds-web runs. Not product code.
 *
 * The encoder is the generated protobufjs module of the ONNX schema that onnxruntime-web ships
 * (lib/onnxjs/ort-schema/protobuf/onnx.js, over its protobufjs dependency). It is not in the
 * package's `exports` map, so it is required by file path; no protobuf is written by hand here.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The slice of the generated `onnx` namespace this file uses. */
interface OnnxProto {
  ModelProto: {
    fromObject(o: object): unknown;
    encode(m: unknown): { finish(): Uint8Array };
    decode(bytes: Uint8Array): { graph?: { node?: { opType?: string }[] } };
  };
  TensorProto: { DataType: { FLOAT: number } };
  AttributeProto: { AttributeType: { INTS: number } };
}

function loadOnnxProto(): OnnxProto {
  const require = createRequire(import.meta.url);
  // Resolves to onnxruntime-web/dist/<node entry>; the schema lives beside dist/ in lib/.
  const entry = require.resolve('onnxruntime-web');
  const schema = join(dirname(entry), '..', 'lib', 'onnxjs', 'ort-schema', 'protobuf', 'onnx.js');
  return (require(schema) as { onnx: OnnxProto }).onnx;
}

export interface OnnxConvGeometry {
  /** x [1, ci, spatial^3], w [co, ci, k^3]. */
  readonly ci: number;
  readonly co: number;
  readonly spatial: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
}

/**
 * Conv with w baked in as an initializer (the weights sds-web is given), no bias, opset 13. A constant
 * weight is how a deployed model runs and lets ORT's graph optimiser pre-pack or re-layout it, so the
 * peer gets its best configuration rather than a runtime-weight Conv.
 */
export function onnxConvModel(g: OnnxConvGeometry, weights: Float32Array): Uint8Array {
  const onnx = loadOnnxProto();
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INTS = onnx.AttributeProto.AttributeType.INTS;
  if (weights.length !== g.co * g.ci * g.k ** 3) {
    throw new RangeError(`onnxConvModel: ${weights.length} weights for a [${g.co}, ${g.ci}, ${g.k}^3] filter`);
  }
  const out = Math.floor((g.spatial + 2 * g.p - g.k) / g.s) + 1;
  const value = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const ints = (name: string, v: number[]) => ({ name, type: INTS, ints: v });
  const model = onnx.ModelProto.fromObject({
    irVersion: 8,
    producerName: 'sds-web bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'conv3d',
      node: [
        {
          opType: 'Conv',
          input: ['x', 'w'],
          output: ['y'],
          attribute: [
            ints('kernel_shape', [g.k, g.k, g.k]),
            ints('strides', [g.s, g.s, g.s]),
            ints('pads', [g.p, g.p, g.p, g.p, g.p, g.p]),
            ints('dilations', [1, 1, 1]),
          ],
        },
      ],
      initializer: [
        {
          name: 'w',
          dataType: FLOAT,
          dims: [g.co, g.ci, g.k, g.k, g.k],
          // Little-endian float32 bytes, as ONNX raw_data requires (every platform Node runs on is LE).
          rawData: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
        },
      ],
      input: [value('x', [1, g.ci, g.spatial, g.spatial, g.spatial])],
      output: [value('y', [1, g.co, out, out, out])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
