/**
 * WebGPU convolutions beyond the shared op suite: shapes larger than one tile along every GEMM axis,
 * every tile grid (M <= 16, <= 32, > 32), split-K and direct paths of each kernel, transposed
 * convolutions whose residue classes have 2, 1 or 0 taps, asymmetric kernels/strides/dilations, and
 * V-Net's own layer shapes at a small patch. Each result is held to the float64 CPU reference
 * (src/ops) at 1e-4 of max |ref|. Every case runs under each profile (src/backend/webgpu/profile.ts),
 * forced on whatever adapter runs the tests: 'gpu' (tiled implicit GEMM) and 'cpu' (direct skeleton).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebGpuBackend, createWebGpuBackend } from '../src/backend/webgpu/index.js';
import { GPU_PROFILES } from '../src/backend/webgpu/profile.js';
import type { Vec3 } from '../src/core/shape.js';
import * as ops from '../src/ops/index.js';
import type { Conv3dParams } from '../src/contract/params.js';
import { randomFloat32 } from './support/random-data.js';

const TOLERANCE = 1e-4;

interface Geometry {
  readonly name: string;
  readonly x: readonly [number, number, number, number, number];
  readonly co: number;
  readonly k: Vec3;
  readonly s?: Vec3;
  readonly p?: Vec3;
  readonly d?: Vec3;
}

const GEOMETRIES: readonly Geometry[] = [
  // Co 70 = two 64-row tiles, 2*4*5*7 = 280 columns = 5 tiles, K = 33*27 = 891 (many slices, split).
  { name: 'multi-tile 33->70 k3 p1', x: [2, 33, 4, 5, 7], co: 70, k: [3, 3, 3], p: [1, 1, 1] },
  // M <= 32 grid; stride 2 with dilation 2 and padding: backward data has classes with no taps.
  { name: 'dilated strided 20->24 k3 s2 p2 d2', x: [3, 20, 9, 8, 7], co: 24, k: [3, 3, 3], s: [2, 2, 2], p: [2, 2, 2], d: [2, 2, 2] },
  // Asymmetric everything; k3 s2 p1 along D gives classes with 2 and 1 taps, k1 s3 along W zero-tap classes.
  {
    name: 'asymmetric 5->7 k[3,2,1] s[2,1,3] p[1,0,0] d[1,2,1]',
    x: [1, 5, 9, 8, 10],
    co: 7,
    k: [3, 2, 1],
    s: [2, 1, 3],
    p: [1, 0, 0],
    d: [1, 2, 1],
  },
  // V-Net shapes at a small patch: encoder conv, down-conv, and the k2 s2 up-conv (as backward data).
  { name: 'V-Net 16->16 k3 p1 @12^3', x: [1, 16, 12, 12, 12], co: 16, k: [3, 3, 3], p: [1, 1, 1] },
  { name: 'V-Net down 16->32 k2 s2 @12^3', x: [1, 16, 12, 12, 12], co: 32, k: [2, 2, 2], s: [2, 2, 2] },
  { name: 'V-Net out conv 16->2 k1', x: [2, 16, 7, 6, 5], co: 2, k: [1, 1, 1] },
];

const paramsOf = (g: Geometry): Conv3dParams => ({ stride: g.s ?? [1, 1, 1], padding: g.p ?? [0, 0, 0], dilation: g.d ?? [1, 1, 1] });

function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

describe.each(GPU_PROFILES)('webgpu conv3d kernels, profile %s', (profile) => {
  let backend: WebGpuBackend;
  /** Which kernels ran with a split reduction (a second dispatch), and which without. */
  const paths = new Map<string, Set<boolean>>();

  beforeAll(async () => {
    backend = await createWebGpuBackend({ profile });
    expect(backend.info().details.profile).toBe(profile);
  });
  afterAll(() => backend?.destroy());

  /** Runs `op`, reads its result, and records whether it used the split-K path (2+ dispatches). */
  async function run(kernel: string, op: () => ReturnType<typeof ops.conv3d>, classes = 1): Promise<Float32Array> {
    const before = backend.stats().dispatches;
    const t = op();
    const out = (await backend.read(t)) as Float32Array;
    backend.dispose(t);
    const split = backend.stats().dispatches - before > classes;
    paths.set(kernel, (paths.get(kernel) ?? new Set()).add(split));
    return out;
  }

  for (const [i, g] of GEOMETRIES.entries()) {
    const p = paramsOf(g);
    const spatial: Vec3 = [g.x[2], g.x[3], g.x[4]];
    const out = ops.convOutputSpatial('test', spatial, g.k, p);
    const x = randomFloat32(100 + i, g.x);
    const w = randomFloat32(200 + i, [g.co, g.x[1], ...g.k], -0.5, 0.5);
    const bias = randomFloat32(300 + i, [g.co]);
    const dy = randomFloat32(400 + i, [g.x[0], g.co, ...out]);
    const dense64 = (h: { data: Float32Array; shape: readonly number[] }) => ops.dense(f64(h.data), h.shape);

    it(`conv3d ${g.name}`, async () => {
      const [tx, tw, tb] = [backend.upload(x.data, x.shape), backend.upload(w.data, w.shape), backend.upload(bias.data, bias.shape)];
      const got = await run('conv3d', () => ops.conv3d(backend, tx, tw, tb, p));
      const ref = ops.conv3dReference(dense64(x), dense64(w), dense64(bias), p);
      expect(relativeError(got, ref.data)).toBeLessThan(TOLERANCE);
      [tx, tw, tb].forEach((t) => backend.dispose(t));
    });

    it(`conv3dBackwardData ${g.name}`, async () => {
      const [tdy, tw] = [backend.upload(dy.data, dy.shape), backend.upload(w.data, w.shape)];
      const bp = { ...p, inputSpatial: spatial };
      const classes = p.stride.reduce((a, s, axis) => a * Math.min(s, spatial[axis]), 1);
      const got = await run('conv3dBackwardData', () => ops.conv3dBackwardData(backend, tdy, tw, bp), classes);
      const ref = ops.conv3dBackwardDataReference(dense64(dy), dense64(w), bp);
      expect(relativeError(got, ref.data)).toBeLessThan(TOLERANCE);
      [tdy, tw].forEach((t) => backend.dispose(t));
    });

    it(`conv3dBackwardFilter ${g.name}`, async () => {
      const [tx, tdy] = [backend.upload(x.data, x.shape), backend.upload(dy.data, dy.shape)];
      const fp = { ...p, kernel: g.k };
      const got = await run('conv3dBackwardFilter', () => ops.conv3dBackwardFilter(backend, tx, tdy, fp));
      const ref = ops.conv3dBackwardFilterReference(dense64(x), dense64(dy), fp);
      expect(relativeError(got, ref.data)).toBeLessThan(TOLERANCE);
      [tx, tdy].forEach((t) => backend.dispose(t));
    });
  }

  it('ConvTranspose3d k2 s2 (V-Net up-conv 32->16 from 6^3) equals its scatter definition', async () => {
    // ConvTranspose3d weight [Cin_t = 32, Cout_t = 16, 2, 2, 2]; each input voxel scatters a 2x2x2 block.
    const [cin, cout, n] = [32, 16, 6];
    const xt = randomFloat32(500, [1, cin, n, n, n]);
    const wt = randomFloat32(501, [cin, cout, 2, 2, 2], -0.5, 0.5);
    const expected = new Float64Array(cout * 8 * n * n * n);
    const m = 2 * n;
    for (let ci = 0; ci < cin; ci++)
      for (let co = 0; co < cout; co++)
        for (let d = 0; d < n; d++)
          for (let h = 0; h < n; h++)
            for (let v = 0; v < n; v++)
              for (let t = 0; t < 8; t++) {
                const [a, b, c] = [t >> 2, (t >> 1) & 1, t & 1];
                const out = ((co * m + 2 * d + a) * m + 2 * h + b) * m + 2 * v + c;
                expected[out] += xt.data[((ci * n + d) * n + h) * n + v] * wt.data[(ci * cout + co) * 8 + t];
              }
    const [tx, tw] = [backend.upload(xt.data, xt.shape), backend.upload(wt.data, wt.shape)];
    const p = { stride: [2, 2, 2] as Vec3, padding: [0, 0, 0] as Vec3, dilation: [1, 1, 1] as Vec3, inputSpatial: [m, m, m] as Vec3 };
    const got = await run('convTranspose', () => ops.conv3dBackwardData(backend, tx, tw, p), 8);
    expect(relativeError(got, expected)).toBeLessThan(TOLERANCE);
    [tx, tw].forEach((t) => backend.dispose(t));
  });

  it('covers both the split-K and the direct path of every kernel', () => {
    for (const kernel of ['conv3d', 'conv3dBackwardData', 'conv3dBackwardFilter']) {
      expect([...(paths.get(kernel) ?? [])].sort(), kernel).toEqual([false, true]);
    }
  });
});
