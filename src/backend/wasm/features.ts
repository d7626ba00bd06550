/**
 * Feature probes and the choice of module variant. Probes validate tiny hand-assembled modules
 * (SIMD: f32x4.add; relaxed SIMD: f32x4.relaxed_madd), never the kernels themselves, so the answer
 * does not depend on what the kernels happen to use.
 */
import { SdsError } from '../../core/errors.js';

const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** One type: () -> v128; one function of that type. */
const signature = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00];
const v128Const = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];

function moduleReturning(operandCount: number, opcode: readonly number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...Array.from({ length: operandCount }, () => v128Const).flat(), ...opcode, 0x0b];
  return new Uint8Array([...header, ...signature, 0x0a, body.length + 2, 0x01, body.length, ...body]);
}

/** f32x4.add (0xfd 0xe4 0x01) of two constants. */
export const SIMD_PROBE = moduleReturning(2, [0xfd, 0xe4, 0x01]);
/** f32x4.relaxed_madd (0xfd 0x85 0x02) of three constants. */
export const RELAXED_SIMD_PROBE = moduleReturning(3, [0xfd, 0x85, 0x02]);

export interface WasmFeatures {
  readonly simd: boolean;
  readonly relaxedSimd: boolean;
  /** SharedArrayBuffer and shared WebAssembly.Memory exist (browsers: cross-origin isolated pages only). */
  readonly sharedMemory: boolean;
}

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

export function detectFeatures(): WasmFeatures {
  return { simd: validates(SIMD_PROBE), relaxedSimd: validates(RELAXED_SIMD_PROBE), sharedMemory: canShareMemory() };
}

export interface VariantRequest {
  readonly threads: number;
  readonly relaxedSimd: boolean | 'auto';
}

export interface VariantChoice {
  /** Name of the binary in build/wasm/binaries.js. */
  readonly binary: 'simdShared' | 'relaxedShared' | 'simdSingle' | 'relaxedSingle';
  readonly relaxedSimd: boolean;
  readonly threads: number;
  /** Why the backend runs with fewer threads or without relaxed SIMD than asked, if it does. */
  readonly notes: readonly string[];
}

/**
 * Picks the binary for what was asked and what the engine has. Missing relaxed SIMD or shared memory
 * downgrades (and says so in `notes`); only missing SIMD itself fails, since every kernel needs it.
 */
export function chooseVariant(request: VariantRequest, features: WasmFeatures): VariantChoice {
  if (!features.simd) {
    throw new SdsError('E_WASM_UNAVAILABLE', 'the wasm backend needs WebAssembly SIMD (v128); this engine does not validate it');
  }
  const notes: string[] = [];
  let relaxed = request.relaxedSimd === true || (request.relaxedSimd === 'auto' && features.relaxedSimd);
  if (relaxed && !features.relaxedSimd) {
    notes.push('relaxed SIMD was requested but the engine lacks it (Node 20: --experimental-wasm-relaxed-simd); using plain SIMD');
    relaxed = false;
  }
  let threads = request.threads;
  if (threads > 1 && !features.sharedMemory) {
    notes.push(
      `${threads} threads were requested but SharedArrayBuffer is unavailable (page not cross-origin isolated); running single-threaded`,
    );
    threads = 1;
  }
  const shared = threads > 1;
  const binary = relaxed ? (shared ? 'relaxedShared' : 'relaxedSingle') : shared ? 'simdShared' : 'simdSingle';
  return { binary, relaxedSimd: relaxed, threads, notes };
}
