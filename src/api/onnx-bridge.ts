/**
 * The three entry points of the ONNX module (src/onnx), loaded on first use so a page that
 * never touches ONNX never downloads protobufjs or onnxruntime-web. The three names are agreed with the
 * ONNX module (importVNetOnnx, exportVNetOnnx, segmentWithOnnxRuntime); OnnxModule checks their types.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import type { VNet } from '../nn/vnet.js';
import type { Volume } from '../volume/volume.js';
import type { ExportOnnxOptions, SegmentOptions } from './types.js';

export interface OnnxModule {
  /** An ONNX V-Net -> a safetensors V-Net checkpoint (PyTorch names, config in metadata). */
  importVNetOnnx(bytes: Uint8Array): Uint8Array;
  exportVNetOnnx(backend: Backend, net: VNet, options?: ExportOnnxOptions): Promise<Uint8Array>;
  segmentWithOnnxRuntime(
    model: Uint8Array,
    image: Volume,
    options: SegmentOptions & { readonly roiSize: Vec3; readonly threads?: number },
  ): Promise<Volume<Uint8Array>>;
}

/** Loaded on first use (a lazy chunk in dist): protobufjs and onnxruntime-web stay out of other paths. */
export async function onnxModule(): Promise<OnnxModule> {
  try {
    return await import('../onnx/index.js');
  } catch (e) {
    throw new SdsError('E_ONNX', `ONNX support could not be loaded (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** safetensors: 8-byte little-endian header length, then the JSON header starting with '{'. */
export function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 10 && bytes[8] === 0x7b;
}

/**
 * ONNX ModelProto: protobuf fields, the first normally ir_version (field 1, varint: tag 0x08) or, in
 * some writers, another low field number with wire type 0 or 2.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const tag = bytes[0];
  const field = tag >> 3;
  const wire = tag & 7;
  return field >= 1 && field <= 20 && (wire === 0 || wire === 2);
}
