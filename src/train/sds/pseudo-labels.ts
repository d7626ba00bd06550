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
 * host (LCC has no kernel: union-find is sequential), and uploaded again (pseudoLabels). The caller owns
 * the result. The teacher's mode is restored afterwards.
 */
async function hostPseudoLabels(
  backend: Backend,
  teacher: VNet,
  unlabeled: Tensor,
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<{ labels: Uint8Array; shape: number[] }> {
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
  return { labels: keepLargestComponentPerSample(hard, shape, { connectivity: options.connectivity }), shape };
}

/** Host pseudo-labels of one batch, then uploaded. */
export async function pseudoLabels(
  backend: Backend,
  teacher: VNet,
  unlabeled: Tensor,
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<Tensor> {
  const { labels, shape } = await hostPseudoLabels(backend, teacher, unlabeled, options, reads);
  return backend.upload(labels, shape);
}

/**
 * Pseudo-labels of both unlabeled halves. With the halves also given as one batch and the teacher in
 * eval mode, one forward and one read-back serve both (each sample's logits do not depend on the
 * others' in eval mode); in train mode (batch statistics, dropout) each half keeps its own forward, as
 * the method runs it.
 */
export async function pseudoLabelHalves(
  backend: Backend,
  teacher: VNet,
  b: { readonly unlabeledA: Tensor; readonly unlabeledB: Tensor; readonly unlabeled?: Tensor },
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<[Tensor, Tensor]> {
  if (b.unlabeled === undefined || options.trainMode) {
    const a = await pseudoLabels(backend, teacher, b.unlabeledA, options, reads);
    return [a, await pseudoLabels(backend, teacher, b.unlabeledB, options, reads)];
  }
  const { labels, shape } = await hostPseudoLabels(backend, teacher, b.unlabeled, options, reads);
  const nA = b.unlabeledA.shape[0];
  const perSample = labels.length / shape[0];
  return [
    backend.upload(labels.subarray(0, nA * perSample), [nA, ...shape.slice(1)]),
    backend.upload(labels.subarray(nA * perSample), [shape[0] - nA, ...shape.slice(1)]),
  ];
}
