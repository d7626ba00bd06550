/**
 * METHOD.md stage 2, step 1: the teacher's pseudo-labels, LCC(argmax T(unimg)), without gradient; with
 * `flipAxes` (config `adaptation.pseudoLabelFlips`, a departure) the argmax is of the teacher's softmax
 * averaged with its softmax of the mirrored patch mirrored back, as flip test-time augmentation does;
 * with `confidence` (config `adaptation.pseudoLabelConfidence`, a departure) the voxels whose largest
 * teacher probability is below it become IGNORE_LABEL after the LCC, so no loss learns from them.
 */
import type { Backend } from '../../backend/backend.js';
import type { Tensor } from '../../core/tensor.js';
import { type Connectivity, keepLargestComponentPerSample } from '../../infer/connected-components.js';
import type { VNet } from '../../nn/vnet.js';
import type { SpatialAxis } from '../../contract/params.js';
import { IGNORE_LABEL, LOW_CONFIDENCE_BIT, add, argmax, concat, confidentArgmax, flip, scale, softmax } from '../../ops/index.js';
import type { ReadCounter } from './reads.js';

export interface PseudoLabelOptions {
  readonly connectivity: Connectivity;
  /** Run the teacher in train mode (dropout on, batch statistics, running stats updated), as the authors do. */
  readonly trainMode: boolean;
  /** Tensor axes (0 = D, 1 = H, 2 = W) of a second, mirrored teacher view averaged in (none: one view). */
  readonly flipAxes?: readonly SpatialAxis[];
  /** Teacher probability below which a voxel is ignored (0 or absent: every voxel is a pseudo-label). */
  readonly confidence?: number;
}

/**
 * The teacher's pseudo-labels of the parts (unlabeled images [n_i, 1, D, H, W], one forward each) as
 * one host array [sum n_i, D, H, W] uint8: argmax on the device, every part's in one read-back, then
 * each sample and class cleaned to its largest 26-connected component on the host (LCC has no kernel:
 * union-find is sequential). The teacher's mode is restored afterwards.
 */
