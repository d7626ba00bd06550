/**
 * createSegmenter: one backend, one deployed V-Net, the Segmenter contract of types.ts. Calls run one
 * at a time in call order (SerialQueue); dispose() rejects queued calls and destroys the backend.
 */
import type { Backend } from '../backend/backend.js';
import { SdsError } from '../core/errors.js';
import type { Vec3 } from '../core/shape.js';
import { loadVNet, saveVNet } from '../nn/checkpoint/vnet-checkpoint.js';
import { memoryPlan as planMemory, type MemoryPlan } from '../nn/memory-plan.js';
import { VNet } from '../nn/vnet.js';
import { resolveVNetConfig, type VNetConfig } from '../nn/vnet-config.js';
import { type NetworkName, parseCheckpoint, weightsWithPrefix } from '../train/checkpoint/checkpoint.js';
import { SDS_SMALL_CPU_PRESET } from '../train/sds/config.js';
import type { SdsTrainResult } from '../train/sds/trainer.js';
import type { Volume } from '../volume/volume.js';
import { BACKEND_CHOICES, chooseBackend } from './backend-choice.js';
import { runFinetune } from './finetune.js';
import { resolveModelBytes, resolveScan } from './inputs.js';
import { describe, expectPatch } from './values.js';
import { METADATA_PATCH, parseModel, type ParsedModel } from './model-file.js';
import { onnxModule } from './onnx-bridge.js';
import { abortedError, expectSegmentOptions, normalizeForModel, segmentNormalized } from './segment.js';
import { SerialQueue } from './serial-queue.js';
import type {
  CreateSegmenterOptions,
  ExportOnnxOptions,
  FinetuneOptions,
  FinetuneResult,
  ModelInput,
  ScanInput,
  SegmentOptions,
  Segmenter,
  SegmenterInfo,
} from './types.js';

/** Hippocampus window [X, Y, Z] (src/train/supervised.ts HIPPOCAMPUS_PATCH, symmetric in X and Z). */
export const DEFAULT_PATCH: Vec3 = [32, 48, 32];
/** A fresh model's network when none is given. */
export const DEFAULT_NETWORK: Partial<VNetConfig> = { nClasses: 2, nFilters: 16 };

const toDhw = (p: Vec3): Vec3 => [p[2], p[1], p[0]];

