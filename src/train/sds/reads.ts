import type { Backend } from '../../backend/backend.js';
import type { TypedArray } from '../../core/dtype.js';
import type { Tensor } from '../../core/tensor.js';

/**
 * Counts device -> host read-backs. Each one waits for the device's queue to drain, so the count per
 * iteration is the number to keep small on WebGPU; the iteration reports it.
 */
export class ReadCounter {
  count = 0;
  constructor(private readonly backend: Backend) {}

  async read(t: Tensor): Promise<TypedArray> {
    this.count++;
    return this.backend.read(t);
  }
}
