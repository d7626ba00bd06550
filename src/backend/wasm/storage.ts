/** Wasm tensors: a block of the shared memory, freed when the tensor is disposed. */
import type { DType } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import { sizeOf } from '../../core/shape.js';
import { Tensor } from '../../core/tensor.js';
import type { WasmRuntime } from './runtime.js';

export interface WasmStorage {
  readonly ptr: number;
}

export const bytesPerElement = (dtype: DType): number => (dtype === 'uint8' ? 1 : 4);

/** Address of a wasm tensor's first element. */
export const ptr = (t: Tensor): number => (t.storage as WasmStorage).ptr;

export function newTensor(rt: WasmRuntime, shape: Shape, dtype: DType = 'float32'): Tensor {
  const storage: WasmStorage = { ptr: rt.heap.alloc(sizeOf(shape) * bytesPerElement(dtype)) };
  return new Tensor('wasm', shape, dtype, storage);
}
