// Export -> onnxruntime-web (wasm provider, in Node) parity on real hippocampus scans.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { SdsError } from '../src/core/errors.js';
import { segmentVolume } from '../src/infer/index.js';
import { createSegmenter } from '../src/api/index.js';
import { main } from '../src/cli/main.js';
import { readNifti } from '../src/volume/index.js';
import { checkpointConfig, loadVNet, readSafetensors, saveVNet } from '../src/nn/index.js';
import { VNet } from '../src/nn/vnet.js';
import { createOrtSession, exportVNetOnnx, importVNetOnnx, segmentWithOnnxRuntime } from '../src/onnx/index.js';
import { onnx } from '../src/onnx/proto.js';
import { balanceClasses, cropNcdhw, hippocampusScan, maxRelativeError, trainedLookingVNet } from './onnx-helpers.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

ensureWasmBuilt();

const PRETRAINED = fileURLToPath(new URL('../examples/models/vnet16-hippocampus.safetensors', import.meta.url));

let backend: Backend;
let net: VNet;
const scan = hippocampusScan('hippocampus_001');
const WINDOW: [number, number, number] = [32, 48, 32]; // Volume axes [X, Y, Z]
const crop = cropNcdhw(scan, [2, 1, 2], WINDOW);
const cropShape = [1, 1, WINDOW[2], WINDOW[1], WINDOW[0]];

async function ours(model: VNet, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const input = backend.upload(x, shape);
  const logits = model.forward(input);
  backend.dispose(input);
  const out = (await backend.read(logits)) as Float32Array;
  backend.dispose(logits);
  return out;
}

async function ortLogits(model: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await createOrtSession(model, { threads: 1 });
  try {
    return (await session.run(x, shape)).data;
  } finally {
    await session.release();
  }
}

const opTypes = (model: Uint8Array): string[] => onnx.ModelProto.decode(model).graph!.node!.map((n) => n.opType!);

beforeAll(async () => {
  backend = await createWasmBackend({ threads: 1 });
  net = await trainedLookingVNet(backend, { nFilters: 4 });
});

afterAll(() => {
  net.dispose();
  backend.destroy();
});

