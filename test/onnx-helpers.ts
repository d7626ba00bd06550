/**
 * Shared by the ONNX tests: a small V-Net whose BatchNorm layers hold non-trivial statistics (so that
 * folding them into the convolutions matters), and a crop of a real hippocampus scan.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { readSafetensors, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { loadVNet, saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { VNet } from '../src/nn/vnet.js';
import type { VNetConfig } from '../src/nn/vnet-config.js';
import { readNifti, zScoreNormalize } from '../src/volume/index.js';
import type { Volume } from '../src/volume/volume.js';

const DATA = fileURLToPath(new URL('../examples/data', import.meta.url));

/** Deterministic values in [0, 1) (an LCG; the test only needs them fixed and varied). */
function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * V-Net with random weights (seeded) and BatchNorm gamma, beta, running mean and running var set to
 * values far from the identity (as after training), through a checkpoint round trip.
 */
export async function trainedLookingVNet(backend: Backend, config: Partial<VNetConfig>, seed = 3): Promise<VNet> {
  const net = new VNet(backend, config, { seed });
  const file = readSafetensors(await saveVNet(backend, net));
  const r = stream(seed);
  const tensors = new Map(
    [...file.tensors].map(([name, t]) => {
      if (!(t.data instanceof Float32Array) || !/\.conv\.\d+\.(weight|bias|running_mean|running_var)$/.test(name) || t.shape.length !== 1)
        return [name, t];
      const isBn = file.tensors.has(name.replace(/\.(weight|bias)$/, '.running_mean'));
      if (!isBn && !name.includes('running')) return [name, t];
      const v = Float32Array.from(t.data, () => {
        if (name.endsWith('running_var')) return 0.2 + 2 * r();
        if (name.endsWith('running_mean')) return 0.6 * (r() - 0.5);
        if (name.endsWith('weight')) return 0.5 + r();
        return 0.4 * (r() - 0.5);
      });
      return [name, { ...t, data: v }];
    }),
  );
  loadVNet(backend, net, writeSafetensors(tensors, file.metadata));
  net.eval();
  return net;
}

/**
 * Shifts out_conv's class-1 bias so that half the voxels of `x` [1, 1, D, H, W] go to class 1 (a random
 * two-class network otherwise labels everything background, and equal label maps would prove little).
 */
export async function balanceClasses(backend: Backend, net: VNet, x: Float32Array, shape: number[]): Promise<void> {
  const input = backend.upload(x, shape);
  const logits = (await backend.read(net.forward(input))) as Float32Array;
  backend.dispose(input);
  const n = x.length;
  const margins = Float32Array.from({ length: n }, (_, i) => logits[n + i] - logits[i]).sort();
  const file = readSafetensors(await saveVNet(backend, net));
  const bias = file.tensors.get('decoder.out_conv.bias')!;
  const shifted = Float32Array.from(bias.data as Float32Array);
  shifted[1] -= margins[Math.floor(n / 2)];
  const tensors = new Map(file.tensors);
  tensors.set('decoder.out_conv.bias', { ...bias, data: shifted });
  loadVNet(backend, net, writeSafetensors(tensors, file.metadata));
}

/** A z-scored hippocampus scan from examples/data. */
export function hippocampusScan(name = 'hippocampus_001'): Volume {
  const bytes = new Uint8Array(readFileSync(`${DATA}/images/${name}.nii.gz`));
  return zScoreNormalize(readNifti(bytes, `${name}.nii.gz`));
}

/** The scan's [x0.., y0.., z0..] box of `size` (Volume axes), as an NCDHW tensor [1, 1, Z, Y, X]. */
export function cropNcdhw(v: Volume, origin: [number, number, number], size: [number, number, number]): Float32Array {
  const [X, Y] = v.shape;
  const out = new Float32Array(size[0] * size[1] * size[2]);
  let i = 0;
  for (let z = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++)
      for (let x = 0; x < size[0]; x++) out[i++] = Number(v.data[origin[0] + x + X * (origin[1] + y + Y * (origin[2] + z))]);
  return out;
}

/** Largest |a - b| over max |b| (relative to the reference's scale). */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** A little-endian float32 C-order .npy file (numpy.save) as data + shape. */
export function readNpy(path: string): { data: Float32Array; shape: number[] } {
  const bytes = new Uint8Array(readFileSync(path));
  const headerLength = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False"))
    throw new Error(`${path}: expected <f4 C-order, found ${header}`);
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  return { data: new Float32Array(bytes.slice(10 + headerLength).buffer), shape };
}
