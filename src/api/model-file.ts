/**
 * Model files as the API reads and writes them: a safetensors V-Net checkpoint (PyTorch names, our
 * config and patch in __metadata__), an SDS trainer checkpoint (its teacher, else student 1), or an
 * ONNX V-Net (converted through the ONNX module). Anything else is E_MODEL with what was found.
 */
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { readSafetensors, type SafetensorsFile } from '../nn/checkpoint/safetensors.js';
import { checkpointConfig } from '../nn/checkpoint/vnet-checkpoint.js';
import { resolveVNetConfig, type VNetConfig } from '../nn/vnet-config.js';
import { METADATA_TRAINER, weightsWithPrefix } from '../train/checkpoint/checkpoint.js';
import { isSafetensors, looksLikeOnnx, onnxModule } from './onnx-bridge.js';
import { expectPatch } from './values.js';

/** __metadata__ key of the window / patch in Volume axes [X, Y, Z] (JSON array). */
export const METADATA_PATCH = 'sds.patch';

export interface ParsedModel {
  readonly file: SafetensorsFile;
  /** From the file; null for files without our config (PyTorch-written ones). */
  readonly config: VNetConfig | null;
  readonly patch: Vec3 | null;
  readonly iteration: number;
}

function hex(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

export async function parseModel(input: Uint8Array, what: string): Promise<ParsedModel> {
  let bytes = input;
  if (!isSafetensors(bytes)) {
    if (!looksLikeOnnx(bytes))
      throw new SdsError(
        'E_MODEL',
        `${what}: expected a safetensors V-Net checkpoint (8-byte header length, then '{') or an ONNX model, found ${bytes.length} bytes starting ${hex(bytes)}`,
      );
    bytes = (await onnxModule()).importVNetOnnx(bytes);
  }
  let file: SafetensorsFile;
  try {
    file = readSafetensors(bytes);
  } catch (e) {
    throw new SdsError('E_MODEL', `${what}: not a readable safetensors file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (file.metadata[METADATA_TRAINER] !== undefined) {
    // A trainer checkpoint holds every network under its name: deploy its teacher (student 1 in stage 1).
    const weights = weightsWithPrefix(file, 'teacher.') ?? weightsWithPrefix(file, 'student1.');
    if (weights !== null) file = { tensors: weights, metadata: file.metadata };
  }
  let config: VNetConfig | null;
  try {
    config = checkpointConfig(file.metadata);
  } catch (e) {
    throw new SdsError('E_MODEL', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (config === null && file.metadata['sds.trainer.config'] !== undefined) {
    const trainer = JSON.parse(file.metadata['sds.trainer.config']) as { network?: Partial<VNetConfig> };
    config = resolveVNetConfig(trainer.network ?? {});
  }
  const rawPatch = file.metadata[METADATA_PATCH];
  let patch: Vec3 | null = null;
  if (rawPatch !== undefined) {
    try {
      patch = expectPatch(JSON.parse(rawPatch), `${what}: __metadata__["${METADATA_PATCH}"]`);
    } catch (e) {
      throw new SdsError('E_MODEL', e instanceof Error ? e.message : String(e));
    }
  }
  const iteration = Number(file.metadata['sds.iteration'] ?? 0);
  return { file, config, patch, iteration: Number.isFinite(iteration) ? iteration : 0 };
}