describe('exportVNetOnnx -> onnxruntime-web wasm', () => {
  it('folded BatchNorm: logits equal ours within 1e-4 relative on a real scan crop, and at a second size on the same session', async () => {
    const model = await exportVNetOnnx(backend, net);
    const ops = opTypes(model);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Dropout');
    expect(ops.filter((o) => o === 'ConvTranspose')).toHaveLength(4);
    const io = onnx.ModelProto.decode(model).graph!;
    expect(io.input![0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 1, 'D', 'H', 'W']);
    expect(io.output![0].name).toBe('logits');

    const session = await createOrtSession(model, { threads: 1 });
    try {
      const a = await session.run(crop, cropShape);
      expect(a.shape).toEqual([1, 2, 32, 48, 32]);
      expect(maxRelativeError(a.data, await ours(net, crop, cropShape))).toBeLessThan(1e-4);
      // Dynamic N, D, H, W: a batch of two other-sized crops through the same session.
      const small = [1, 1, 16, 32, 16];
      const two = new Float32Array(2 * 16 * 32 * 16);
      two.set(cropNcdhw(scan, [0, 0, 0], [16, 32, 16]));
      two.set(cropNcdhw(scan, [19, 19, 19], [16, 32, 16]), two.length / 2);
      const b = await session.run(two, [2, 1, 16, 32, 16]);
      expect(b.shape).toEqual([2, 2, 16, 32, 16]);
      const mine = new Float32Array(b.data.length);
      mine.set(await ours(net, two.subarray(0, two.length / 2), small));
      mine.set(await ours(net, two.subarray(two.length / 2), small), mine.length / 2);
      expect(maxRelativeError(b.data, mine)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  });

  it('BatchNormalization kept (foldBatchNorm false) and webgpu-compatible up-sampling give the same logits', async () => {
    const want = await ours(net, crop, cropShape);
    const kept = await exportVNetOnnx(backend, net, { foldBatchNorm: false });
    expect(opTypes(kept).filter((o) => o === 'BatchNormalization')).toHaveLength(29);
    expect(maxRelativeError(await ortLogits(kept, crop, cropShape), want)).toBeLessThan(1e-4);
    const shuffled = await exportVNetOnnx(backend, net, { upsampling: 'webgpu-compatible' });
    expect(opTypes(shuffled)).not.toContain('ConvTranspose');
    expect(maxRelativeError(await ortLogits(shuffled, crop, cropShape), want)).toBeLessThan(1e-4);
  });

  it('InstanceNorm V-Net exports as InstanceNormalization and matches', async () => {
    const inet = new VNet(backend, { nFilters: 2, nClasses: 3, normalization: 'instance' }, { seed: 5 });
    inet.eval();
    const model = await exportVNetOnnx(backend, inet);
    expect(opTypes(model).filter((o) => o === 'InstanceNormalization')).toHaveLength(29);
    expect(maxRelativeError(await ortLogits(model, crop, cropShape), await ours(inet, crop, cropShape))).toBeLessThan(1e-4);
    inet.dispose();
  });

  it('export -> importVNetOnnx round trip: the imported checkpoint loads and gives the same logits (folded and kept BN)', async () => {
    const want = await ours(net, crop, cropShape);
    for (const foldBatchNorm of [true, false]) {
      const ckpt = importVNetOnnx(await exportVNetOnnx(backend, net, { foldBatchNorm }));
      const config = checkpointConfig(readSafetensors(ckpt).metadata)!;
      expect(config).toMatchObject({ nFilters: 4, nClasses: 2, normalization: 'batch' });
      const copy = new VNet(backend, config);
      loadVNet(backend, copy, ckpt);
      copy.eval();
      expect(maxRelativeError(await ours(copy, crop, cropShape), want)).toBeLessThan(1e-5);
      copy.dispose();
    }
  });

  it("a V-Net without normalisation exports and imports back (unnormalized: 'none')", async () => {
    const plain = new VNet(backend, { nFilters: 2, normalization: 'none' }, { seed: 4 });
    plain.eval();
    const model = await exportVNetOnnx(backend, plain);
    const want = await ours(plain, crop, cropShape);
    expect(maxRelativeError(await ortLogits(model, crop, cropShape), want)).toBeLessThan(1e-4);
    const ckpt = importVNetOnnx(model, { unnormalized: 'none' });
    const copy = new VNet(backend, checkpointConfig(readSafetensors(ckpt).metadata)!);
    expect(copy.config.normalization).toBe('none');
    loadVNet(backend, copy, ckpt);
    copy.eval();
    expect(maxRelativeError(await ours(copy, crop, cropShape), want)).toBeLessThan(1e-6);
    copy.dispose();
    plain.dispose();
  });

  it('the pretrained V-Net16 (examples/models) on one real window: ORT logits equal ours', async () => {
    const ckpt = new Uint8Array(readFileSync(PRETRAINED));
    const pretrained = new VNet(backend, checkpointConfig(readSafetensors(ckpt).metadata)!);
    loadVNet(backend, pretrained, ckpt);
    pretrained.eval();
    // A 16x32x32 window (Volume axes) keeps the test short; the benchmark runs whole LA scans.
    const x = cropNcdhw(scan, [8, 8, 2], [16, 32, 32]);
    const shape = [1, 1, 32, 32, 16];
    const got = await ortLogits(await exportVNetOnnx(backend, pretrained), x, shape);
    expect(maxRelativeError(got, await ours(pretrained, x, shape))).toBeLessThan(1e-4);
    pretrained.dispose();
  });
});

describe('segmentWithOnnxRuntime', () => {
  it('labels equal segmentVolume on a whole real scan (tiny net, balanced classes)', async () => {
    const tiny = await trainedLookingVNet(backend, { nFilters: 2 }, 7);
    await balanceClasses(backend, tiny, crop, cropShape);
    const options = { overlap: 0.5, largestComponent: true } as const;
    const want = await segmentVolume(backend, tiny, scan, { roiSize: WINDOW, overlap: 0.5, mode: 'gaussian', largestComponent: true });
    const progress: number[] = [];
    const got = await segmentWithOnnxRuntime(await exportVNetOnnx(backend, tiny), scan, {
      ...options,
      roiSize: WINDOW,
      threads: 1,
      onProgress: (p) => progress.push(p.window),
    });
    expect(got.shape).toEqual(scan.shape);
    const foreground = want.data.reduce((n, v) => n + v, 0);
    expect(foreground).toBeGreaterThan(want.data.length / 10);
    expect(foreground).toBeLessThan(want.data.length * 0.9);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Left-right flip TTA (SegmentOptions.tta) on one window: segmentVolume's flipAxes [0] (Volume x).
    const window = { ...scan, data: crop, shape: WINDOW };
    const flipped = await segmentVolume(backend, tiny, window, { roiSize: WINDOW, mode: 'gaussian', flipAxes: [0] });
    const tta = await segmentWithOnnxRuntime(await exportVNetOnnx(backend, tiny), window, { roiSize: WINDOW, tta: true });
    expect(Array.from(tta.data)).toEqual(Array.from(flipped.data));
    // Through the public API (one window): segment(scan, { engine: 'onnxruntime' }) gives the default engine's labels.
    const segmenter = await createSegmenter({ backend: 'wasm', threads: 1, model: await saveVNet(backend, tiny), patch: WINDOW });
    try {
      const viaOrt = await segmenter.segment(window, { engine: 'onnxruntime' });
      expect(Array.from(viaOrt.data)).toEqual(Array.from((await segmenter.segment(window)).data));
      expect(viaOrt.data.reduce((n, v) => n + v, 0)).toBeGreaterThan(viaOrt.data.length / 10);
    } finally {
      await segmenter.dispose();
    }
    tiny.dispose();
  });

  it("executionProvider 'webgpu' with a ConvTranspose export fails with E_ONNX naming onnxruntime issue 28356", async () => {
    const model = await exportVNetOnnx(backend, net);
    const err = await createOrtSession(model, { executionProvider: 'webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdsError);
    expect((err as SdsError).code).toBe('E_ONNX');
    expect((err as SdsError).message).toMatch(/ConvTranspose.*28356.*webgpu-compatible/s);
    await expect(segmentWithOnnxRuntime(model, scan, { roiSize: WINDOW, executionProvider: 'webgpu' })).rejects.toThrow(/28356/);
  });

  it('bytes that are not a V-Net ONNX model fail with E_ONNX', async () => {
    await expect(createOrtSession(new Uint8Array([1, 2, 3, 4, 5]))).rejects.toMatchObject({ code: 'E_ONNX' });
  });
});

describe('one inference path: the CLI, the API and the ONNX Runtime engine', () => {
  it('give the same label map for the same options (defaults, and overlap 0.25 + TTA without LCC)', async () => {
    const tiny = await trainedLookingVNet(backend, { nFilters: 2 }, 7);
    await balanceClasses(backend, tiny, crop, cropShape);
    const dir = mkdtempSync(join(tmpdir(), 'sds-one-path-'));
    const input = fileURLToPath(new URL('../examples/data/images/hippocampus_001.nii.gz', import.meta.url));
    const model = join(dir, 'tiny.safetensors');
    writeFileSync(model, await saveVNet(backend, tiny));
    const segmenter = await createSegmenter({ backend: 'wasm', threads: 1, model });
    const quiet = [
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true),
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
    ];
    try {
      const cases = [
        { flags: [] as string[], options: {} },
        { flags: ['--overlap', '0.25', '--tta', '--no-lcc'], options: { overlap: 0.25, tta: true, largestComponent: false } },
      ];
      for (const { flags, options } of cases) {
        const out = join(dir, `cli-${flags.length}.nii.gz`);
        const code = await main([
          'segment',
          '--model',
          model,
          input,
          '--out',
          out,
          '--backend',
          'wasm',
          '--threads',
          '1',
          '--json',
          ...flags,
        ]);
        expect(code).toBe(0);
        const cli = Array.from(readNifti(readFileSync(out), out).data);
        const api = Array.from((await segmenter.segment(input, options)).data);
        const ort = Array.from((await segmenter.segment(input, { ...options, engine: 'onnxruntime' })).data);
        const foreground = api.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
        expect(foreground).toBeGreaterThan(api.length / 20);
        expect(foreground).toBeLessThan(api.length * 0.95);
        expect(cli).toEqual(api);
        expect(ort).toEqual(api);
      }
    } finally {
      quiet.forEach((spy) => spy.mockRestore());
      await segmenter.dispose();
      tiny.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
