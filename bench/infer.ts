// `npm run bench:infer` (tsx bench/infer.ts [--threads N] [--quick] [--backend wasm|webgpu] [--data DIR]
// [--roi X,Y,Z] [--filters N] [--crop X,Y,Z]):
// whole-volume sliding-window inference of a real LA scan (../shared/data/la, HDF5; --data or
// SDS_LA_DATA: a folder with cases.list and <case>/mri_norm2.h5) with the V-Net16 (random init: timing
// only; patch 112x112x80, overlap 0.25, Gaussian blending, argmax + largest component): sds-web on its
// wasm backend vs onnxruntime-web's wasm provider on the exported ONNX model, the same thread count,
// the same sliding-window code around both. ORT runs in a child process (its thread count is fixed per
// process). Writes bench/results/infer.json (DESIGN.md convention). The target: ours >= 1.3x faster.
// --backend webgpu: sds-web's WebGPU backend vs ORT-web's WebGPU provider (JSEP build, navigator.gpu
// from Dawn: support/node-navigator-gpu.ts) on the 'webgpu-compatible' export (ORT's WebGPU provider
// rejects 3-D ConvTranspose); writes bench/results/infer-webgpu.json. Meaningful on a real GPU only
// (bench/gpu/README.md packs it for one); on SwiftShader it only shows that the path works.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createBackend } from '../src/api/create-backend.js';
import { segmentVolume } from '../src/infer/index.js';
import { VNet } from '../src/nn/index.js';
import { exportVNetOnnx } from '../src/onnx/index.js';
import { cropOrPad } from '../src/volume/crop-pad.js';
import { readHdf5Volumes } from '../src/volume/index.js';
import { type BenchRow, ratioOf, writeReport } from './support/report.js';

const here = dirname(fileURLToPath(import.meta.url));
// Run by tsx, the WebGPU kernels (imported lazily by createBackend) need the .wgsl loader; bundled by
// scripts/pack-gpu.sh infer, the WGSL is inlined and the loader is absent.
const wgslLoader = join(here, 'support', 'wgsl-loader.mjs');
if (existsSync(wgslLoader)) register(pathToFileURL(wgslLoader));
const argValue = (flag: string): string | undefined => process.argv[process.argv.indexOf(flag) + 1];
const DATA = resolve(
  process.argv.includes('--data') ? argValue('--data')! : (process.env.SDS_LA_DATA ?? resolve(here, '../../shared/data/la')),
);
if (!existsSync(join(DATA, 'cases.list'))) throw new Error(`real data missing: expected ${DATA}/cases.list (see ../shared/data/README.md)`);
const threads = process.argv.includes('--threads') ? Number(argValue('--threads')) : 2;
const gpu = process.argv.includes('--backend') && argValue('--backend') === 'webgpu';
if (process.argv.includes('--backend') && !['wasm', 'webgpu'].includes(argValue('--backend')!)) {
  throw new Error(`--backend: expected wasm or webgpu, found ${argValue('--backend')}`);
}
const quick = process.argv.includes('--quick');
// ORT's JSEP build, multi-threaded, fetches its worker script to make a blob URL of it, and Node's
// fetch cannot read file: URLs ("fetch failed"); with the GPU doing the work, one wasm thread suffices.
const ortThreads = gpu ? 1 : threads;
// --roi X,Y,Z and --filters N override the sizes (e.g. a smaller check on SwiftShader).
const roi = (process.argv.includes('--roi') ? argValue('--roi')!.split(',').map(Number) : quick ? [64, 64, 48] : [112, 112, 80]) as [
  number,
  number,
  number,
];
if (roi.length !== 3 || roi.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
  throw new Error(`--roi: expected X,Y,Z, multiples of 16, found ${roi.join(',')}`);
}
const nFilters = process.argv.includes('--filters') ? Number(argValue('--filters')) : quick ? 4 : 16;
// --crop X,Y,Z: a centred crop of the scan (both sides), for a check on SwiftShader, where ORT's WebGPU
// provider takes ~45 s per 64x64x48 window of the whole scan's 36 (--quick).
const crop = process.argv.includes('--crop') ? (argValue('--crop')!.split(',').map(Number) as [number, number, number]) : null;
const overlap = 0.25;

