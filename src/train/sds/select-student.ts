/**
 * METHOD.md stage 2, step 7: the switch. Each student, in eval mode, labels the raw unlabeled patches U;
 * Y^k = LCC(argmax S_k(U)), A = [Y^1 == Y^2], and
 *   c_k = sum_v A(v) CE(S_k(U)(v), Y^k(v)) / (sum_v A(v) + 1e-16),
 * the student's own cross-entropy on the voxels both students agree on. The lower c_k wins; a tie picks S1.
 * There is no kernel for an agreement-masked cross-entropy, and LCC runs on the host anyway, so the
 * logits are read back once per forward and c_k is computed here in float64.
 */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { type Connectivity, keepLargestComponentPerSample } from '../../infer/connected-components.js';
import type { VNet } from '../../nn/vnet.js';
import { REGION_EPS } from '../../ops/dice-ce.js';
import { argmaxReference } from '../../ops/softmax.js';
import type { ReadCounter } from './reads.js';

/** One student's read-back logits on U [N, C, D, H, W] and its LCC'd labels Y^k [N, D, H, W]. */
export interface StudentView {
  readonly logits: Float32Array;
  readonly labels: Uint8Array;
}

/** c_k for every student (see the module comment); `shape` is the logits' NCDHW shape. */
export function agreementConfidence(views: readonly StudentView[], shape: readonly number[]): number[] {
  const [N, C] = shape;
  const voxels = shape[2] * shape[3] * shape[4];
  for (const v of views)
    if (v.logits.length !== N * C * voxels || v.labels.length !== N * voxels)
      throw new SdsError('E_SHAPE_MISMATCH', `agreementConfidence: expected logits and labels for [${shape.join(', ')}]`);
  const numerators = views.map(() => 0);
  let agreeing = 0;
  for (let n = 0; n < N; n++)
    for (let v = 0; v < voxels; v++) {
      const i = n * voxels + v;
      const y = views[0].labels[i];
      if (views.some((s) => s.labels[i] !== y)) continue;
      agreeing++;
      views.forEach((s, k) => {
        // CE = log-sum-exp(z) - z_y, shifted by the maximum so exp cannot overflow.
        const base = n * C * voxels + v;
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, s.logits[base + c * voxels]);
        let total = 0;
        for (let c = 0; c < C; c++) total += Math.exp(s.logits[base + c * voxels] - max);
        numerators[k] += max + Math.log(total) - s.logits[base + y * voxels];
      });
    }
  return numerators.map((x) => x / (agreeing + REGION_EPS));
}

/** argmin_k c_k, the first student on a tie. */
export function chooseStudent(confidence: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < confidence.length; k++) if (confidence[k] < confidence[best]) best = k;
  return best;
}

export interface Selection {
  /** Index of the selected student (0 = S1). */
  readonly selected: number;
  /** c_k per student. */
  readonly confidence: number[];
}

/**
 * Runs the switch on U given as parts (e.g. unimg_a and unimg_b: in eval mode a batch split into parts
 * gives the same logits as the whole batch). Students are put in eval mode and back to train mode.
 */
export async function selectStudent(
  backend: Backend,
  students: readonly VNet[],
  parts: readonly Tensor[],
  connectivity: Connectivity,
  reads: ReadCounter,
): Promise<Selection> {
  const views: StudentView[] = [];
  let shape: number[] = [];
  for (const net of students) {
    net.eval();
    try {
      const chunks: Float32Array[] = [];
      for (const x of parts) {
        const logits = net.forward(x);
        chunks.push((await reads.read(logits)) as Float32Array);
        shape = [...logits.shape];
        backend.dispose(logits);
      }
      const all = concat(chunks);
      shape[0] = parts.reduce((n, x) => n + x.shape[0], 0);
      const labelShape = [shape[0], ...shape.slice(2)];
      views.push({
        logits: all,
        labels: keepLargestComponentPerSample(argmaxReference({ data: all, shape }).data, labelShape, { connectivity }),
      });
    } finally {
      net.train();
    }
  }
  const confidence = agreementConfidence(views, shape);
  return { selected: chooseStudent(confidence), confidence };
}

/** NCDHW arrays are sample-major, so concatenating parts is concatenating along N. */
function concat(chunks: readonly Float32Array[]): Float32Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
