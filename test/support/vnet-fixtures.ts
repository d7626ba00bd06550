import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SafetensorsFile, type SafetensorsTensor, readSafetensors } from '../../src/nn/checkpoint/safetensors.js';

/** Fixtures written by scripts/make-golden-vnet.py (PyTorch 1.13). */
export const VNET_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'vnet');

export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VNET_FIXTURES, name)));
}

export const readFixtureSafetensors = (name: string): SafetensorsFile => readSafetensors(readFixture(name));

export function fixtureTensor(file: SafetensorsFile, name: string): SafetensorsTensor {
  const t = file.tensors.get(name);
  if (t === undefined) throw new Error(`fixture tensor "${name}" missing: regenerate with /usr/bin/python3 scripts/make-golden-vnet.py`);
  return t;
}

/**
 * The script stores a tensor whole, or `stored` entries at floor(i * size / stored); its "#stats"
 * companion holds float64 [sum, sum of squares, max |PyTorch float32 - float64|] of the whole tensor.
 */
export function sampleIndices(size: number, stored: number): number[] {
  return Array.from({ length: stored }, (_, i) => (stored === size ? i : Math.floor((i * size) / stored)));
}
