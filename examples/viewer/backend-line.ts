/**
 * The "which backend runs, and why" lines of the page, from the segmenter's info() and the page's own
 * cross-origin isolation (which decides whether the wasm backend may use threads).
 */
import type { SegmenterInfo } from '../../src/api/types.js';

export interface BackendLines {
  /** e.g. "WebGPU: SwiftShader Device (Subzero)" or "wasm: 2 threads, relaxed SIMD" */
  readonly line: string;
  /** Why this backend (the SDK's reasons, one per line). */
  readonly why: string;
  /** The first reason cut to one short sentence, for the summary line. */
  readonly whyShort: string;
  /** Shown when the page is not cross-origin isolated; null otherwise. */
  readonly isolationNote: string | null;
}

export function describeBackend(info: SegmenterInfo, crossOriginIsolated: boolean): BackendLines {
  let line: string;
  if (info.backend === 'webgpu') {
    line = `WebGPU: ${info.adapter ?? info.description}`;
  } else if (info.backend === 'wasm') {
    const threads = info.threads ?? 1;
    line = `wasm: ${threads} thread${threads === 1 ? '' : 's'}, ${info.relaxedSimd ? 'relaxed SIMD (FMA)' : 'SIMD (no relaxed SIMD)'}`;
  } else {
    line = `${info.backend}: ${info.description}`;
  }
  const isolationNote = crossOriginIsolated
    ? null
    : 'This page is not cross-origin isolated (no COOP/COEP headers), so SharedArrayBuffer is unavailable: ' +
      'the wasm backend runs on a single thread. Serve it with `npm run viewer` for threads.';
  const first = info.reasons[0] ?? '';
  const whyShort = first.length > 70 ? `${first.slice(0, 67)}…` : first;
  return { line, why: info.reasons.join('\n'), whyShort: `why: ${whyShort}`, isolationNote };
}
