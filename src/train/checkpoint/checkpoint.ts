/**
 * Resumable checkpoints of the SDS trainer: ONE safetensors file holding every network of the current
 * phase under a prefix (`student1.`, `student2.`, `teacher.` + PyTorch state_dict names, so
 * `{k[len('teacher.'):]: v for k, v in f.items() if k.startswith('teacher.')}` loads into the PyTorch
 * V-Net), each student's SGD momentum buffers (`optim1.`, `optim2.` + parameter name), the best
 * validated weights (`best.student1.` ...), and in __metadata__ the trainer's position as JSON
 * (`sds.trainer`: phase, iteration, random stream positions, dropout draws, optimiser steps, best
 * scores) and the config (`sds.trainer.config`). Bytes are produced in memory: writing them is the
 * caller's job (node-checkpoint.ts writes them atomically in Node).
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { type Shape, sameShape, shapeString } from '../../core/shape.js';
import { loadVNet, METADATA_CONFIG, METADATA_ITERATION } from '../../nn/checkpoint/vnet-checkpoint.js';
import {
  readSafetensors,
  type SafetensorsArray,
  type SafetensorsFile,
  type SafetensorsTensor,
  writeSafetensors,
} from '../../nn/checkpoint/safetensors.js';
import { CRC32_PLACEHOLDER, METADATA_CRC32, sealChecksum, verifyChecksum } from '../../nn/checkpoint/checksum.js';
import type { Sgd } from '../../nn/sgd.js';
import type { VNet } from '../../nn/vnet.js';
import type { VNetConfig } from '../../nn/vnet-config.js';
import { assign } from '../../ops/index.js';
import type { SdsConfig } from '../sds/config.js';
import type { SamplerState } from '../sds/sampler.js';

export type Phase = 'stage1' | 'stage2';
export type NetworkName = 'student1' | 'student2' | 'teacher';
export const NETWORK_NAMES: readonly NetworkName[] = ['student1', 'student2', 'teacher'];

export const METADATA_TRAINER = 'sds.trainer';
export const METADATA_TRAINER_CONFIG = 'sds.trainer.config';
const FORMAT_VERSION = 1;

/** A network's state_dict on the host (parameters and buffers float32, counters int64 scalars). */
export type HostWeights = ReadonlyMap<string, { readonly shape: Shape; readonly data: SafetensorsArray }>;

export interface BestRecord {
  /** Mean validation Dice over scans and foreground classes. */
  readonly dice: number;
  /** The phase's iteration it was measured after. */
  readonly iteration: number;
  readonly weights: HostWeights;
}

/** The trainer's position, the JSON in __metadata__["sds.trainer"]. */
export interface TrainerMeta {
  readonly version: number;
  readonly phase: Phase;
  /** Iterations finished in `phase`. */
  readonly iteration: number;
  /** Stage-1 iterations run before stage 2 (0 when stage-1 weights were given). */
  readonly stage1Done: number;
  /** Position of the cube-position stream (SdsState.cubes). */
  readonly cubes: number;
  readonly sampler: SamplerState;
  /** Training-mode dropout draws [encoder, decoder] per network present. */
  readonly dropout: Partial<Record<NetworkName, readonly [number, number]>>;
  /** SGD steps per student (the StepLR position). */
  readonly optimizerSteps: readonly number[];
  readonly best: Partial<Record<NetworkName, { readonly dice: number; readonly iteration: number }>>;
}

/** Everything a checkpoint is written from. */
export interface CheckpointParts {
  readonly meta: TrainerMeta;
  readonly config: SdsConfig;
  readonly networks: Partial<Record<NetworkName, VNet>>;
  readonly optimizers: readonly Sgd[];
  readonly best: Partial<Record<NetworkName, BestRecord>>;
}

/** Reads every parameter, buffer and counter of `net` back from the device, by state_dict name. */
export async function snapshotNet(backend: Backend, net: VNet): Promise<Map<string, { shape: Shape; data: SafetensorsArray }>> {
  const out = new Map<string, { shape: Shape; data: SafetensorsArray }>();
  for (const e of net.stateEntries()) {
    if (e.kind === 'counter') out.set(e.name, { shape: [], data: BigInt64Array.of(BigInt(e.counter.value)) });
    else {
      const t = e.kind === 'parameter' ? e.parameter.value : e.buffer.value;
      out.set(e.name, { shape: t.shape, data: (await backend.read(t)) as Float32Array });
    }
  }
  return out;
}

/** Host weights as a standalone V-Net checkpoint (the format saveVNet writes and loadVNet reads). */
export function vnetFile(weights: HostWeights, config: VNetConfig, iteration: number, metadata: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(weights, {
    ...metadata,
    format: 'pt',
    [METADATA_CONFIG]: JSON.stringify(config),
    [METADATA_ITERATION]: String(iteration),
  });
}

export async function encodeCheckpoint(backend: Backend, parts: CheckpointParts): Promise<Uint8Array> {
  const tensors = new Map<string, { shape: Shape; data: SafetensorsArray }>();
  const put = (prefix: string, weights: HostWeights): void => {
    for (const [name, t] of weights) tensors.set(prefix + name, t);
  };
  for (const name of NETWORK_NAMES) {
    const net = parts.networks[name];
    if (net !== undefined) put(`${name}.`, await snapshotNet(backend, net));
  }
  for (const [k, optimizer] of parts.optimizers.entries()) {
    for (const [i, p] of optimizer.params.entries())
      tensors.set(`optim${k + 1}.${p.name}`, { shape: p.value.shape, data: (await backend.read(optimizer.buffers[i])) as Float32Array });
  }
  for (const name of NETWORK_NAMES) {
    const best = parts.best[name];
    if (best !== undefined) put(`best.${name}.`, best.weights);
  }
  const bytes = writeSafetensors(tensors, {
    format: 'pt',
    [METADATA_TRAINER]: JSON.stringify(parts.meta),
    [METADATA_TRAINER_CONFIG]: JSON.stringify(parts.config),
    [METADATA_CRC32]: CRC32_PLACEHOLDER,
  });
  return sealChecksum(bytes);
}

