import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { type Shape, sameShape, shapeString } from '../../core/shape.js';
import { assign } from '../../ops/index.js';
import type { StateEntry, VNet } from '../vnet.js';
import { type VNetConfig, resolveVNetConfig } from '../vnet-config.js';
import { verifyChecksum } from './checksum.js';
import { type SafetensorsArray, type SafetensorsFile, type SafetensorsTensor, readSafetensors, writeSafetensors } from './safetensors.js';

/**
 * V-Net checkpoints as safetensors with PyTorch's state_dict names (METHOD.md "Networks"), so a file
 * written here loads with `model.load_state_dict` and a PyTorch one (UA-MT, BCP, SDS) loads here.
 * Our config and training iteration travel in __metadata__ ("sds.config", "sds.iteration").
 */
export const METADATA_CONFIG = 'sds.config';
export const METADATA_ITERATION = 'sds.iteration';

/** How many problems an error message lists before "and N more". */
const LISTED = 5;

export interface SaveOptions {
  readonly iteration?: number;
  /** More __metadata__ strings (e.g. the dataset or the selected student). */
  readonly metadata?: Readonly<Record<string, string>>;
}

const entryShape = (e: StateEntry): Shape =>
  e.kind === 'parameter' ? e.parameter.value.shape : e.kind === 'buffer' ? e.buffer.value.shape : [];

/** Reads every parameter and buffer back from the device and serialises them. */
export async function saveVNet(backend: Backend, net: VNet, options: SaveOptions = {}): Promise<Uint8Array> {
  const tensors = new Map<string, { shape: Shape; data: SafetensorsArray }>();
  for (const e of net.stateEntries()) {
    if (e.kind === 'counter') {
      tensors.set(e.name, { shape: [], data: BigInt64Array.of(BigInt(e.counter.value)) });
    } else {
      const t = e.kind === 'parameter' ? e.parameter.value : e.buffer.value;
      tensors.set(e.name, { shape: t.shape, data: (await backend.read(t)) as Float32Array });
    }
  }
  const metadata = {
    ...options.metadata,
    format: 'pt',
    [METADATA_CONFIG]: JSON.stringify(net.config),
    [METADATA_ITERATION]: String(options.iteration ?? 0),
  };
  return writeSafetensors(tensors, metadata);
}

export interface LoadResult {
  /** Notes that did not stop the load: unused tensors ignored, a "module." prefix stripped. */
  readonly warnings: string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** From __metadata__ when the file was written by sds-web, else null. */
  readonly iteration: number | null;
  readonly config: VNetConfig | null;
}

function listed(items: string[]): string {
  return items.slice(0, LISTED).join('; ') + (items.length > LISTED ? `; and ${items.length - LISTED} more` : '');
}

function toFloat32(t: SafetensorsTensor): Float32Array | null {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  return null;
}

function toCount(t: SafetensorsTensor): number | null {
  if (t.data.length !== 1) return null;
  const v = t.data instanceof BigInt64Array ? Number(t.data[0]) : Number(t.data[0]);
  return Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** The config stored by saveVNet, or null for files without one (PyTorch-written ones). */
export function checkpointConfig(metadata: Readonly<Record<string, string>>): VNetConfig | null {
  const raw = metadata[METADATA_CONFIG];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SdsError('E_FORMAT', `checkpoint: __metadata__["${METADATA_CONFIG}"] is not JSON: ${raw.slice(0, 80)}`);
  }
  return resolveVNetConfig(parsed as Partial<VNetConfig>);
}

/**
 * Copies a checkpoint into `net`. Every tensor the network needs must be present with its exact shape;
 * otherwise nothing is changed and an E_FORMAT error lists the first mismatches. Tensors the network
 * does not use (projection or selector heads) are ignored with a warning.
 */
export function loadVNet(backend: Backend, net: VNet, file: Uint8Array | SafetensorsFile): LoadResult {
  // files that carry a CRC (written by the SDS trainer) are verified; PyTorch's carry none
  if (file instanceof Uint8Array) verifyChecksum(file, 'checkpoint');
  const parsed = file instanceof Uint8Array ? readSafetensors(file) : file;
  const warnings: string[] = [];
  let tensors = parsed.tensors;
  const names = [...tensors.keys()];
  // nn.DataParallel saves every name under "module."; such checkpoints are common in the wild.
  if (names.length > 0 && names.every((n) => n.startsWith('module.'))) {
    tensors = new Map([...tensors].map(([n, t]) => [n.slice('module.'.length), t]));
    warnings.push('stripped the "module." prefix (nn.DataParallel) from every tensor name');
  }

  const missing: string[] = [];
  const mismatched: string[] = [];
  const plan: Array<() => void> = [];
  const entries = net.stateEntries();
  for (const e of entries) {
    const t = tensors.get(e.name);
    if (t === undefined) {
      missing.push(e.name);
      continue;
    }
    const expected = entryShape(e);
    // PyTorch stores num_batches_tracked as a 0-d I64; accept the 1-element forms some exporters write.
    const shapeOk = e.kind === 'counter' ? t.data.length === 1 : sameShape(t.shape, expected);
    if (!shapeOk) {
      mismatched.push(`${e.name}: expected ${shapeString(expected)}, found ${shapeString(t.shape)}`);
      continue;
    }
    if (e.kind === 'counter') {
      const count = toCount(t);
      if (count === null) mismatched.push(`${e.name}: expected a non-negative integer, found ${t.dtype} ${String(t.data[0])}`);
      else plan.push(() => (e.counter.value = count));
      continue;
    }
    const values = toFloat32(t);
    if (values === null) {
      mismatched.push(`${e.name}: expected dtype F32 or F64, found ${t.dtype}`);
      continue;
    }
    const target = e.kind === 'parameter' ? e.parameter.value : e.buffer.value;
    plan.push(() => {
      const staged = backend.upload(values, target.shape);
      assign(backend, target, staged);
      backend.dispose(staged);
    });
  }
  if (missing.length > 0 || mismatched.length > 0) {
    const parts = [
      missing.length > 0 ? `${missing.length} missing (${listed(missing)})` : '',
      mismatched.length > 0 ? `${mismatched.length} mismatched (${listed(mismatched)})` : '',
    ].filter((s) => s !== '');
    throw new SdsError('E_FORMAT', `checkpoint does not fit VNet(${JSON.stringify(net.config)}): ${parts.join(', ')}`, {
      missing,
      mismatched,
    });
  }

  const used = new Set(entries.map((e) => e.name));
  const unused = [...tensors.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) warnings.push(`ignored ${unused.length} tensor(s) the V-Net does not use: ${listed(unused)}`);

  // Metadata is checked before anything is copied: a failed load leaves the network untouched.
  const rawIteration = parsed.metadata[METADATA_ITERATION];
  const iteration = rawIteration === undefined ? null : Number(rawIteration);
  if (iteration !== null && !(Number.isInteger(iteration) && iteration >= 0)) {
    throw new SdsError('E_FORMAT', `checkpoint: __metadata__["${METADATA_ITERATION}"]: expected an integer >= 0, found "${rawIteration}"`);
  }
  const config = checkpointConfig(parsed.metadata);
  for (const apply of plan) apply();
  return { warnings, metadata: parsed.metadata, iteration, config };
}
