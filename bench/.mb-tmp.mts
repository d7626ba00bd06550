import { createWasmBackend } from '../src/backend/wasm/index.js';
import * as ops from '../src/ops/index.js';
const threads = Number(process.env.T ?? 1);
const b = await createWasmBackend({ threads });
console.log(b.info().description);
const [ci, co, s] = (process.env.SHAPE ?? '32,32,32').split(',').map(Number);
const op = process.env.OP ?? 'f';
const x = b.upload(new Float32Array(ci * s ** 3).map(() => Math.random()), [1, ci, s, s, s]);
const w = b.upload(new Float32Array(co * ci * 27).map(() => Math.random()), [co, ci, 3, 3, 3]);
const dy = b.upload(new Float32Array(co * s ** 3).map(() => Math.random()), [1, co, s, s, s]);
const p = { stride: [1, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] } as const;
let best = Infinity, bestCpu = Infinity;
for (let r = 0; r < 6; r++) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const y = op === 'f' ? ops.conv3d(b, x, w, null, p) : op === 'd' ? ops.conv3dBackwardData(b, dy, w, { ...p, inputSpatial: [s, s, s] }) : ops.conv3dBackwardFilter(b, x, dy, { ...p, kernel: [3, 3, 3] });
  await b.sync();
  const c = process.cpuUsage(c0);
  best = Math.min(best, performance.now() - t);
  bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  b.dispose(y);
}
const gf = (ms: number) => ((2 * ci * co * 27 * s ** 3) / ms / 1e6).toFixed(2);
console.log(`${op} ${ci}->${co}@${s}: wall ${best.toFixed(1)} ms (${gf(best)} GFLOP/s), cpu ${bestCpu.toFixed(1)} ms (${gf(bestCpu)} GFLOP/s per cpu-s)`);
b.destroy();