const caseName = readFileSync(join(DATA, 'cases.list'), 'utf8').split(/\s+/).filter(Boolean)[0];
const scanPath = join(DATA, caseName, 'mri_norm2.h5');
const scan = (await readHdf5Volumes(new Uint8Array(readFileSync(scanPath)), scanPath)).image;
const image = crop ? cropOrPad(scan, crop) : scan;
console.log(
  `LA scan ${caseName}: ${image.shape.join('x')}, roi ${roi.join('x')}, V-Net nFilters ${nFilters}, ${gpu ? 'webgpu, ORT ' : ''}${ortThreads} thread(s)`,
);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const backend = gpu ? await createBackend('webgpu') : await createBackend('wasm', { threads });
const adapter = backend.info().description;
if (gpu) console.log(adapter);
const net = new VNet(backend, { nFilters, nClasses: 2 }, { seed: 1 });
net.eval();
const scratch = mkdtempSync(join(tmpdir(), 'sds-bench-infer-'));
const modelPath = join(scratch, 'vnet.onnx');
writeFileSync(modelPath, await exportVNetOnnx(backend, net, gpu ? { upsampling: 'webgpu-compatible' } : {}));

// onnxruntime-web first, in its own process, while this one idles.
const loadBeforeOrt = load();
const ortOut = join(scratch, 'labels-ort.u8');
// Bundled for a GPU machine (scripts/pack-gpu.sh infer), the child is an .mjs beside this file.
const childTs = join(here, 'support', 'ort-infer-child.ts');
const child = existsSync(childTs) ? childTs : join(here, 'ort-infer-child.mjs');
const childArg = JSON.stringify({
  model: modelPath,
  scan: scanPath,
  threads: ortThreads,
  roi,
  overlap,
  out: ortOut,
  ...(gpu ? { executionProvider: 'webgpu' } : {}),
  ...(crop ? { crop } : {}),
});
const run = promisify(execFile)(process.execPath, [...process.execArgv, child, childArg], { maxBuffer: 1 << 24 });
run.child.stderr?.pipe(process.stderr);
interface OrtResult {
  seconds: number;
  warmupSeconds: number;
  firstWindowSeconds: number;
  adapter?: string;
}
let ort: OrtResult;
// On WebGPU a failing ORT side (its provider on an adapter we have not tried) still leaves ours timed.
let ortError: string | null = null;
try {
  ort = JSON.parse((await run).stdout.trim().split('\n').pop()!) as OrtResult;
} catch (e) {
  if (!gpu) throw e;
  const stderr = (e as { stderr?: string }).stderr ?? String(e);
  ortError = stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr.split('\n')[0];
  console.log(`onnxruntime-web webgpu failed, timing sds-web alone: ${ortError}`);
  ort = { seconds: NaN, warmupSeconds: NaN, firstWindowSeconds: NaN };
}
const loadAfterOrt = load();