async function teacherLabels(
  backend: Backend,
  teacher: VNet,
  parts: readonly Tensor[],
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<Uint8Array> {
  const confidence = options.confidence ?? 0;
  const joined = teacherArgmax(backend, teacher, parts, options.trainMode, options.flipAxes ?? [], confidence);
  let hard: Uint8Array;
  try {
    hard = (await reads.read(joined)) as Uint8Array;
  } finally {
    backend.dispose(joined);
  }
  const samples = parts.reduce((n, x) => n + x.shape[0], 0);
  const shape = [samples, ...parts[0].shape.slice(2)];
  if (confidence === 0) return keepLargestComponentPerSample(hard, shape, { connectivity: options.connectivity });
  // The class sits in the low bits, the low-confidence flag in the top one: LCC sees the classes, then
  // the flagged voxels are ignored whatever LCC made of them.
  const classes = hard.map((v) => v & ~LOW_CONFIDENCE_BIT);
  const cleaned = keepLargestComponentPerSample(classes, shape, { connectivity: options.connectivity });
  for (let i = 0; i < hard.length; i++) if (hard[i] & LOW_CONFIDENCE_BIT) cleaned[i] = IGNORE_LABEL;
  return cleaned;
}

/**
 * argmax T(x) of every part (or of the flip-averaged softmax; with a confidence threshold, confidentArgmax
 * of the softmax), joined along N on the device; the teacher's mode is restored.
 */
function teacherArgmax(
  backend: Backend,
  teacher: VNet,
  parts: readonly Tensor[],
  trainMode: boolean,
  flipAxes: readonly SpatialAxis[],
  confidence: number,
): Tensor {
  const wasTraining = teacher.isTraining;
  if (trainMode) teacher.train();
  else teacher.eval();
  const classes: Tensor[] = [];
  let joined: Tensor | null = null;
  try {
    for (const x of parts) {
      const logits = teacher.forward(x);
      // A train-mode forward keeps its intermediates for a backward that never comes.
      teacher.releaseCache();
      try {
        classes.push(
          flipAxes.length > 0
            ? flipAveragedArgmax(backend, teacher, x, logits, flipAxes, confidence)
            : oneViewClasses(backend, logits, confidence),
        );
      } finally {
        backend.dispose(logits);
      }
    }
    joined = classes.length === 1 ? classes[0] : concat(backend, classes);
    return joined;
  } finally {
    for (const c of classes) if (c !== joined) backend.dispose(c);
    teacher.releaseCache();
    if (wasTraining) teacher.train();
    else teacher.eval();
  }
}

/** argmax(logits), or with a confidence threshold confidentArgmax(softmax(logits), confidence). */
function oneViewClasses(backend: Backend, logits: Tensor, confidence: number): Tensor {
  if (confidence === 0) return argmax(backend, logits);
  const p = softmax(backend, logits);
  try {
    return confidentArgmax(backend, p, confidence);
  } finally {
    backend.dispose(p);
  }
}

/**
 * argmax(softmax(logits) + flip(softmax(T(flip(x))))): the sum orders classes as the mean does; with a
 * confidence threshold, confidentArgmax of the mean.
 */
function flipAveragedArgmax(
  backend: Backend,
  teacher: VNet,
  x: Tensor,
  logits: Tensor,
  axes: readonly SpatialAxis[],
  confidence: number,
): Tensor {
  const owned: Tensor[] = [];
  try {
    const mirrored = flip(backend, x, axes);
    owned.push(mirrored);
    const mirroredLogits = teacher.forward(mirrored);
    teacher.releaseCache();
    owned.push(mirroredLogits);
    const back = flip(backend, mirroredLogits, axes);
    owned.push(back);
    const p = softmax(backend, logits);
    owned.push(p);
    const q = softmax(backend, back);
    owned.push(q);
    const sum = add(backend, p, q);
    owned.push(sum);
    if (confidence === 0) return argmax(backend, sum);
    const mean = scale(backend, sum, 0.5);
    owned.push(mean);
    return confidentArgmax(backend, mean, confidence);
  } finally {
    for (const t of owned) backend.dispose(t);
  }
}

/** Uploads consecutive samples of host labels [N, D, H, W] as tensors of `counts` samples each. */
function uploadSplit(backend: Backend, labels: Uint8Array, spatial: readonly number[], counts: readonly number[]): Tensor[] {
  const perSample = labels.length / counts.reduce((a, b) => a + b, 0);
  let offset = 0;
  return counts.map((n) => {
    const t = backend.upload(labels.subarray(offset * perSample, (offset + n) * perSample), [n, ...spatial]);
    offset += n;
    return t;
  });
}

/** The teacher's pseudo-labels of one batch, uploaded; the caller owns them. */
export async function pseudoLabels(
  backend: Backend,
  teacher: VNet,
  unlabeled: Tensor,
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<Tensor> {
  const labels = await teacherLabels(backend, teacher, [unlabeled], options, reads);
  return backend.upload(labels, [unlabeled.shape[0], ...unlabeled.shape.slice(2)]);
}

/**
 * Pseudo-labels of both unlabeled halves, in one read-back. With the halves also given as one batch
 * and the teacher in eval mode, one forward serves both (each sample's logits do not depend on the
 * others' in eval mode); in train mode (batch statistics, dropout) each half keeps its own forward,
 * as the method runs it.
 */
export async function pseudoLabelHalves(
  backend: Backend,
  teacher: VNet,
  b: { readonly unlabeledA: Tensor; readonly unlabeledB: Tensor; readonly unlabeled?: Tensor },
  options: PseudoLabelOptions,
  reads: ReadCounter,
): Promise<[Tensor, Tensor]> {
  const parts = b.unlabeled === undefined || options.trainMode ? [b.unlabeledA, b.unlabeledB] : [b.unlabeled];
  const labels = await teacherLabels(backend, teacher, parts, options, reads);
  const [a, rest] = uploadSplit(backend, labels, b.unlabeledA.shape.slice(2), [b.unlabeledA.shape[0], b.unlabeledB.shape[0]]);
  return [a, rest];
}
