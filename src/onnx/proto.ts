/**
 * The ONNX protobuf schema as generated protobufjs classes (npm `onnx-proto`, onnx.proto of ONNX 1.10,
 * IR version 8): every model here is encoded and decoded by those classes, never by hand.
 */
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** The opset the exporter writes (ONNX 1.12's default domain; ORT-web 1.30 runs it). */
export const OPSET = 17;
/** IR version 8 is what onnx.proto of ONNX 1.10 knows; opset 17 models are valid with it. */
export const IR_VERSION = 8;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** Attribute value as a plain number / number list (protobufjs gives int64 as number or Long). */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
