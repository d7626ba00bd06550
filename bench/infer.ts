// `npm run bench:infer` (tsx bench/infer.ts [--threads N] [--quick]): whole-volume sliding-window inference
// of a real LA scan (../shared/data/la, HDF5) with the V-Net16 (random init: timing only; patch
// 112x112x80, overlap 0.25, Gaussian blending, argmax + largest component): sds-web on its wasm backend
// vs onnxruntime-web's wasm provider on the exported ONNX model, the same thread count, the same
// sliding-window code around both. ORT runs in a child process (its thread count is fixed per process).
// Writes bench/results/infer.json (DESIGN.md convention). Issue 9's target: ours >= 1.3x faster.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createBackend } from '../src/backend/create.js';
import { segmentVolume } from '../src/infer/index.js';
import { VNet } from '../src/nn/index.js';
import { exportVNetOnnx } from '../src/onnx/index.js';
import { readHdf5Volumes } from '../src/volume/index.js';
import { type BenchRow, ratioOf, writeReport } from './support/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(here, '../../shared/data/la');
if (!existsSync(DATA)) throw new Error(`real data missing: expected ${DATA} (see ../shared/data/README.md)`);
const argValue = (flag: string): string | undefined => process.argv[process.argv.indexOf(flag) + 1];
const threads = process.argv.includes('--threads') ? Number(argValue('--threads')) : 2;
const quick = process.argv.includes('--quick');
const roi: [number, number, number] = quick ? [64, 64, 48] : [112, 112, 80];
const nFilters = quick ? 4 : 16;
const overlap = 0.25;

const caseName = readFileSync(join(DATA, 'cases.list'), 'utf8').split(/\s+/).filter(Boolean)[0];
const scanPath = join(DATA, caseName, 'mri_norm2.h5');
const { image } = await readHdf5Volumes(new Uint8Array(readFileSync(scanPath)), scanPath);
console.log(`LA scan ${caseName}: ${image.shape.join('x')}, roi ${roi.join('x')}, V-Net nFilters ${nFilters}, ${threads} thread(s)`);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const backend = await createBackend('wasm', { threads });
const net = new VNet(backend, { nFilters, nClasses: 2 }, { seed: 1 });
net.eval();
const scratch = mkdtempSync(join(tmpdir(), 'sds-bench-infer-'));
const modelPath = join(scratch, 'vnet.onnx');
writeFileSync(modelPath, await exportVNetOnnx(backend, net));

// onnxruntime-web first, in its own process, while this one idles.
const loadBeforeOrt = load();
const ortOut = join(scratch, 'labels-ort.u8');
const child = join(here, 'support', 'ort-infer-child.ts');
const childArg = JSON.stringify({ model: modelPath, scan: scanPath, threads, roi, overlap, out: ortOut });
const run = promisify(execFile)(process.execPath, [...process.execArgv, child, childArg], { maxBuffer: 1 << 24 });
run.child.stderr?.pipe(process.stderr);
const ort = JSON.parse((await run).stdout.trim().split('\n').pop()!) as { seconds: number; warmupSeconds: number };
const loadAfterOrt = load();

const loadBeforeOurs = load();
let windows = 0;
const t0 = performance.now();
const labels = await segmentVolume(backend, net, image, {
  roiSize: roi,
  overlap,
  mode: 'gaussian',
  onProgress: (p) => {
    windows = p.windowsTotal;
    console.log(`  sds-web: window ${p.windowsDone}/${p.windowsTotal} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
});
const seconds = (performance.now() - t0) / 1000;
const loadAfterOurs = load();

const ortLabels = new Uint8Array(readFileSync(ortOut));
let same = 0;
for (let i = 0; i < labels.data.length; i++) if (labels.data[i] === ortLabels[i]) same++;
rmSync(scratch, { recursive: true, force: true });
net.dispose();
backend.destroy();

const rows: BenchRow[] = [
  {
    case: `sliding window, LA ${image.shape.join('x')}, roi ${roi.join('x')}, overlap ${overlap}, gaussian, ${windows} windows, + argmax + LCC, V-Net${nFilters}`,
    backend: `sds-web wasm (${threads} thread${threads > 1 ? 's' : ''})`,
    peer: `onnxruntime-web 1.30 wasm EP (${threads} thread${threads > 1 ? 's' : ''}), exported model (BN folded)`,
    value: seconds,
    unit: 's',
    peerValue: ort.seconds,
    ratio: ratioOf('s', seconds, ort.seconds),
    note:
      `labels agree on ${((100 * same) / labels.data.length).toFixed(4)}% of voxels (${labels.data.reduce((n, v) => n + v, 0)} foreground in ours); ORT time includes its session creation, ` +
      `not its one-off wasm start-up (${ort.warmupSeconds.toFixed(1)} s); load average (1/5/15 min) before/after ORT ${loadBeforeOrt} / ${loadAfterOrt}, ` +
      `before/after sds-web ${loadBeforeOurs} / ${loadAfterOurs}`,
  },
];
writeReport('infer', rows, { quick, scan: `${caseName}/mri_norm2.h5`, threads });
