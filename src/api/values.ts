/**
 * Value checks shared by the API and the worker client: what an argument is (for error messages),
 * whether it is a Volume, whether it is a patch size. Kept apart from inputs.ts (the file readers) so a page that only runs the
 * worker client never reaches the readers and their libraries (h5wasm, dicom-parser) while bundling.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { VNET_SIZE_MULTIPLE } from '../nn/vnet-config.js';
import type { Volume } from '../volume/volume.js';

const VOLUME_DTYPES = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'];

/** A short description of a value for error messages ("a number", "an object with keys a, b"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `the string "${value.length > 60 ? value.slice(0, 57) + '...' : value}"`;
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  const keys = Object.keys(value);
  return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.slice(0, 6).join(', ')}`;
}

export function isVolume(value: unknown): value is Volume {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Volume>;
  return (
    ArrayBuffer.isView(v.data) &&
    Array.isArray(v.shape) &&
    v.shape.length === 3 &&
    Array.isArray(v.affine) &&
    typeof v.dtype === 'string' &&
    VOLUME_DTYPES.includes(v.dtype)
  );
}

/** A window / patch size [X, Y, Z]: three positive multiples of the V-Net's size multiple (16). */
export function expectPatch(patch: unknown, what: string): Vec3 {
  if (!(Array.isArray(patch) && patch.length === 3 && patch.every((s) => Number.isInteger(s) && s > 0 && s % VNET_SIZE_MULTIPLE === 0)))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `${what}: expected 3 positive multiples of ${VNET_SIZE_MULTIPLE} [X, Y, Z], found ${JSON.stringify(patch)}`,
    );
  return [...(patch as number[])] as unknown as Vec3;
}
