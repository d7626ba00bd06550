/**
 * Exit codes of `sds` (documented in the README), chosen by the SdsError code so scripts can branch:
 * 0 ok, 1 runtime failure, 2 usage error (bad flag, missing argument), 3 bad input file (unreadable,
 * corrupt NIfTI / HDF5 / DICOM, wrong grid) or an output path that cannot be written, 4 bad model file, 5 no usable device for --backend webgpu,
 * 130 interrupted (Ctrl-C; fine-tuning still writes the weights reached so far).
 */
import { SdsError, type SdsErrorCode } from '../core/errors.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, input: 3, model: 4, device: 5, interrupted: 130 } as const;

const BY_CODE: Partial<Record<SdsErrorCode, number>> = {
  E_INVALID_ARGUMENT: EXIT.usage,
  E_IO: EXIT.input,
  E_NIFTI_TRUNCATED: EXIT.input,
  E_NIFTI_CORRUPT: EXIT.input,
  E_HDF5_CORRUPT: EXIT.input,
  E_DICOM_UNSUPPORTED: EXIT.input,
  E_DICOM_CORRUPT: EXIT.input,
  E_GRID_MISMATCH: EXIT.input,
  E_NONFINITE: EXIT.input,
  E_SHAPE_MISMATCH: EXIT.input,
  E_MODEL: EXIT.model,
  E_CHECKPOINT_CORRUPT: EXIT.model,
  E_ONNX: EXIT.model,
  E_FORMAT: EXIT.model,
  E_NO_ADAPTER: EXIT.device,
  E_DEVICE_LOST: EXIT.device,
  E_ABORTED: EXIT.interrupted,
};

/** A usage error of the command line itself (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (e instanceof SdsError) return BY_CODE[e.code] ?? EXIT.failure;
  return EXIT.failure;
}

/** A Node file-system error (ENOENT, EACCES, ...: it has a syscall) is an E_IO with its path, not an internal failure. */
export function fileSystemError(e: unknown): SdsError | undefined {
  if (!(e instanceof Error) || typeof (e as NodeJS.ErrnoException).syscall !== 'string') return undefined;
  const { path } = e as NodeJS.ErrnoException;
  return new SdsError('E_IO', `${path ?? 'a file'}: ${e.message}`, { path });
}
