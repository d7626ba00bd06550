/**
 * Child process of bench/infer.ts: whole-volume sliding-window inference with onnxruntime-web (wasm
 * provider, or its WebGPU provider with `executionProvider: 'webgpu'`) through segmentWithOnnxRuntime.
 * ORT-web fixes its thread count when its wasm module first initialises, once per process, hence a
 * process of its own. Argument: JSON { model, scan, threads, roi, overlap, out, executionProvider?, crop? }.
 * Writes the label map to `out` and prints one JSON line { seconds, warmupSeconds, firstWindowSeconds,
 * adapter? }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { createOrtSession } from '../../src/onnx/ort-session.js';
import { segmentWithOnnxRuntime } from '../../src/onnx/segment.js';
import { cropOrPad } from '../../src/volume/crop-pad.js';
import { readHdf5Volumes } from '../../src/volume/index.js';
import { adapterName, installNavigatorGpu } from './node-navigator-gpu.js';

interface ChildArgs {
  readonly model: string;
  readonly scan: string;
  readonly threads: number;
  readonly roi: [number, number, number];
  readonly overlap: number;
  readonly out: string;
  readonly executionProvider?: 'wasm' | 'webgpu';
  /** A centred crop of the scan, as bench/infer.ts --crop takes it. */
  readonly crop?: [number, number, number];
}

const args = JSON.parse(process.argv[2]) as ChildArgs;
const provider = args.executionProvider ?? 'wasm';
let adapter: string | undefined;
if (provider === 'webgpu') {
  // In Node, `import('onnxruntime-web')` resolves to ORT's Node build, which has the wasm provider
  // only. The WebGPU provider is in the JSEP build (dist/ort.min.mjs with ort-wasm-simd-threaded.jsep.*,
  // what browsers get from the same import), so that import is redirected to it by a resolve hook,
  // and navigator.gpu is provided from Dawn before ORT initialises.
  const jsep = new URL('ort.min.mjs', import.meta.resolve('onnxruntime-web')).href;
  const hook =
    `export async function resolve(s, c, next) { return s === 'onnxruntime-web' ? ` +
    `{ url: ${JSON.stringify(jsep)}, shortCircuit: true } : next(s, c); }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  adapter = adapterName(await installNavigatorGpu());
}
const model = new Uint8Array(readFileSync(args.model));
const scan = (await readHdf5Volumes(new Uint8Array(readFileSync(args.scan)), args.scan)).image;
const image = args.crop ? cropOrPad(scan, args.crop) : scan;
// Warm-up outside the timing: ORT compiles its wasm module once per process (seconds), which a page
// pays once too; the timed call still creates (and optimises) its own session, as a user's call does.
// On WebGPU the warm-up only creates a session (wasm start-up, WebGPU device): a run would compile
// shaders for a shape the timed call does not use (minutes on SwiftShader), and the timed call is to
// include its own shader compilation, as sds-web's does.
let t0 = performance.now();
const warm = await createOrtSession(model, { threads: args.threads, executionProvider: provider });
if (provider === 'wasm') await warm.run(new Float32Array(16 * 16 * 16), [1, 1, 16, 16, 16]);
await warm.release();
const warmupSeconds = (performance.now() - t0) / 1000;
let firstWindowSeconds = 0;
t0 = performance.now();
const labels = await segmentWithOnnxRuntime(model, image, {
  roiSize: args.roi,
  overlap: args.overlap,
  blend: 'gaussian',
  threads: args.threads,
  executionProvider: provider,
  onProgress: (p) => {
    const at = (performance.now() - t0) / 1000;
    if (p.window === 1) firstWindowSeconds = at;
    process.stderr.write(`  ort: window ${p.window}/${p.windows} at ${at.toFixed(1)} s\n`);
  },
});
const seconds = (performance.now() - t0) / 1000;
writeFileSync(args.out, labels.data);
process.stdout.write(`${JSON.stringify({ seconds, warmupSeconds, firstWindowSeconds, adapter })}\n`);
// ORT's pthread workers keep the event loop alive; the answer is written, so leave now.
process.exit(0);
