// What recording costs on the host: the JavaScript and Dawn work of turning a kernel call into a
// dispatch (pipeline lookup, uniforms, bind group, pass commands), apart from the GPU's own time.
// On a real GPU a tiny SDS iteration is ~3,500 small dispatches, so this cost, not the GPU, sets the
// pace (docs/reliability.md: 0.26 s per iteration on an H100). Measured on one V-Net training step
// (forward + backward, nFilters 2, a batch of 2 16^3 patches) recorded back to back; the GPU
// work is submitted and waited for outside the timed part, so the adapter's speed does not enter.
// Options: --steps 1 (timed per round: one step is ~515 dispatches, so the 512-slot uniform ring
// submits once near its end and the GPU runs little while the host records)  --rounds 15
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { VNet } from '../src/nn/vnet.js';
import { writeReport } from './support/report.js';

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

export async function main(argv: string[]): Promise<void> {
  const steps = option(argv, 'steps', 1);
  const rounds = option(argv, 'rounds', 15);
  const backend = await createWebGpuBackend();
  const net = new VNet(backend, { nFilters: 2, nClasses: 3 }, { seed: 1 });
  net.train();
  const x = backend.upload(
    new Float32Array(2 * 16 ** 3).map((_, i) => Math.sin(i)),
    [2, 1, 16, 16, 16],
  );
  const dLogits = backend.upload(new Float32Array(2 * 3 * 16 ** 3).fill(1e-3), [2, 3, 16, 16, 16]);
  const step = (): void => {
    const logits = net.forward(x);
    net.backward(dLogits);
    backend.dispose(logits);
  };
  step(); // compiles the pipelines
  await backend.sync();
  const perDispatchUs: number[] = [];
  let dispatchesPerStep = 0;
  for (let r = 0; r < rounds; r++) {
    const before = backend.stats().dispatches;
    const start = performance.now();
    for (let s = 0; s < steps; s++) step();
    const ms = performance.now() - start;
    const dispatches = backend.stats().dispatches - before;
    dispatchesPerStep = dispatches / steps;
    perDispatchUs.push((ms * 1000) / dispatches);
    await backend.sync(); // the GPU's time, outside the measurement
  }
  const best = Math.min(...perDispatchUs);
  const median = [...perDispatchUs].sort((a, b) => a - b)[Math.floor(rounds / 2)];
  const device = backend.info().description;
  console.log(
    `${device}\n${dispatchesPerStep} dispatches per step; us per dispatch by round: ${perDispatchUs.map((v) => v.toFixed(1)).join(', ')}`,
  );
  writeReport(
    'webgpu-dispatch',
    [
      {
        case: `record one V-Net nFilters 2 training step (${dispatchesPerStep} dispatches), host time per dispatch, median of ${rounds}`,
        backend: 'webgpu',
        peer: null,
        value: Number((median / 1000).toFixed(4)),
        unit: 'ms',
        peerValue: null,
        ratio: null,
        note: `best ${best.toFixed(1)} us, median ${median.toFixed(1)} us per dispatch; ${device}`,
      },
    ],
    { steps, rounds, perDispatchUs, dispatchesPerStep, device },
  );
  net.dispose();
  backend.destroy();
}
