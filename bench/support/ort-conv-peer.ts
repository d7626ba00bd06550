/**
 * Peer: onnxruntime-web's wasm execution provider running a one-node Conv model, forward only (ORT-web
 * cannot train), at the thread count sds-web runs with. Each measurement runs in a child process
 * (ort-conv-child.ts) because ORT-web fixes its thread pool once per process; the outputs come back
 * through files in a fresh temporary folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ConvGeometry, ConvOp, ConvPeer, PeerResult, PeerTiming } from './conv-data.js';

const CHILD = fileURLToPath(new URL('./ort-conv-child.ts', import.meta.url));

const readFloats = (path: string): Float32Array => {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** The peer, or null when onnxruntime-web is not installed. */
export function ortWasmConvPeer(): ConvPeer | null {
  let version: string;
  try {
    const require = createRequire(import.meta.url);
    // package.json is outside the package's exports map; read it beside the resolved entry instead.
    const entry = require.resolve('onnxruntime-web');
    version = (JSON.parse(readFileSync(join(entry, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
  return {
    name: `onnxruntime-web ${version} wasm`,
    supports: (op: ConvOp) => op === 'forward',
    async measure(geometry: ConvGeometry, _op: ConvOp, threads: number, timing: PeerTiming): Promise<PeerResult> {
      const outDir = mkdtempSync(join(tmpdir(), 'sds-bench-ort-'));
      try {
        const arg = JSON.stringify({ geometry, threads, ...timing, outDir });
        // The parent's flags (tsx's loader, --experimental-wasm-relaxed-simd) carry over to the child.
        const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, CHILD, arg], {
          maxBuffer: 1 << 20,
        });
        const lines = stdout.trim().split('\n');
        const answer = JSON.parse(lines[lines.length - 1]) as {
          ms: number;
          reps: number;
          cpuMs: number;
          busyThreads: number | null;
        };
        return {
          ms: answer.ms,
          reps: answer.reps,
          cpuMs: answer.cpuMs,
          output: readFloats(join(outDir, 'output.f32')),
          smallOutput: readFloats(join(outDir, 'small.f32')),
          note: `numThreads ${threads}, ${answer.busyThreads ?? '?'} OS thread(s) busy`,
        };
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
    },
  };
}
