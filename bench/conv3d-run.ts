// GFLOP/s of the WebGPU conv3d, conv3dBackwardData and conv3dBackwardFilter kernels on V-Net layer
// shapes (bench/conv3d-cases.json), beside PyTorch fp32 on the same machine (bench/gpu/torch_conv3d.py:
// CUDA when the adapter is a real GPU, CPU otherwise). Entry points: bench/run.ts conv3d (tsx) and the
// bundle made by scripts/pack-gpu.sh. Flags: --quick (sizes / quickDivisor; also SDS_BENCH_QUICK=1),
// --torch-script <path>, --no-peer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { GPU_PROFILES, type GpuProfile } from '../src/backend/webgpu/profile.js';
import type { Vec3 } from '../src/core/shape.js';
import type { Tensor } from '../src/core/tensor.js';
import * as ops from '../src/ops/index.js';
import spec from './conv3d-cases.json';
import { type BenchRow, ratioOf, writeReport } from './support/report.js';

interface ConvCase {
  readonly name: string;
  readonly n: number;
  readonly ci: number;
  readonly co: number;
  readonly size: number;
  readonly k: number;
  readonly s: number;
  readonly p: number;
  readonly transposed?: boolean;
}

type KernelName = 'conv3d' | 'conv3dBackwardData' | 'conv3dBackwardFilter';
const KERNELS: readonly KernelName[] = ['conv3d', 'conv3dBackwardData', 'conv3dBackwardFilter'];
/** Time each op at least this long (after one warm-up run) so a short kernel is not timed alone. */
const MIN_SECONDS = 0.5;
const MAX_REPS = 100;

const flag = (args: readonly string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function randomData(size: number, seed: number): Float32Array {
  // A cheap LCG: benchmark inputs need only be non-trivial, not reproducible across backends.
  const a = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

interface Peer {
  readonly name: string;
  readonly gflops: Record<string, number>;
}

function torchPeer(args: readonly string[], quick: boolean, cuda: boolean): Peer | null {
  if (args.includes('--no-peer')) return null;
  const script = flag(args, '--torch-script') ?? 'bench/gpu/torch_conv3d.py';
  const cases = flag(args, '--cases') ?? 'bench/conv3d-cases.json';
  const python = process.env.SDS_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const device = cuda ? 'cuda' : 'cpu';
  const run = spawnSync(python, [script, '--cases', cases, '--device', device, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.warn(`PyTorch peer unavailable (${python} ${script} exited ${run.status}): ${(run.stderr ?? '').trim().split('\n').pop()}`);
    return null;
  }
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { torch: string; device: string; gflops: Record<string, number> };
  return { name: `torch ${result.torch} ${device} (${result.device})`, gflops: result.gflops };
}

export async function main(args: readonly string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env.SDS_BENCH_QUICK === '1';
  const profile = flag(args, '--profile') as GpuProfile | undefined;
  if (profile !== undefined && !GPU_PROFILES.includes(profile))
    throw new Error(`--profile: expected one of ${GPU_PROFILES.join(', ')}, found '${profile}'`);
  const backend = await createWebGpuBackend({ profile });
  const adapter = `${backend.info().description} (profile ${backend.info().details.profile})`;
  const onCpu = /swiftshader|llvmpipe|cpu/i.test(adapter);
  console.log(`conv3d bench on ${adapter}${quick ? ' (quick sizes)' : ''}`);

  async function timeOp(op: () => Tensor): Promise<number> {
    backend.dispose(op());
    await backend.sync();
    let reps = 0;
    const start = performance.now();
    let elapsed = 0;
    // Sync every rep on slow (CPU) adapters so the loop stops near MIN_SECONDS; batch reps on real GPUs.
    const batch = onCpu ? 1 : 5;
    while (reps < MAX_REPS && elapsed < MIN_SECONDS * 1000) {
      for (let i = 0; i < batch; i++) backend.dispose(op());
      reps += batch;
      await backend.sync();
      elapsed = performance.now() - start;
    }
    return elapsed / 1000 / reps;
  }

  const rows: BenchRow[] = [];
  const measured: Record<string, number> = {};
  for (const c of spec.cases as ConvCase[]) {
    const size = quick ? Math.max(1, Math.floor(c.size / spec.quickDivisor)) : c.size;
    const spatial: Vec3 = [size, size, size];
    const p = { stride: [c.s, c.s, c.s] as Vec3, padding: [c.p, c.p, c.p] as Vec3, dilation: [1, 1, 1] as Vec3 };
    const kernel: Vec3 = [c.k, c.k, c.k];
    const out = ops.convOutputSpatial('bench', spatial, kernel, p);
    const x = backend.upload(randomData(c.n * c.ci * size ** 3, 1), [c.n, c.ci, ...spatial]);
    const w = backend.upload(randomData(c.co * c.ci * c.k ** 3, 2), [c.co, c.ci, ...kernel]);
    const dy = backend.upload(randomData(c.n * c.co * out[0] * out[1] * out[2], 3), [c.n, c.co, ...out]);
    const flops = 2 * c.n * c.co * out[0] * out[1] * out[2] * c.ci * c.k ** 3;
    const runs: Record<KernelName, () => Tensor> = {
      conv3d: () => ops.conv3d(backend, x, w, null, p),
      conv3dBackwardData: () => ops.conv3dBackwardData(backend, dy, w, { ...p, inputSpatial: spatial }),
      conv3dBackwardFilter: () => ops.conv3dBackwardFilter(backend, x, dy, { ...p, kernel }),
    };
    for (const k of KERNELS) {
      const seconds = await timeOp(runs[k]);
      measured[`${k} ${c.name}`] = flops / seconds / 1e9;
      const label = c.transposed && k === 'conv3dBackwardData' ? ' (ConvTranspose3d forward)' : '';
      console.log(`  ${k.padEnd(21)} ${c.name}${label}: ${(seconds * 1e3).toFixed(2)} ms, ${(flops / seconds / 1e9).toFixed(2)} GFLOP/s`);
    }
    [x, w, dy].forEach((t) => backend.dispose(t));
  }
  backend.destroy();

  const peer = torchPeer(args, quick, !onCpu);
  for (const [key, value] of Object.entries(measured)) {
    const peerValue = peer?.gflops[key] ?? null;
    rows.push({
      case: key,
      backend: 'webgpu',
      peer: peer?.name ?? null,
      value,
      unit: 'GFLOP/s',
      peerValue,
      ratio: ratioOf('GFLOP/s', value, peerValue),
    });
  }
  writeReport(process.env.BENCH_OUT ?? 'conv3d', rows, { adapter, quick });
}
