/**
 * onnxruntime-web sessions for exported V-Nets: the wasm execution provider (Node and browsers) or the
 * WebGPU one (browsers with an adapter). onnxruntime-web is loaded lazily, so pages that never use the
 * 'onnxruntime' engine never download it.
 */
import { SdsError } from '../core/errors.js';
import { type ModelProto, onnx, toNumber } from './proto.js';

export type OrtExecutionProvider = 'wasm' | 'webgpu';

export interface OrtSessionOptions {
  /**
   * Threads of ORT's wasm provider. ORT fixes them when its wasm module first initialises (once per
   * JavaScript realm): later sessions in the same realm keep the first count.
   */
  readonly threads?: number;
  readonly executionProvider?: OrtExecutionProvider;
}

type Ort = typeof import('onnxruntime-web');
type OrtSession = import('onnxruntime-web').InferenceSession;

/** A loaded model: logits for one [N, C, D, H, W] float32 input. */
export interface OrtVNetSession {
  readonly inputChannels: number;
  run(input: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; shape: number[] }>;
  release(): Promise<void>;
}

function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new SdsError('E_ONNX', `expected an ONNX ModelProto, found bytes protobuf cannot decode (${(e as Error).message})`);
  }
}

/**
 * ORT Web's WebGPU provider rejects 3-D ConvTranspose (onnxruntime issue 28356, open in ORT 1.30), so
 * such a model is refused before ORT is asked, with the export option that avoids the node.
 */
export function expectWebGpuCompatible(model: ModelProto): void {
  const transposed = (model.graph?.node ?? []).filter((n) => n.opType === 'ConvTranspose');
  const threeD = transposed.filter((n) => {
    const k = (n.attribute ?? []).find((a) => a.name === 'kernel_shape');
    return k === undefined || (k.ints ?? []).length === 3;
  });
  if (threeD.length > 0) {
    throw new SdsError(
      'E_ONNX',
      `executionProvider 'webgpu': expected a model without 3-D ConvTranspose, found ${threeD.length} (${threeD[0].name ?? 'unnamed'}, …); ` +
        `ONNX Runtime Web's WebGPU provider rejects 3-D ConvTranspose (onnxruntime issue 28356). ` +
        `Export with exportOnnx({ upsampling: 'webgpu-compatible' }) or run on executionProvider 'wasm'.`,
    );
  }
}

let ort: Ort | null = null;

async function loadOrt(threads: number | undefined): Promise<Ort> {
  if (ort === null) {
    ort = await import('onnxruntime-web');
    ort.env.logLevel = 'error';
  }
  // Only effective before the first session of this realm (see OrtSessionOptions.threads).
  if (threads !== undefined) ort.env.wasm.numThreads = threads;
  return ort;
}

export async function createOrtSession(model: Uint8Array, options: OrtSessionOptions = {}): Promise<OrtVNetSession> {
  const proto = decodeModel(model);
  const input = proto.graph?.input?.[0];
  const output = proto.graph?.output?.[0];
  const dims = input?.type?.tensorType?.shape?.dim ?? [];
  if (input?.name !== 'image' || output?.name !== 'logits' || dims.length !== 5) {
    throw new SdsError(
      'E_ONNX',
      `expected a V-Net model with input "image" [N, C, D, H, W] and output "logits", found input "${input?.name ?? 'none'}" of rank ${dims.length} and output "${output?.name ?? 'none'}"`,
    );
  }
  const provider = options.executionProvider ?? 'wasm';
  if (provider !== 'wasm' && provider !== 'webgpu') {
    throw new SdsError('E_INVALID_ARGUMENT', `executionProvider: expected 'wasm' or 'webgpu', found ${JSON.stringify(provider)}`);
  }
  if (provider === 'webgpu') expectWebGpuCompatible(proto);
  const runtime = await loadOrt(options.threads);
  let session: OrtSession;
  try {
    session = await runtime.InferenceSession.create(model, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new SdsError('E_ONNX', `onnxruntime-web (${provider}) could not load the model: ${(e as Error).message}`);
  }
  return {
    inputChannels: toNumber(dims[1].dimValue),
    async run(data, shape) {
      const result = await session.run({ image: new runtime.Tensor('float32', data, [...shape]) });
      const logits = result.logits;
      return { data: logits.data as Float32Array, shape: [...logits.dims] };
    },
    release: () => session.release(),
  };
}
