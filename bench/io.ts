// `npm run bench:io` (tsx bench/io.ts [--quick]): volumes in and out on real scans.
// - NIfTI loading of hippocampus image + label pairs (peer: nibabel, same files, same run)
// - HDF5 loading of the LA `mri_norm2.h5` scans (peer: h5py)
// - largest-connected-component cleaning of a pseudo-label batch 4 x 112x112x80 (peer: scikit-image)
// - sliding-window inference of one whole LA volume with a V-Net (random init: timing only)
// Writes bench/results/io.json (DESIGN.md convention). WebGPU needs VK_ICD_FILENAMES / XDG_RUNTIME_DIR
// in Node (see the preamble); without an adapter its rows are skipped with a note.
import { register } from 'node:module';

register('./support/wgsl-loader.mjs', import.meta.url);

const { spawnSync } = await import('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } = await import('node:fs');
const { tmpdir, loadavg, cpus } = await import('node:os');
const { join, resolve, dirname } = await import('node:path');
const { fileURLToPath } = await import('node:url');
const { writeReport, ratioOf } = await import('./support/report.js');
type BenchRow = import('./support/report.js').BenchRow;
const { readNifti, readHdf5Volumes } = await import('../src/volume/index.js');
const { segmentVolume, keepLargestComponentPerSample } = await import('../src/infer/index.js');
const { VNet } = await import('../src/nn/index.js');
const { createBackend } = await import('../src/api/create-backend.js');

const quick = process.argv.includes('--quick');
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data');
if (!existsSync(DATA)) throw new Error(`real data missing: expected ${DATA} (see ../shared/data/README.md)`);
const PYTHON = '/usr/bin/python3';
const rows: BenchRow[] = [];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs a Python timing snippet; its last stdout line is JSON. Null (with a warning) when unavailable. */
function pythonPeer(code: string, args: string[]): Record<string, number> | null {
  const run = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) {
    console.warn(`python peer unavailable: ${(run.stderr ?? '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

function row(
  c: string,
  backend: string,
  value: number,
  unit: BenchRow['unit'],
  peer: string | null,
  peerValue: number | null,
  note?: string,
): void {
  rows.push({ case: c, backend, peer, value, unit, peerValue, ratio: ratioOf(unit, value, peerValue), ...(note ? { note } : {}) });
}

// ---- NIfTI: hippocampus image + label pairs, bytes already in memory (parse + gunzip + convert) ----
const pairs = quick ? 20 : 60;
const names = readFileSync(join(DATA, 'hippocampus', 'manifest.csv'), 'utf8')
  .split('\n')
  .slice(1)
  .map((l) => l.split(','))
  .filter((cells) => cells.length > 2)
  .slice(0, pairs);
const niftiPaths = names.flatMap((cells) => [join(DATA, 'hippocampus', cells[1]), join(DATA, 'hippocampus', cells[2])]);
const niftiBytes = niftiPaths.map((p) => new Uint8Array(readFileSync(p)));
const niftiTimes: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  for (const [i, b] of niftiBytes.entries()) readNifti(b, niftiPaths[i]);
  niftiTimes.push((performance.now() - t0) / names.length);
}
const nibabel = pythonPeer(
  `import sys, time, json, io, gzip, nibabel as nib
paths = sys.argv[1:]
blobs = [open(p, 'rb').read() for p in paths]
best = []
for rep in range(3):
    t = time.perf_counter()
    for b in blobs:
        img = nib.Nifti1Image.from_bytes(gzip.decompress(b)); img.get_fdata(dtype='float32')
    best.append((time.perf_counter() - t) * 1000 / (len(paths) / 2))
print(json.dumps({'ms': sorted(best)[1]}))`,
  niftiPaths,
);
row(
  `NIfTI load, hippocampus image+label pair (${names.length} pairs, from memory)`,
  'typescript (fflate)',
  median(niftiTimes),
  'ms',
  'nibabel (gzip + get_fdata float32)',
  nibabel?.ms ?? null,
);

// ---- HDF5: LA scans ----
const cases = readFileSync(join(DATA, 'la', 'cases.list'), 'utf8')
  .split(/\s+/)
  .filter(Boolean)
  .slice(0, quick ? 4 : 16);
const h5Paths = cases.map((c) => join(DATA, 'la', c, 'mri_norm2.h5'));
const h5Times: number[] = [];
let laVolume: Awaited<ReturnType<typeof readHdf5Volumes>> | null = null;
for (const p of h5Paths) {
  const bytes = new Uint8Array(readFileSync(p));
  const t0 = performance.now();
  const v = await readHdf5Volumes(bytes, p);
  h5Times.push(performance.now() - t0);
  laVolume ??= v;
}
const h5py = pythonPeer(
  `import sys, time, json, io, h5py, numpy as np
times = []
for p in sys.argv[1:]:
    b = open(p, 'rb').read()
    t = time.perf_counter()
    with h5py.File(io.BytesIO(b), 'r') as f:
        img = f['image'][:]; lab = f['label'][:]
        np.asfortranarray(img); np.asfortranarray(lab)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({'ms': sorted(times)[len(times) // 2]}))`,
  h5Paths,
);
row(
  `HDF5 load, LA mri_norm2.h5 image+label (median of ${cases.length} scans, from memory)`,
  'typescript (h5wasm)',
  median(h5Times),
  'ms',
  'h5py (+ x-fastest copy, as we store)',
  h5py?.ms ?? null,
);

// ---- LCC on a pseudo-label batch 4 x 112x112x80 (crops of real LA labels with 1% speckle) ----
const la = laVolume!;
const [LX, LY] = la.image.shape;
const [PW, PH, PD] = [112, 112, 80];
const batch = new Uint8Array(4 * PW * PH * PD);
let seed = 12345;
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
for (let n = 0; n < 4; n++) {
  const [ox, oy] = [Math.floor(rand() * (LX - PW)), Math.floor(rand() * (LY - PH))];
  for (let d = 0, i = n * PW * PH * PD; d < PD; d++)
    for (let h = 0; h < PH; h++)
      for (let w = 0; w < PW; w++, i++) {
        const label = la.label!.data[ox + w + LX * (oy + h + LY * (d + 4))];
        batch[i] = rand() < 0.01 ? 1 - label : label;
      }
}
const lccTimes: number[] = [];
const lccCpu: number[] = [];
for (let rep = 0; rep < (quick ? 3 : 7); rep++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  keepLargestComponentPerSample(batch, [4, PD, PH, PW]);
  lccTimes.push(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  lccCpu.push((cpu.user + cpu.system) / 1000);
}
const scratch = mkdtempSync(join(tmpdir(), 'sds-bench-io-'));
const batchFile = join(scratch, 'batch.u8');
writeFileSync(batchFile, batch);
const skimage = pythonPeer(
  `import sys, time, json, numpy as np
from skimage.measure import label
x = np.fromfile(sys.argv[1], np.uint8).reshape(4, 80, 112, 112)
times = []
for rep in range(5):
    t = time.perf_counter()
    for n in range(4):
        comp = label(x[n] == 1, connectivity=3)
        sizes = np.bincount(comp.ravel()); sizes[0] = 0
        out = x[n].copy(); out[(x[n] == 1) & (comp != sizes.argmax())] = 0
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({'ms': sorted(times)[2]}))`,
  [batchFile],
);
rmSync(scratch, { recursive: true, force: true });
row(
  'largest component (26-conn), pseudo-label batch 4 x 112x112x80',
  'typescript (union-find)',
  median(lccTimes),
  'ms',
  'scikit-image label + bincount',
  skimage?.ms ?? null,
  `wall time; CPU time ${median(lccCpu).toFixed(0)} ms; foreground ${((100 * batch.reduce((n, v) => n + v, 0)) / batch.length).toFixed(1)}% (LA label crops, 1% voxels flipped); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`,
);

// ---- Sliding-window inference of one whole LA volume ----
const image = la.image;
console.log(`LA volume ${image.shape.join('x')} (${la.image.metadata.fileName})`);
interface InferCase {
  backend: 'wasm' | 'webgpu';
  nFilters: number;
  /** Window size, Volume axes [X, Y, Z]. */
  roi: [number, number, number];
  /** Crop the volume to one window (for backends too slow for eight). */
  oneWindow: boolean;
  note: string;
}
const inferCases: InferCase[] = [
  {
    backend: 'wasm',
    nFilters: 16,
    roi: [112, 112, 80],
    oneWindow: false,
    note: 'V-Net nFilters 16, random init (timing only), wasm 2 threads',
  },
  {
    backend: 'webgpu',
    nFilters: 2,
    roi: [64, 64, 48],
    oneWindow: true,
    note: 'V-Net nFilters 2 on one 64x64x48 window, random init: WebGPU here is SwiftShader (a CPU Vulkan driver); nFilters 4 on one 112x112x80 window took 421 s, so nFilters 16 x 8 windows is out of reach',
  },
];
for (const c of quick ? inferCases.map((ic) => ({ ...ic, oneWindow: true })) : inferCases) {
  let backend;
  try {
    backend = await createBackend(c.backend, { threads: 2 });
  } catch (e) {
    console.warn(`${c.backend}: skipped (${e instanceof Error ? e.message : String(e)})`);
    continue;
  }
  const net = new VNet(backend, { nFilters: c.nFilters, nClasses: 2 }, { seed: 1 });
  const input = c.oneWindow ? cropTo(image, c.roi) : image;
  let windows = 0;
  const t0 = performance.now();
  const label = await segmentVolume(backend, net, input, {
    roiSize: c.roi,
    overlap: 0.25,
    mode: 'gaussian',
    onProgress: (p) => {
      windows = p.windowsTotal;
      console.log(`  ${c.backend}: window ${p.windowsDone}/${p.windowsTotal} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const foreground = label.data.reduce((n, v) => n + v, 0);
  row(
    `sliding window ${input.shape.join('x')}, roi ${c.roi.join('x')}, overlap 0.25, gaussian, ${windows} window(s), + argmax + LCC`,
    `${c.backend} (${backend.info().description})`,
    seconds,
    's',
    null,
    null,
    `${c.note}; ${foreground} foreground voxels`,
  );
  net.dispose();
  backend.destroy();
}

function cropTo(v: typeof image, size: [number, number, number]): typeof image {
  const [X, Y] = v.shape;
  const out = new Float32Array(size[0] * size[1] * size[2]);
  for (let z = 0, i = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++, i += size[0]) out.set(v.data.subarray(X * (y + Y * z), X * (y + Y * z) + size[0]), i);
  return { ...v, data: out, shape: size };
}

writeReport('io', rows, { quick, data: 'hippocampus (Decathlon Task04) and LA 2018 (UA-MT h5) from ../shared/data' });
