/**
 * Every failure the SDK reports is an SdsError with a stable `code`, so callers can branch on it
 * and messages can change. Messages say what was expected and what was found.
 */
export type SdsErrorCode =
  | 'E_SHAPE_MISMATCH'
  | 'E_DTYPE_MISMATCH'
  | 'E_INVALID_ARGUMENT'
  | 'E_LIMIT_EXCEEDED'
  | 'E_NO_ADAPTER'
  | 'E_DEVICE_LOST'
  | 'E_DISPOSED'
  | 'E_WRONG_BACKEND'
  | 'E_SHADER_COMPILE'
  | 'E_WASM_UNAVAILABLE'
  | 'E_NIFTI_TRUNCATED'
  | 'E_NIFTI_CORRUPT'
  | 'E_HDF5_CORRUPT'
  | 'E_DICOM_UNSUPPORTED'
  | 'E_DICOM_CORRUPT'
  | 'E_GRID_MISMATCH'
  | 'E_NONFINITE'
  | 'E_FORMAT'
  /** A segmenter or backend was used in a way its concurrency rules forbid. */
  | 'E_BUSY'
  /** A checkpoint whose checksum or structure does not hold. */
  | 'E_CHECKPOINT_CORRUPT'
  /** A model file that is not what was expected (not a V-Net checkpoint, other classes, …). */
  | 'E_MODEL'
  /** An ONNX model that cannot be read, or a combination ONNX Runtime cannot run. */
  | 'E_ONNX'
  /** A file or directory that could not be read or written. */
  | 'E_IO'
  /** Cancelled through an AbortSignal. */
  | 'E_ABORTED';

export class SdsError extends Error {
  readonly code: SdsErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: SdsErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.name = 'SdsError';
    this.code = code;
    this.details = details;
  }
}

/** Throws E_INVALID_ARGUMENT with `message` unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string), code: SdsErrorCode = 'E_INVALID_ARGUMENT'): asserts condition {
  if (!condition) throw new SdsError(code, typeof message === 'function' ? message() : message);
}
