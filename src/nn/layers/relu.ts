import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { relu, reluBackward } from '../../ops/index.js';
import type { Layer } from '../layer.js';
import { LayerBase } from './base.js';

/** torch.nn.ReLU. Backward needs only the output (y > 0 iff x > 0), so the input can be freed. */
export class ReLU extends LayerBase implements Layer {
  readonly keepsInput = false;
  readonly keepsOutput = true;
  private cachedOutput: Tensor | null = null;

  constructor(backend: Backend, name: string) {
    super(backend, name);
  }

  forward(x: Tensor): Tensor {
    this.releaseCache();
    const y = relu(this.backend, x);
    if (this.training) this.cachedOutput = y;
    return y;
  }

  backward(dy: Tensor): Tensor {
    const y = this.expectCache(this.cachedOutput);
    const dx = reluBackward(this.backend, dy, y);
    this.releaseCache();
    return dx;
  }

  releaseCache(): void {
    this.cachedOutput = null;
  }
}
