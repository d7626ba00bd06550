// Run in a child process (possibly with --experimental-wasm-relaxed-simd): creates the wasm backend
// with the options in argv[2] (JSON), runs one convolution on it and on the reference backend, and
// prints the variant it got and the convolution's error as JSON on stdout.
import { createReferenceBackend } from '../../src/ops/reference/index.js';
import { createWasmBackend } from '../../src/backend/wasm/index.js';
import * as ops from '../../src/ops/index.js';
import { randomFloat32 } from './random-data.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const wasm = await createWasmBackend(options);
const reference = createReferenceBackend();
const x = randomFloat32(11, [2, 5, 6, 7, 9]);
const w = randomFloat32(12, [6, 5, 3, 3, 3]);
const params = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
const run = async (b: typeof wasm): Promise<Float32Array> =>
  (await b.read(ops.conv3d(b, b.upload(x.data, x.shape), b.upload(w.data, w.shape), null, params))) as Float32Array;
function relativeError(got: Float32Array, ref: Float32Array): number {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  }
  return maxDiff / maxRef;
}
const error = relativeError(await run(wasm), await run(reference));
console.log(JSON.stringify({ details: wasm.info().details, error }));
wasm.destroy();
