/** METHOD.md stage 2, step 1: the teacher's pseudo-labels, LCC(argmax T(unimg)), without gradient. */
import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { type Connectivity, keepLargestComponentPerSample } from '../../infer/connected-components.js';
import type { VNet } from '../../nn/vnet.js';
import { argmax } from '../../ops/index.js';
import type { ReadCounter } from './reads.js';

export interface PseudoLabelOptions {
  readonly connectivity: Connectivity;
  /** Run the teacher in train mode (dropout on, batch statistics, running stats updated), as the authors do. */
  readonly trainMode: boolean;
}

/**
 * Pseudo-labels [N, D, H, W] uint8 for unlabeled images [N, 1, D, H, W]: the teacher's argmax (on the
 * device), read back once, cleaned per sample and class to its largest 26-connected component on the
 * host (LCC has no kernel: union-find is sequential), and uploaded again. The caller owns the result.
 * The teacher's mode is restored afterwards.
 */
export async function pseudoLabels(
  backend: Backend,
  teacher: VNet,
  unlabeled: Tensor,
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<Tensor> {
  const wasTraining = teacher.isTraining;
  if (options.trainMode) teacher.train();
  else teacher.eval();
  let classes: Tensor;
  try {
    const logits = teacher.forward(unlabeled);
    classes = argmax(backend, logits);
    backend.dispose(logits);
  } finally {
    // A train-mode forward keeps its intermediates for a backward that never comes.
    teacher.releaseCache();
    if (wasTraining) teacher.train();
    else teacher.eval();
  }
  const hard = (await reads.read(classes)) as Uint8Array;
  backend.dispose(classes);
  const shape = [unlabeled.shape[0], ...unlabeled.shape.slice(2)];
  return backend.upload(keepLargestComponentPerSample(hard, shape, { connectivity: options.connectivity }), shape);
}
