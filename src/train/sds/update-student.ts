/**
 * METHOD.md stage 2, step 6: one SGD step per student on L^k = (loss on X_l) + (loss on X_u).
 * The two inputs are separate training forwards (as in the authors' code, so batch statistics and
 * dropout are per input), and the V-Net keeps one forward's cache, so each input is back-propagated
 * on its own and the two gradients are summed here: the gradient of a sum is the sum of gradients.
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { Sgd } from '../../nn/sgd.js';
import type { VNet } from '../../nn/vnet.js';
import { add } from '../../ops/index.js';

/** Takes ownership of every parameter's current gradient (leaving null), so the next backward cannot replace it. */
export function takeGradients(net: VNet): Tensor[] {
  return net.parameters().map((p) => {
    if (p.grad === null) throw new SdsError('E_INVALID_ARGUMENT', `takeGradients: ${p.name} has no gradient; run backward first`);
    const g = p.grad;
    p.grad = null;
    return g;
  });
}

/** grad <- grad + stashed, per parameter; the stashed tensors are consumed. */
export function addGradients(backend: Backend, net: VNet, stashed: readonly Tensor[]): void {
  const params = net.parameters();
  if (stashed.length !== params.length)
    throw new SdsError('E_INVALID_ARGUMENT', `addGradients: expected ${params.length} stashed gradients, found ${stashed.length}`);
  params.forEach((p, i) => {
    if (p.grad === null) throw new SdsError('E_INVALID_ARGUMENT', `addGradients: ${p.name} has no gradient; run backward first`);
    const sum = add(backend, p.grad, stashed[i]);
    backend.dispose(p.grad);
    backend.dispose(stashed[i]);
    p.grad = sum;
  });
}

/** The SGD step (momentum, weight decay, StepLR); returns the learning rate it used. */
export function updateStudent(optimizer: Sgd): number {
  const lr = optimizer.lr;
  optimizer.step();
  return lr;
}