function expectCreateOptions(o: CreateSegmenterOptions): void {
  if (o === null || typeof o !== 'object')
    throw new SdsError('E_INVALID_ARGUMENT', `createSegmenter: expected an options object, found ${describe(o)}`);
  if (o.backend !== undefined && !BACKEND_CHOICES.includes(o.backend))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `createSegmenter: backend: expected one of ${BACKEND_CHOICES.join(', ')}, found ${describe(o.backend)}`,
    );
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1))
    throw new SdsError('E_INVALID_ARGUMENT', `createSegmenter: threads: expected an integer >= 1, found ${describe(o.threads)}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0))
    throw new SdsError('E_INVALID_ARGUMENT', `createSegmenter: seed: expected an integer >= 0, found ${describe(o.seed)}`);
  if (o.network !== undefined && (o.network === null || typeof o.network !== 'object'))
    throw new SdsError(
      'E_INVALID_ARGUMENT',
      `createSegmenter: network: expected a partial VNetConfig object, found ${describe(o.network)}`,
    );
}

async function readModel(model: ModelInput, what: string): Promise<ParsedModel> {
  return parseModel(await resolveModelBytes(model, what), what);
}

/** A VNet with `parsed`'s weights; E_MODEL (with the mismatches) when they do not fit `config`. */
function buildNet(backend: Backend, config: VNetConfig, seed: number, parsed: ParsedModel | null, what: string): VNet {
  const net = new VNet(backend, config, { seed });
  if (parsed === null) return net;
  try {
    loadVNet(backend, net, parsed.file);
  } catch (e) {
    net.dispose();
    throw new SdsError('E_MODEL', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return net;
}

export async function createSegmenter(options: CreateSegmenterOptions = {}): Promise<Segmenter> {
  expectCreateOptions(options);
  const seed = options.seed ?? 0;
  const parsed = options.model !== undefined ? await readModel(options.model, 'createSegmenter: model') : null;
  let config = parsed?.config ?? resolveVNetConfig({ ...DEFAULT_NETWORK, ...options.network });
  let patch: Vec3 =
    options.patch !== undefined ? expectPatch(options.patch, 'createSegmenter: patch') : (parsed?.patch ?? [...DEFAULT_PATCH]);
  const { backend, reasons } = await chooseBackend({
    choice: options.backend ?? 'auto',
    network: config,
    patchDhw: toDhw(patch),
    batch: SDS_SMALL_CPU_PRESET.labeledBatch,
    device: options.device,
    threads: options.threads,
  });
  let net: VNet;
  try {
    net = buildNet(backend, config, seed, parsed, 'createSegmenter: model');
  } catch (e) {
    backend.destroy();
    throw e;
  }
  let trained = parsed !== null;
  let iteration = parsed?.iteration ?? 0;
  let lastRun: SdsTrainResult | null = null;
  let disposed = false;
  const queue = new SerialQueue('segmenter');

  /** The network segment() runs: the deployed one, or a student / the teacher of the last finetune. */
  const networkFor = (name: NetworkName | undefined): { net: VNet; temporary: boolean } => {
    if (name === undefined || (lastRun === null && name === 'teacher') || lastRun?.deployed.network === name)
      return { net, temporary: false };
    if (lastRun === null)
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `segment: network '${name}': expected a finetune() run first (only the deployed model exists before one)`,
      );
    // Best validated weights when validation ran, else where the run stopped (the trainer checkpoint).
    const best = lastRun.best[name];
    const weights = best !== undefined ? null : weightsWithPrefix(parseCheckpoint(lastRun.checkpoint).file, `${name}.`);
    if (best === undefined && weights === null)
      throw new SdsError(
        'E_INVALID_ARGUMENT',
        `segment: network '${name}': the last finetune run has no such network (its mode trains fewer)`,
      );
    const temp = new VNet(backend, config, { seed });
    loadVNet(backend, temp, weights !== null ? { tensors: weights, metadata: {} } : (best as { weights: Uint8Array }).weights);
    return { net: temp, temporary: true };
  };

  const segmenter: Segmenter = {
    info(): SegmenterInfo {
      if (disposed) throw new SdsError('E_DISPOSED', 'segmenter: info() after dispose()');
      const b = backend.info();
      const threads = typeof b.details.threads === 'number' ? b.details.threads : undefined;
      const relaxedSimd = typeof b.details.relaxedSimd === 'boolean' ? b.details.relaxedSimd : undefined;
      return {
        backend: b.name,
        description: b.description,
        reasons: [...reasons],
        ...(b.name === 'webgpu' ? { adapter: b.description.replace(/^WebGPU on /, '') } : {}),
        limits: { ...b.limits },
        ...(threads !== undefined ? { threads } : {}),
        ...(relaxedSimd !== undefined ? { relaxedSimd } : {}),
        network: config,
        patch: [...patch] as Vec3,
        trained,
      };
    },

    memoryPlan(o = {}): MemoryPlan {
      const p = o.patch !== undefined ? expectPatch(o.patch, 'memoryPlan: patch') : patch;
      return planMemory(config, toDhw(p), o.batch ?? SDS_SMALL_CPU_PRESET.labeledBatch);
    },

    finetune(o: FinetuneOptions): Promise<FinetuneResult> {
      return queue.run(async () => {
        const initial = trained ? await saveVNet(backend, net, { iteration }) : undefined;
        const { result, trained: run } = await runFinetune({ backend, network: config, patchDhw: toDhw(patch), initial }, o);
        // Iterations ran, or a run without any (AdaBN) re-estimated statistics. Also after an abort: the
        // weights reached so far are kept (the result says aborted).
        if (result.stage1Iterations + result.iterations > 0 || !result.aborted) {
          loadVNet(backend, net, run.deployed.weights);
          trained = true;
          iteration += result.stage1Iterations + result.iterations;
          lastRun = run;
        }
        return result;
      });
    },

    segment(input: ScanInput, o: SegmentOptions = {}): Promise<Volume<Uint8Array>> {
      return queue.run(async () => {
        expectSegmentOptions(o);
        if (o.signal?.aborted) throw abortedError('segment');
        const image = await resolveScan(input, 'segment: input');
        const normalized = normalizeForModel(image);
        if (o.engine === 'onnxruntime') {
          const onnx = await onnxModule();
          const { net: chosen, temporary } = networkFor(o.network);
          try {
            const model = await onnx.exportVNetOnnx(backend, chosen);
            return await onnx.segmentWithOnnxRuntime(model, normalized, { ...o, roiSize: patch, threads: options.threads });
          } finally {
            if (temporary) chosen.dispose();
          }
        }
        const { net: chosen, temporary } = networkFor(o.network);
        try {
          return await segmentNormalized(backend, chosen, normalized, patch, o);
        } finally {
          if (temporary) chosen.dispose();
        }
      });
    },

    save(): Promise<Uint8Array> {
      return queue.run(() => saveVNet(backend, net, { iteration, metadata: { [METADATA_PATCH]: JSON.stringify(patch) } }));
    },

    load(model: ModelInput): Promise<void> {
      return queue.run(async () => {
        const file = await readModel(model, 'load: model');
        const nextConfig = file.config ?? config;
        const next = buildNet(backend, nextConfig, seed, file, 'load: model');
        net.dispose();
        net = next;
        config = nextConfig;
        if (file.patch !== null) patch = file.patch;
        trained = true;
        iteration = file.iteration;
        lastRun = null;
      });
    },

    exportOnnx(o: ExportOnnxOptions = {}): Promise<Uint8Array> {
      return queue.run(async () => (await onnxModule()).exportVNetOnnx(backend, net, o));
    },

    async dispose(): Promise<void> {
      if (disposed) return;
      await queue.close();
      disposed = true;
      net.dispose();
      backend.destroy();
    },
  };
  return segmenter;
}