const loadBeforeOurs = load();
let windows = 0;
let firstWindowSeconds = 0;
const t0 = performance.now();
const labels = await segmentVolume(backend, net, image, {
  roiSize: roi,
  overlap,
  mode: 'gaussian',
  onProgress: (p) => {
    windows = p.windowsTotal;
    if (p.windowsDone === 1) firstWindowSeconds = (performance.now() - t0) / 1000;
    console.log(`  sds-web: window ${p.windowsDone}/${p.windowsTotal} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
});
const seconds = (performance.now() - t0) / 1000;
const loadAfterOurs = load();

const ortLabels = ortError === null ? new Uint8Array(readFileSync(ortOut)) : new Uint8Array(labels.data.length).fill(255);
let same = 0;
for (let i = 0; i < labels.data.length; i++) if (labels.data[i] === ortLabels[i]) same++;
rmSync(scratch, { recursive: true, force: true });
net.dispose();
backend.destroy();

const agree = ortError === null ? `${((100 * same) / labels.data.length).toFixed(4)}%` : 'n/a (no ORT labels)';
if (gpu) console.log(`labels agree on ${agree} of voxels`);
const caseText = `sliding window, LA ${image.shape.join('x')}${crop ? ' (centred crop)' : ''}, roi ${roi.join('x')}, overlap ${overlap}, gaussian, ${windows} windows, + argmax + LCC, V-Net${nFilters}`;
// Per-window steady state: the windows after the first, whose time holds the shader compilation.
const steady = (total: number, first: number): string => (windows > 1 ? `${((total - first) / (windows - 1)).toFixed(3)} s` : '-');
const gpuRows: BenchRow[] = [
  {
    case: caseText,
    backend: `sds-web webgpu (${adapter})`,
    peer: `onnxruntime-web 1.30 webgpu EP (JSEP, ${ort.adapter ?? 'adapter unknown'}), exported model (BN folded, up-sampling webgpu-compatible)`,
    value: seconds,
    unit: 's',
    peerValue: ortError === null ? ort.seconds : null,
    ratio: ortError === null ? ratioOf('s', seconds, ort.seconds) : null,
    note:
      ortError !== null
        ? `ORT FAILED (${ortError}); sds-web alone: first window ${firstWindowSeconds.toFixed(1)} s, each later window ${steady(seconds, firstWindowSeconds)}`
        : `labels agree on ${agree} of voxels (foreground: ours ${labels.data.reduce((n, v) => n + v, 0)}, ORT ${ortLabels.reduce((n, v) => n + v, 0)}; ` +
          `random weights, so few or none); both times include shader ` +
          `compilation (first window: ours ${firstWindowSeconds.toFixed(1)} s, ORT ${ort.firstWindowSeconds.toFixed(1)} s; each later window: ours ` +
          `${steady(seconds, firstWindowSeconds)}, ORT ${steady(ort.seconds, ort.firstWindowSeconds)}); ORT's includes its session creation, not its ` +
          `one-off wasm and device start-up (${ort.warmupSeconds.toFixed(1)} s); ORT's CPU-side ops on ${ortThreads} wasm thread; load average ` +
          `(1/5/15 min) before/after ORT ${loadBeforeOrt} / ${loadAfterOrt}, before/after sds-web ${loadBeforeOurs} / ${loadAfterOurs}`,
  },
];
const wasmRows: BenchRow[] = [
  {
    case: caseText,
    backend: `sds-web wasm (${threads} thread${threads > 1 ? 's' : ''})`,
    peer: `onnxruntime-web 1.30 wasm EP (${threads} thread${threads > 1 ? 's' : ''}), exported model (BN folded)`,
    value: seconds,
    unit: 's',
    peerValue: ort.seconds,
    ratio: ratioOf('s', seconds, ort.seconds),
    note:
      `labels agree on ${agree} of voxels (${labels.data.reduce((n, v) => n + v, 0)} foreground in ours); ORT time includes its session creation, ` +
      `not its one-off wasm start-up (${ort.warmupSeconds.toFixed(1)} s); load average (1/5/15 min) before/after ORT ${loadBeforeOrt} / ${loadAfterOrt}, ` +
      `before/after sds-web ${loadBeforeOurs} / ${loadAfterOurs}`,
  },
];
if (gpu) writeReport('infer-webgpu', gpuRows, { quick, scan: `${caseName}/mri_norm2.h5`, ortThreads, adapter, ortAdapter: ort.adapter });
else writeReport('infer', wasmRows, { quick, scan: `${caseName}/mri_norm2.h5`, threads });
