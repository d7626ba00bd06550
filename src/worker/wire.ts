/**
 * What crosses the worker boundary besides plain data: errors (SdsError codes survive), the buffers
 * of Volumes (transferred, not copied), and cancellation (a shared flag where SharedArrayBuffer exists,
 * plus a message, so an abort lands even while the worker's event loop is busy training).
 */
import { SdsError, type SdsErrorCode } from '../core/errors.js';
import { isVolume } from '../api/values.js';

/** An error as it crosses: Comlink clones thrown non-Error values as they are. */
export interface WireError {
  readonly sdsWireError: true;
  readonly code: SdsErrorCode | null;
  readonly name: string;
  /** Without the "CODE: " prefix SdsError adds. */
  readonly message: string;
  readonly details: Record<string, unknown>;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof SdsError) {
    const prefix = `${e.code}: `;
    let details: Record<string, unknown> = {};
    try {
      details = JSON.parse(JSON.stringify(e.details)) as Record<string, unknown>;
    } catch {
      // Details that do not survive JSON stay behind; the message says what went wrong.
    }
    return {
      sdsWireError: true,
      code: e.code,
      name: e.name,
      message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message,
      details,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { sdsWireError: true, code: null, name: err.name, message: err.message, details: {} };
}

export function fromWireError(e: unknown): unknown {
  if (e === null || typeof e !== 'object' || !(e as Partial<WireError>).sdsWireError) return e;
  const w = e as WireError;
  if (w.code !== null) return new SdsError(w.code, w.message, w.details);
  const err = new Error(w.message);
  err.name = w.name;
  return err;
}

/** Link of one cancellable call: its id (for the abort message) and, where possible, a shared flag. */
export interface AbortLink {
  readonly id: number;
  /** Int32Array over a SharedArrayBuffer: element 0 becomes 1 on abort. */
  readonly flag?: Int32Array;
}

/** The ArrayBuffers under every Volume in `value` (deduplicated; shared memory cannot be transferred). */
export function volumeBuffers(value: unknown, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (isVolume(value)) {
    const buffer = value.data.buffer;
    if (buffer instanceof ArrayBuffer) out.add(buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) volumeBuffers(v, out);
  } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    for (const v of Object.values(value)) volumeBuffers(v, out);
  }
  return [...out];
}
