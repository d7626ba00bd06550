/**
 * Child process of bench/infer.ts: whole-volume sliding-window inference with onnxruntime-web (wasm
 * provider) through segmentWithOnnxRuntime. ORT-web fixes its thread count when its wasm module first
 * initialises, once per process, hence a process of its own. Argument: JSON { model, scan, threads,
 * roi, overlap, out }. Writes the label map to `out` and prints one JSON line { seconds, warmupSeconds }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createOrtSession } from '../../src/onnx/ort-session.js';
import { segmentWithOnnxRuntime } from '../../src/onnx/segment.js';
import { readHdf5Volumes } from '../../src/volume/index.js';

interface ChildArgs {
  readonly model: string;
  readonly scan: string;
  readonly threads: number;
  readonly roi: [number, number, number];
  readonly overlap: number;
  readonly out: string;
}

const args = JSON.parse(process.argv[2]) as ChildArgs;
const model = new Uint8Array(readFileSync(args.model));
const { image } = await readHdf5Volumes(new Uint8Array(readFileSync(args.scan)), args.scan);
// Warm-up outside the timing: ORT compiles its wasm module once per process (seconds), which a page
// pays once too; the timed call still creates (and optimises) its own session, as a user's call does.
let t0 = performance.now();
const warm = await createOrtSession(model, { threads: args.threads });
await warm.run(new Float32Array(16 * 16 * 16), [1, 1, 16, 16, 16]);
await warm.release();
const warmupSeconds = (performance.now() - t0) / 1000;
t0 = performance.now();
const labels = await segmentWithOnnxRuntime(model, image, {
  roiSize: args.roi,
  overlap: args.overlap,
  blend: 'gaussian',
  threads: args.threads,
  onProgress: (p) => process.stderr.write(`  ort: window ${p.window}/${p.windows} at ${((performance.now() - t0) / 1000).toFixed(1)} s\n`),
});
const seconds = (performance.now() - t0) / 1000;
writeFileSync(args.out, labels.data);
process.stdout.write(`${JSON.stringify({ seconds, warmupSeconds })}\n`);
// ORT's pthread workers keep the event loop alive; the answer is written, so leave now.
process.exit(0);