export interface ParsedCheckpoint {
  readonly file: SafetensorsFile;
  readonly meta: TrainerMeta;
  readonly config: SdsConfig;
}

function formatError(message: string): SdsError {
  return new SdsError('E_FORMAT', `SDS checkpoint: ${message}`);
}

function parseJson(file: SafetensorsFile, key: string): unknown {
  const raw = file.metadata[key];
  if (raw === undefined) throw formatError(`expected __metadata__["${key}"] (a file written by the SDS trainer), found none`);
  try {
    return JSON.parse(raw);
  } catch {
    throw formatError(`__metadata__["${key}"] is not JSON: ${raw.slice(0, 80)}`);
  }
}

/**
 * Verifies the checksum (E_CHECKPOINT_CORRUPT on a mismatch) and parses the file. A file whose
 * safetensors structure is broken is reported as E_CHECKPOINT_CORRUPT too: for a checkpoint that is
 * a damaged file, and the caller's remedy (an earlier checkpoint) is the same.
 */
export function parseCheckpoint(bytes: Uint8Array): ParsedCheckpoint {
  verifyChecksum(bytes, 'SDS checkpoint');
  let file: SafetensorsFile;
  try {
    file = readSafetensors(bytes);
  } catch (e) {
    if (!(e instanceof SdsError)) throw e;
    throw new SdsError('E_CHECKPOINT_CORRUPT', `SDS checkpoint: the file is damaged (${e.message})`, { cause: e.code });
  }
  const meta = parseJson(file, METADATA_TRAINER) as TrainerMeta;
  if (meta?.version !== FORMAT_VERSION)
    throw formatError(`expected format version ${FORMAT_VERSION}, found ${JSON.stringify(meta?.version)}`);
  if (meta.phase !== 'stage1' && meta.phase !== 'stage2')
    throw formatError(`phase: expected 'stage1' or 'stage2', found ${JSON.stringify(meta.phase)}`);
  if (!(Number.isInteger(meta.iteration) && meta.iteration >= 0))
    throw formatError(`iteration: expected an integer >= 0, found ${JSON.stringify(meta.iteration)}`);
  return { file, meta, config: parseJson(file, METADATA_TRAINER_CONFIG) as SdsConfig };
}

/** The entries under `prefix`, prefix removed; null when there are none. */
export function weightsWithPrefix(file: SafetensorsFile, prefix: string): Map<string, SafetensorsTensor> | null {
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, t] of file.tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), t);
  return out.size > 0 ? out : null;
}

/** Loads the `prefix` entries into `net` (every entry must fit; see loadVNet) and sets its dropout draws. */
export function restoreNet(backend: Backend, net: VNet, parsed: ParsedCheckpoint, name: NetworkName): void {
  const weights = weightsWithPrefix(parsed.file, `${name}.`);
  if (weights === null) throw formatError(`expected the network '${name}' (tensors '${name}.*'), found none`);
  loadVNet(backend, net, { tensors: weights, metadata: {} });
  const draws = parsed.meta.dropout[name];
  if (draws === undefined) throw formatError(`expected dropout draws for '${name}' in the metadata, found none`);
  [net.encoderDropout.draws, net.decoderDropout.draws] = draws;
}

/** Writes student k's momentum buffers (`optim{k+1}.*`) and StepLR position back into `optimizer`. */
export function restoreOptimizer(backend: Backend, optimizer: Sgd, parsed: ParsedCheckpoint, k: number): void {
  const staged = optimizer.params.map((p) => {
    const t = parsed.file.tensors.get(`optim${k + 1}.${p.name}`);
    if (t === undefined) throw formatError(`expected the momentum buffer 'optim${k + 1}.${p.name}', found none`);
    if (!(t.data instanceof Float32Array) || !sameShape(t.shape, p.value.shape))
      throw formatError(`'optim${k + 1}.${p.name}': expected F32 ${shapeString(p.value.shape)}, found ${t.dtype} ${shapeString(t.shape)}`);
    return t.data;
  });
  const steps = parsed.meta.optimizerSteps[k];
  if (!(Number.isInteger(steps) && steps >= 0)) throw formatError(`optimizerSteps[${k}]: expected an integer >= 0, found ${steps}`);
  staged.forEach((data, i) => {
    const tensor = backend.upload(data, optimizer.buffers[i].shape);
    assign(backend, optimizer.buffers[i], tensor);
    backend.dispose(tensor);
  });
  optimizer.iteration = steps;
}

/** The best records stored in a checkpoint (scores from the metadata, weights from `best.<name>.*`). */
export function restoreBest(parsed: ParsedCheckpoint): Partial<Record<NetworkName, BestRecord>> {
  const out: Partial<Record<NetworkName, BestRecord>> = {};
  for (const name of NETWORK_NAMES) {
    const score = parsed.meta.best[name];
    const weights = weightsWithPrefix(parsed.file, `best.${name}.`);
    if (score !== undefined && weights !== null) out[name] = { ...score, weights };
  }
  return out;
}
