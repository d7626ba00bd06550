// Device loss on WebGPU (SwiftShader, tiny shapes): GPUDevice.destroy() in the
// middle of training stops trainSds with E_DEVICE_LOST, the checkpoints already handed out stay
// usable, and the run continues on wasm from the last one (checkpoints are backend-independent).
// Inference on a device lost mid-run fails the same way.
// The training run is the tiny run in supervised mode: device loss does not depend on the SDS parts,
// and one supervised iteration on SwiftShader costs ~10 CPU-s against ~50 for an SDS one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createBackend } from '../src/api/create-backend.js';
import { acquireDevice } from '../src/backend/webgpu/device.js';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { SdsError } from '../src/core/errors.js';
import { segmentVolume } from '../src/infer/index.js';
import { VNet } from '../src/nn/vnet.js';
import { parseCheckpoint } from '../src/train/checkpoint/checkpoint.js';
import { resolveSdsConfig } from '../src/train/sds/config.js';
import { trainSds } from '../src/train/sds/trainer.js';
import { tinyConfig, tinyScans, type TinyRun } from './support/tiny-sds-run.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

let scans: TinyRun;
let wasm: Backend;
beforeAll(async () => {
  scans = await tinyScans();
  ensureWasmBuilt();
  wasm = await createBackend('wasm', { threads: 1 });
});
afterAll(() => wasm?.destroy());

/** The tiny run, one network (stage-1 style supervised steps), checkpoint every iteration. */
const supervised = (iterations: number): ReturnType<typeof tinyConfig> => resolveSdsConfig({ mode: 'supervised' }, tinyConfig(iterations));

describe('GPUDevice lost mid-run (WebGPU on SwiftShader)', () => {
  it('training stops with E_DEVICE_LOST, keeps the last checkpoint, and continues on wasm from it', async () => {
    const { device } = await acquireDevice();
    const gpu = await createWebGpuBackend({ device });
    const checkpoints: Uint8Array[] = [];
    const gpuLosses: number[][] = [];
    const error = await trainSds({
      backend: gpu,
      ...scans,
      config: supervised(3),
      onCheckpoint: (bytes) => {
        checkpoints.push(bytes);
        device.destroy(); // right after the first checkpoint: iteration 2 starts on a lost device
      },
      onEvent: (e) => {
        if (e.type === 'iteration') gpuLosses.push([...e.losses]);
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SdsError);
    expect((error as SdsError).code).toBe('E_DEVICE_LOST');
    expect((error as SdsError).message).toMatch(/resume the last one with createBackend\('wasm'\)/);
    expect(gpuLosses).toHaveLength(1);
    expect(checkpoints).toHaveLength(1);
    expect(parseCheckpoint(checkpoints[0]).meta.iteration).toBe(1);
    gpu.destroy(); // destroying a backend whose device is gone must not throw

    // the GPU's checkpoint goes on on wasm: iteration 2 onward, finite losses
    const resumed = await trainSds({ backend: wasm, ...scans, config: supervised(2), resume: checkpoints[0] });
    expect(resumed.history.map((h) => h.iteration)).toEqual([2]);
    for (const l of resumed.history[0].losses) expect(Number.isFinite(l) && l > 0).toBe(true);
  }, 120_000);

  it('inference stops with E_DEVICE_LOST when the device is destroyed while it runs', async () => {
    const { device } = await acquireDevice();
    const gpu = await createWebGpuBackend({ device });
    const net = new VNet(gpu, { nFilters: 2, nClasses: 3 }, { seed: 1 });
    const image = scans.unlabeled[0];
    const running = segmentVolume(gpu, net, image, { roiSize: [16, 16, 16] });
    device.destroy(); // segmentVolume has recorded its first work and is awaiting the GPU
    await expect(running).rejects.toMatchObject({ code: 'E_DEVICE_LOST' });
    await expect(gpu.read(net.parameters()[0].value)).rejects.toMatchObject({ code: 'E_DEVICE_LOST' });
    gpu.destroy();
  }, 120_000);
});
