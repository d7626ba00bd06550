// The public API end to end on wasm with a tiny V-Net (nFilters 2) and tiny crops of real
// hippocampus scans (examples/data): finetune with progress, segment, save -> load round trip, info(),
// argument errors; and one WebGPU (SwiftShader) run with the smallest shapes.
import { register } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSegmenter } from '../src/api/index.js';
import type { FinetuneConfig, FinetuneProgress, Segmenter } from '../src/api/types.js';
import { SdsError } from '../src/core/errors.js';
import { readSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { cropOrPad, type Volume, writeImageNifti } from '../src/volume/index.js';
import { type LabeledScan, loadApiScans } from './support/api-scans.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

register('../bench/support/wgsl-loader.mjs', import.meta.url);

const NETWORK = { nFilters: 2, nClasses: 3 };
// The API's mechanics, on METHOD.md's SDS (a named mode: on trained weights no mode means the
// adaptation recipe, whose warm-up and batch-norm passes test/train-adapt.test.ts covers).
const CONFIG: FinetuneConfig = {
  mode: 'sds',
  seed: 5,
  labeledBatch: 4,
  unlabeledBatch: 4,
  stage1Iterations: 1,
  iterations: 2,
  validateEvery: 1,
  checkpointEvery: 100,
};

type Scan = LabeledScan;
let labeled: Scan[];
let unlabeled: Volume[];
let heldOut: Scan;

beforeAll(async () => {
  ensureWasmBuilt();
  const scans = await loadApiScans();
  labeled = scans.labeled;
  unlabeled = scans.unlabeled;
  heldOut = scans.heldOut;
});

describe('createSegmenter on wasm (1 thread, nFilters 2, patch 16^3)', () => {
  let seg: Segmenter;
  let trainedLabels: Volume<Uint8Array>;
  beforeAll(async () => {
    seg = await createSegmenter({ backend: 'wasm', threads: 1, network: NETWORK, patch: [16, 16, 16], seed: 3 });
  });
  afterAll(() => seg?.dispose());

  it('info() says what runs and why', () => {
    const info = seg.info();
    expect(info).toMatchObject({ backend: 'wasm', threads: 1, patch: [16, 16, 16], trained: false });
    expect(info.network).toMatchObject({ nFilters: 2, nClasses: 3, inChannels: 1 });
    expect(info.reasons).toEqual(['wasm: requested', expect.stringMatching(/^wasm: WebAssembly .*SIMD.*1 thread$/)]);
    // The plan of the fine-tuning step (batch 2 by default) matches nn/memory-plan for [16,16,16].
    expect(seg.memoryPlan().parameterCount).toBeGreaterThan(1000);
    expect(seg.memoryPlan({ batch: 4 }).bytes.io).toBe(2 * seg.memoryPlan({ batch: 2 }).bytes.io);
  });

  it('finetunes: stage 1 (1) + stage 2 (2) with progress to fraction 1, validation Dice, the teacher deployed', async () => {
    const events: FinetuneProgress[] = [];
    const result = await seg.finetune({
      labeled,
      unlabeled,
      validation: [heldOut],
      config: CONFIG,
      onProgress: (e) => events.push(e),
    });
    expect(result).toMatchObject({ stage1Iterations: 1, iterations: 2, aborted: false, deployed: 'teacher', patch: [16, 16, 16] });
    const iterations = events.filter((e) => e.type === 'iteration');
    expect(iterations.map((e) => [e.phase, e.iteration, e.of, e.fraction])).toEqual([
      ['stage1', 1, 1, 1 / 3],
      ['stage2', 1, 2, 2 / 3],
      ['stage2', 2, 2, 1],
    ]);
    for (const e of iterations) for (const l of e.losses) expect(Number.isFinite(l)).toBe(true);
    expect(events.filter((e) => e.type === 'validation').length).toBe(3);
    expect(events.at(-1)).toEqual({ type: 'done', fraction: 1 });
    expect(Object.keys(result.bestDice).sort()).toEqual(['student1', 'student2', 'teacher']);
    expect(seg.info().trained).toBe(true);
  });

  it('segments on the input grid with progress, and save -> load gives identical labels', async () => {
    const fractions: number[] = [];
    trainedLabels = await seg.segment(heldOut.image, { onProgress: (p) => fractions.push(p.fraction) });
    expect(trainedLabels.shape).toEqual(heldOut.image.shape);
    expect(trainedLabels.data).toBeInstanceOf(Uint8Array);
    expect(Math.max(...trainedLabels.data)).toBeLessThan(3);
    // 20x24x20 with a 16^3 window at overlap 0.5 (MONAI: stride 8, ceil((size - 16) / 8) + 1 per axis): 2 x 2 x 2.
    expect(fractions.length).toBe(8);
    expect(fractions.at(-1)).toBe(1);

    const bytes = await seg.save();
    const file = readSafetensors(bytes);
    expect(JSON.parse(file.metadata['sds.patch'])).toEqual([16, 16, 16]);
    expect(JSON.parse(file.metadata['sds.config'])).toMatchObject(NETWORK);
    // A new segmenter from the bytes: its config and patch come from the file.
    const copy = await createSegmenter({ backend: 'wasm', threads: 1, model: bytes });
    try {
      expect(copy.info()).toMatchObject({ patch: [16, 16, 16], trained: true, network: { nFilters: 2 } });
      const again = await copy.segment(heldOut.image);
      expect(again.data).toEqual(trainedLabels.data);
      // load() on a fresh segmenter of another width replaces its network.
      const other = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 4, nClasses: 2 } });
      await other.load(bytes);
      expect(other.info().network.nFilters).toBe(2);
      expect((await other.segment(heldOut.image)).data).toEqual(trainedLabels.data);
      await other.dispose();
    } finally {
      await copy.dispose();
    }
  });

  it('reads NIfTI bytes like the Volume, and segments students of the last run', async () => {
    const bytes = writeImageNifti(heldOut.image);
    const fromBytes = await seg.segment({ name: 'scan.nii.gz', bytes });
    expect(fromBytes.data).toEqual(trainedLabels.data);
    const s1 = await seg.segment(heldOut.image, { network: 'student1' });
    expect(s1.shape).toEqual(heldOut.image.shape);
    // TTA and constant blending run (4 forward passes per window) and give labels on the same grid.
    const tta = await seg.segment(heldOut.image, { tta: true, blend: 'constant', largestComponent: false });
    expect(tta.data.length).toBe(trainedLabels.data.length);
  });

  it('exportOnnx -> a segmenter from the ONNX bytes gives identical labels (import through src/onnx)', async () => {
    const onnx = await seg.exportOnnx();
    expect(onnx[0]).toBe(0x08); // ModelProto field 1 (ir_version), not a safetensors header
    const fromOnnx = await createSegmenter({ backend: 'wasm', threads: 1, model: onnx, patch: [16, 16, 16] });
    try {
      expect(fromOnnx.info().network).toMatchObject(NETWORK);
      expect((await fromOnnx.segment(heldOut.image)).data).toEqual(trainedLabels.data);
    } finally {
      await fromOnnx.dispose();
    }
  });

  it('runs calls in order: a segment queued behind a finetune sees the finetuned weights', async () => {
    const before = await seg.save();
    const ft = seg.finetune({ labeled, unlabeled, config: { ...CONFIG, iterations: 1 } });
    const after = seg.segment(heldOut.image);
    const saved = seg.save();
    const [r, , bytes] = await Promise.all([ft, after, saved]);
    expect(r.stage1Iterations).toBe(0); // trained weights: stage 1 is skipped
    expect(r.iterations).toBe(1);
    expect(bytes).not.toEqual(before);
  });

  it('stops a finetune within one iteration of an abort', async () => {
    const controller = new AbortController();
    let seen = 0;
    const r = await seg.finetune({
      labeled,
      unlabeled,
      config: { ...CONFIG, iterations: 5 },
      signal: controller.signal,
      onProgress: (e) => e.type === 'iteration' && ++seen === 2 && controller.abort(),
    });
    expect(r).toMatchObject({ aborted: true, iterations: 2 });
  });

  it('rejects bad arguments with E_INVALID_ARGUMENT saying what was expected and found', async () => {
    const rejects = async (p: Promise<unknown>, pattern: RegExp, code = 'E_INVALID_ARGUMENT'): Promise<void> => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(SdsError);
      expect((e as SdsError).code).toBe(code);
      expect((e as SdsError).message).toMatch(pattern);
    };
    await rejects(
      createSegmenter({ backend: 'cuda' as never }),
      /backend: expected one of auto, webgpu, wasm, reference, found the string "cuda"/,
    );
    await rejects(
      createSegmenter({ backend: 'wasm', patch: [20, 16, 16] }),
      /patch: expected 3 positive multiples of 16 \[X, Y, Z\], found \[20,16,16\]/,
    );
    await rejects(createSegmenter({ backend: 'wasm', threads: 0 }), /threads: expected an integer >= 1, found number 0/);
    await rejects(
      createSegmenter({ backend: 'wasm', model: new Uint8Array([1, 2, 3]) }),
      /expected a safetensors V-Net checkpoint .* found 3 bytes/,
      'E_MODEL',
    );
    await rejects(
      seg.segment(42 as never),
      /segment: input: expected a Volume, \{ name, bytes \}, a File\/Blob or a path, found number 42/,
    );
    await rejects(
      seg.segment({ name: 'scan.png', bytes: new Uint8Array(4) }),
      /expected a file name ending in .nii, .nii.gz, .h5 or .hdf5, found "scan.png"/,
    );
    await rejects(seg.segment(heldOut.image, { overlap: 1 }), /segment: overlap: expected a number in \[0, 1\), found number 1/);
    await rejects(seg.segment('/nonexistent/scan.nii.gz'), /cannot read \/nonexistent\/scan.nii.gz/, 'E_IO');
    await rejects(seg.finetune({ labeled: [], unlabeled, config: CONFIG }), /finetune: labeled: expected at least 1 item, found 0/);
    await rejects(
      seg.finetune({ labeled: [{ image: heldOut.image } as never], unlabeled, config: CONFIG }),
      /labeled\[0\]: expected \{ image, label \}, found an object with keys image/,
    );
    await rejects(
      seg.finetune({ labeled, unlabeled, config: { network: { nFilters: 8 } } }),
      /config.network: the segmenter's network is .* found different nFilters: 8/,
    );
    await rejects(
      seg.finetune({ labeled, unlabeled, config: { ...CONFIG, iterations: -1 } }),
      /SDS config: iterations: expected an integer >= 0, found -1/,
    );
    const other = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 4, nClasses: 2 } });
    await rejects(
      other.load(await seg.save()).then(() => other.segment(heldOut.image, { network: 'student2' })),
      /expected a finetune\(\) run first/,
    );
    await other.dispose();
    await rejects(other.segment(heldOut.image), /used after dispose/, 'E_DISPOSED');
  });
});

