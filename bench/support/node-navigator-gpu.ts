/**
 * navigator.gpu for onnxruntime-web's WebGPU provider in Node (bench/infer.ts --backend webgpu). Node 20
 * has no navigator; ORT's JSEP build looks for navigator.gpu, so the `webgpu` package's GPU (Dawn, the
 * one sds-web's own backend gets through getGpu, with its SwiftShader / XDG_RUNTIME_DIR set-up) is put
 * there before ORT initialises.
 *
 * One adaptation: ORT's threaded wasm keeps tensors in a SharedArrayBuffer and uploads them with
 * queue.writeBuffer(buffer, offset, wasmMemory.buffer, byteOffset, size); dawn.node's writeBuffer
 * accepts ArrayBuffer and views over one but not a SharedArrayBuffer ("no overload matched for
 * writeBuffer"), so such uploads are copied into an ordinary ArrayBuffer first. Browsers accept both.
 */
import { getGpu } from '../../src/backend/webgpu/device.js';

type WriteBuffer = GPUQueue['writeBuffer'];

function acceptSharedMemory(queueProto: { writeBuffer: WriteBuffer }): void {
  const original = queueProto.writeBuffer;
  queueProto.writeBuffer = function (this: GPUQueue, buffer, bufferOffset, data, dataOffset?, size?) {
    const view = ArrayBuffer.isView(data);
    const backing = view ? data.buffer : data;
    if (!(backing instanceof SharedArrayBuffer)) return original.call(this, buffer, bufferOffset, data, dataOffset, size);
    // dataOffset and size count elements for typed arrays and bytes otherwise (WebGPU spec).
    const element = view && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
    const bytes = view ? new Uint8Array(backing, data.byteOffset, data.byteLength) : new Uint8Array(backing);
    const start = (dataOffset ?? 0) * element;
    const end = size === undefined ? bytes.byteLength : start + size * element;
    return original.call(this, buffer, bufferOffset, bytes.slice(start, end));
  } as WriteBuffer;
}

/** Installs globalThis.navigator.gpu (Dawn) and returns the adapter ORT will get, for naming it. */
export async function installNavigatorGpu(): Promise<GPUAdapterInfo> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu shim: the webgpu package found no adapter (no Vulkan driver?)');
  // GPUQueue is not among the package's globals: reach its prototype through a throwaway device.
  const device = await adapter.requestDevice();
  acceptSharedMemory(Object.getPrototypeOf(device.queue) as { writeBuffer: WriteBuffer });
  device.destroy();
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return adapter.info;
}

/** "vendor architecture device description", as sds-web's backend info names an adapter. */
export const adapterName = (info: GPUAdapterInfo): string =>
  [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'an unnamed adapter';
