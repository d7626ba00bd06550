/**
 * METHOD.md stage 2, step 7: the switch. Each student, in eval mode, labels the raw unlabeled patches U;
 * Y^k = LCC(argmax S_k(U)), A = [Y^1 == Y^2], and
 *   c_k = sum_v A(v) CE(S_k(U)(v), Y^k(v)) / (sum_v A(v) + 1e-16),
 * the student's own cross-entropy on the voxels both students agree on. The lower c_k wins; a tie picks S1.
 * The logits stay on the device: the argmax volumes of both students come back in one read for LCC
 * (which runs on the host: union-find is sequential), the cleaned labels go up again, and the
 * agreementCrossEntropy kernel returns c_1 and c_2, read back together.
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import { type Connectivity, keepLargestComponentPerSample } from '../../infer/connected-components.js';
import type { VNet } from '../../nn/vnet.js';
import { agreementCrossEntropy, argmax, concat } from '../../ops/index.js';
import type { ReadCounter } from './reads.js';

/** argmin_k c_k, the first student on a tie. */
export function chooseStudent(confidence: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < confidence.length; k++) if (confidence[k] < confidence[best]) best = k;
  return best;
}

export interface Selection {
  /** Index of the selected student (0 = S1). */
  readonly selected: number;
  /** c_k per student (float32, as the device computed it). */
  readonly confidence: number[];
}

/**
 * Runs the switch on U given as parts (e.g. unimg_a and unimg_b: in eval mode a batch split into parts
 * gives the same logits as the whole batch). Students are put in eval mode and back to train mode.
 * Two read-backs: both students' argmax volumes, then c_1 and c_2.
 */
export async function selectStudent(
  backend: Backend,
  students: readonly VNet[],
  parts: readonly Tensor[],
  connectivity: Connectivity,
  reads: ReadCounter,
): Promise<Selection> {
  if (students.length !== 2) throw new SdsError('E_INVALID_ARGUMENT', `selectStudent: expected 2 students, found ${students.length}`);
  const owned: Tensor[] = [];
  const keep = (t: Tensor): Tensor => {
    owned.push(t);
    return t;
  };
  try {
    const logits = students.map((net) => keep(studentLogits(backend, net, parts)));
    const joined = keep(
      concat(
        backend,
        logits.map((z) => keep(argmax(backend, z))),
      ),
    );
    const hard = (await reads.read(joined)) as Uint8Array;
    const labelShape = [logits[0].shape[0], ...logits[0].shape.slice(2)];
    const perStudent = sizeOf(labelShape);
    const labels = logits.map((_, k) =>
      keep(
        backend.upload(
          keepLargestComponentPerSample(hard.subarray(k * perStudent, (k + 1) * perStudent), labelShape, { connectivity }),
          labelShape,
        ),
      ),
    );
    const scores = logits.map((z, k) => keep(agreementCrossEntropy(backend, z, labels[k], labels[1 - k])));
    const confidence = Array.from((await reads.read(keep(concat(backend, scores)))) as Float32Array);
    return { selected: chooseStudent(confidence), confidence };
  } finally {
    for (const t of owned) backend.dispose(t);
  }
}

/** One student's eval-mode logits on U, the parts joined along N; train mode is restored. */
function studentLogits(backend: Backend, net: VNet, parts: readonly Tensor[]): Tensor {
  net.eval();
  const chunks: Tensor[] = [];
  let joined: Tensor | null = null;
  try {
    for (const x of parts) chunks.push(net.forward(x));
    joined = chunks.length === 1 ? chunks[0] : concat(backend, chunks);
    return joined;
  } finally {
    for (const c of chunks) if (c !== joined) backend.dispose(c);
    net.train();
  }
}
