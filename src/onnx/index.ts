// ONNX interop: export the V-Net for ONNX Runtime, import PyTorch-exported V-Nets, run with ORT-web.
export { BN_EPS, exportVNetOnnx, vnetOnnxBytes } from './export.js';
export { type ImportOnnxOptions, importVNetOnnx } from './import.js';
export {
  type OrtExecutionProvider,
  type OrtSessionOptions,
  type OrtVNetSession,
  createOrtSession,
  expectWebGpuCompatible,
} from './ort-session.js';
export { type OnnxSegmentOptions, segmentWithOnnxRuntime } from './segment.js';