describe("createSegmenter: 'auto' and WebGPU (SwiftShader)", () => {
  it("'auto' passes on a CPU-emulated adapter and says so; explicit 'webgpu' segments like wasm", async () => {
    const auto = await createSegmenter({ backend: 'auto', threads: 1, network: NETWORK, patch: [16, 16, 16] });
    const reasons = auto.info().reasons;
    await auto.dispose();
    expect(reasons[0]).toMatch(/^webgpu: (no adapter \(|WebGPU on .* is a CPU emulation, wasm is faster)/);
    expect(reasons.at(-1)).toMatch(/^wasm: WebAssembly/);

    // One 16^3 window keeps SwiftShader's share small (the trainer's WebGPU runs are in train-sds-loop).
    const image = cropOrPad(heldOut.image, [16, 16, 16]);
    const wasm = await createSegmenter({ backend: 'wasm', threads: 1, network: NETWORK, patch: [16, 16, 16], seed: 7 });
    const bytes = await wasm.save();
    const onWasm = await wasm.segment(image, { largestComponent: false });
    await wasm.dispose();
    const gpu = await createSegmenter({ backend: 'webgpu', model: bytes });
    try {
      expect(gpu.info()).toMatchObject({
        backend: 'webgpu',
        patch: [16, 16, 16],
        reasons: [expect.stringMatching(/^webgpu: requested; WebGPU on /)],
      });
      expect(gpu.info().adapter).toMatch(/swiftshader/i);
      const onGpu = await gpu.segment(image, { largestComponent: false });
      // Float32 on two backends: labels may differ only where two classes are nearly tied.
      let same = 0;
      for (let i = 0; i < onGpu.data.length; i++) if (onGpu.data[i] === onWasm.data[i]) same++;
      expect(same / onGpu.data.length).toBeGreaterThan(0.999);
      expect(new Set(onGpu.data).size).toBeGreaterThan(1);
    } finally {
      await gpu.dispose();
    }
  });
});
