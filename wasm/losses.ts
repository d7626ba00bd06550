// Softmax over channels and the two training losses of METHOD.md (steps 4 and 5), in float64 like
// the reference (src/ops/dice-ce.ts, src/ops/disagreement.ts). Logits are [N][C][S] float32, labels
// [N][S] uint8 or int32 (labelBytes 1 or 4), cube masks [S] uint8. `probs` is C float64 of scratch.

const DICE_SMOOTH: f64 = 1e-5;
const REGION_EPS: f64 = 1e-16;

// @ts-ignore: decorator
@inline
function logitAt(z: usize, b: i32, ch: i32, c: i32, s: i32, v: i32): f64 {
  return <f64>load<f32>(z + ((<usize>(b * c + ch) * <usize>s + <usize>v) << 2));
}

/** Softmax of one voxel into probs; returns log-sum-exp (cross-entropy is lse - z_y). */
function softmaxVoxel(z: usize, b: i32, c: i32, s: i32, v: i32, probs: usize): f64 {
  let mx = -Infinity;
  for (let ch = 0; ch < c; ch++) mx = max(mx, logitAt(z, b, ch, c, s, v));
  let total: f64 = 0;
  for (let ch = 0; ch < c; ch++) {
    const e = Math.exp(logitAt(z, b, ch, c, s, v) - mx);
    store<f64>(probs + (<usize>ch << 3), e);
    total += e;
  }
  for (let ch = 0; ch < c; ch++) store<f64>(probs + (<usize>ch << 3), load<f64>(probs + (<usize>ch << 3)) / total);
  return mx + Math.log(total);
}

function argmaxVoxel(z: usize, b: i32, c: i32, s: i32, v: i32): i32 {
  let best = 0;
  let bestValue = logitAt(z, b, 0, c, s, v);
  for (let ch = 1; ch < c; ch++) {
    const value = logitAt(z, b, ch, c, s, v);
    if (value > bestValue) {
      best = ch;
      bestValue = value;
    }
  }
  return best;
}

// @ts-ignore: decorator
@inline
function labelAt(labels: usize, labelBytes: i32, i: i32): i32 {
  return labelBytes == 1 ? <i32>load<u8>(labels + <usize>i) : load<i32>(labels + (<usize>i << 2));
}

/** src/ops/confidence.ts: voxels with this label count in no loss sum. */
const IGNORE_LABEL: i32 = 255;

export function softmaxF32(z: usize, y: usize, n: i32, c: i32, s: i32, probs: usize): void {
  for (let b = 0; b < n; b++) {
    for (let v = 0; v < s; v++) {
      softmaxVoxel(z, b, c, s, v, probs);
      for (let ch = 0; ch < c; ch++) {
        store<f32>(y + ((<usize>(b * c + ch) * <usize>s + <usize>v) << 2), <f32>load<f64>(probs + (<usize>ch << 3)));
      }
    }
  }
}

export function argmaxU8(z: usize, y: usize, n: i32, c: i32, s: i32): void {
  for (let b = 0; b < n; b++) for (let v = 0; v < s; v++) store<u8>(y + <usize>(b * s + v), <u8>argmaxVoxel(z, b, c, s, v));
}

/** argmax of probabilities [N][C][S], plus 128 where the largest probability is below `threshold` (src/ops/confidence.ts). */
export function confidentArgmaxU8(z: usize, y: usize, n: i32, c: i32, s: i32, threshold: f32): void {
  for (let b = 0; b < n; b++) {
    for (let v = 0; v < s; v++) {
      const best = argmaxVoxel(z, b, c, s, v);
      const low = load<f32>(z + ((<usize>(b * c + best) * <usize>s + <usize>v) << 2)) < threshold;
      store<u8>(y + <usize>(b * s + v), <u8>(best + (low ? 128 : 0)));
    }
  }
}

// The Dice + CE loss runs as two passes the thread pool shares (src/backend/wasm/kernels.ts): units
// are (sample, chunk of LOSS_CHUNK voxels); the first writes each unit's sums to its own slots, a
// finalize adds them in unit order (so the result does not depend on the split), and the second
// writes the gradient. On one thread the loss cost 1% of a V-Net step at hippocampus scale, with
// four exponentials and a logarithm per voxel.
const LOSS_CHUNK: i32 = 4096;

// @ts-ignore: decorator
@inline
function lossChunks(s: i32): i32 {
  return (s + LOSS_CHUNK - 1) / LOSS_CHUNK;
}

/** Units of diceCePartialsRange and diceCeGradRange. */
export function diceCeUnits(n: i32, s: i32): i32 {
  return n * lossChunks(s);
}

/** f64 slots per unit of diceCePartialsRange: intersection and denominator per channel, CE, region size. */
// @ts-ignore: decorator
@inline
function slotsPerUnit(c: i32): i32 {
  return 2 * c + 2;
}

export function diceCePartialBytes(n: i32, c: i32, s: i32): i32 {
  return (diceCeUnits(n, s) * slotsPerUnit(c)) << 3;
}

/**
 * Per unit: sum of p_y (intersection) and of p + onehot (denominator) per channel, CE = sum of
 * lse - z_y, and the number of voxels in region R (voxels whose mask equals `regionBit`; mask 0 =
 * every voxel). `probs`: C float64 of this thread's scratch.
 */
export function diceCePartialsRange(
  z: usize, labels: usize, labelBytes: i32, mask: usize, regionBit: i32, partial: usize, c: i32, s: i32, probs: usize,
  begin: i32, end: i32,
): void {
  const cps = lossChunks(s), slots = slotsPerUnit(c);
  for (let u = begin; u < end; u++) {
    const b = u / cps, v0 = (u % cps) * LOSS_CHUNK, v1 = min(s, v0 + LOSS_CHUNK);
    const out = partial + (<usize>(u * slots) << 3);
    memory.fill(out, 0, <usize>slots << 3);
    let crossEntropy: f64 = 0, regionSize: f64 = 0;
    for (let v = v0; v < v1; v++) {
      if (mask != 0 && <i32>load<u8>(mask + <usize>v) != regionBit) continue;
      const y = labelAt(labels, labelBytes, b * s + v);
      if (y == IGNORE_LABEL) continue;
      const lse = softmaxVoxel(z, b, c, s, v, probs);
      for (let ch = 0; ch < c; ch++) {
        const p = load<f64>(probs + (<usize>ch << 3));
        const d = out + (<usize>(c + ch) << 3);
        store<f64>(d, load<f64>(d) + p + (ch == y ? 1 : 0));
        if (ch == y) store<f64>(out + (<usize>ch << 3), load<f64>(out + (<usize>ch << 3)) + p);
      }
      crossEntropy += lse - logitAt(z, b, y, c, s, v);
      regionSize += 1;
    }
    store<f64>(out + (<usize>(2 * c) << 3), crossEntropy);
    store<f64>(out + (<usize>(2 * c + 1) << 3), regionSize);
  }
}

/**
 * weight * (Dice_R + CE_R) / 2 into `loss`, from the partials added in unit order; stats (2 N C + 1
 * float64) receives the intersection and denominator per (n, c) and the CE normaliser for the gradient.
 */
export function diceCeFinalize(partial: usize, stats: usize, loss: usize, n: i32, c: i32, s: i32, weight: f64): void {
  const pairs = n * c, cps = lossChunks(s), slots = slotsPerUnit(c);
  const inter = stats, denom = stats + (<usize>pairs << 3);
  let crossEntropy: f64 = 0, regionSize: f64 = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let i: f64 = 0, d: f64 = DICE_SMOOTH;
      for (let k = 0; k < cps; k++) {
        const at = partial + (<usize>((b * cps + k) * slots) << 3);
        i += load<f64>(at + (<usize>ch << 3));
        d += load<f64>(at + (<usize>(c + ch) << 3));
      }
      store<f64>(inter + (<usize>(b * c + ch) << 3), i);
      store<f64>(denom + (<usize>(b * c + ch) << 3), d);
    }
    for (let k = 0; k < cps; k++) {
      const at = partial + (<usize>((b * cps + k) * slots) << 3);
      crossEntropy += load<f64>(at + (<usize>(2 * c) << 3));
      regionSize += load<f64>(at + (<usize>(2 * c + 1) << 3));
    }
  }
  let ratioSum: f64 = 0;
  for (let i = 0; i < pairs; i++) ratioSum += (2 * load<f64>(inter + (<usize>i << 3)) + DICE_SMOOTH) / load<f64>(denom + (<usize>i << 3));
  const ceNorm = regionSize + REGION_EPS;
  store<f64>(stats + (<usize>(2 * pairs) << 3), ceNorm);
  store<f32>(loss, <f32>((weight * (1 - ratioSum / <f64>pairs + crossEntropy / ceNorm)) / 2));
}

/** The logit gradient of units [begin, end), 0 outside region R. `probs`: 2 C float64 of this thread's scratch. */
export function diceCeGradRange(
  z: usize, labels: usize, labelBytes: i32, mask: usize, regionBit: i32, grad: usize, stats: usize, n: i32, c: i32, s: i32,
  weight: f64, probs: usize, begin: i32, end: i32,
): void {
  const pairs = n * c, cps = lossChunks(s);
  const inter = stats, denom = stats + (<usize>pairs << 3), ceNorm = load<f64>(stats + (<usize>(2 * pairs) << 3));
  const dLdpAt = probs + (<usize>c << 3);
  for (let u = begin; u < end; u++) {
    const b = u / cps, v0 = (u % cps) * LOSS_CHUNK, v1 = min(s, v0 + LOSS_CHUNK);
    for (let v = v0; v < v1; v++) {
      const y = labelAt(labels, labelBytes, b * s + v);
      if ((mask != 0 && <i32>load<u8>(mask + <usize>v) != regionBit) || y == IGNORE_LABEL) {
        for (let ch = 0; ch < c; ch++) store<f32>(grad + ((<usize>(b * c + ch) * <usize>s + <usize>v) << 2), 0);
        continue;
      }
      softmaxVoxel(z, b, c, s, v, probs);
      // d Dice / d p_c = -(2 y_c S - (2 I + smooth)) / (S^2 N C); then the softmax Jacobian.
      let weighted: f64 = 0;
      for (let ch = 0; ch < c; ch++) {
        const k = <usize>(b * c + ch) << 3;
        const sd = load<f64>(denom + k);
        const dLdp = -(2 * (ch == y ? 1 : 0) * sd - (2 * load<f64>(inter + k) + DICE_SMOOTH)) / (sd * sd * <f64>pairs);
        store<f64>(dLdpAt + (<usize>ch << 3), dLdp);
        weighted += load<f64>(probs + (<usize>ch << 3)) * dLdp;
      }
      for (let ch = 0; ch < c; ch++) {
        const pc = load<f64>(probs + (<usize>ch << 3));
        const dLdp = load<f64>(dLdpAt + (<usize>ch << 3));
        const dz = pc * (dLdp - weighted) + (pc - (ch == y ? 1 : 0)) / ceNorm;
        store<f32>(grad + ((<usize>(b * c + ch) * <usize>s + <usize>v) << 2), <f32>((weight * dz) / 2));
      }
    }
  }
}

/** METHOD.md step 5 (see src/ops/disagreement.ts); gradient into `z` only. */
export function disagreementMseF32(
  z: usize, other: usize, target: usize, labelBytes: i32, mask: usize, loss: usize, grad: usize,
  n: i32, c: i32, s: i32, weightOutside: f64, weightInside: f64, probs: usize,
): void {
  let disagreeing: f64 = 0;
  for (let b = 0; b < n; b++) {
    for (let v = 0; v < s; v++) {
      if (labelAt(target, labelBytes, b * s + v) == IGNORE_LABEL) continue;
      if (argmaxVoxel(z, b, c, s, v) != argmaxVoxel(other, b, c, s, v)) disagreeing += 1;
    }
  }
  const norm = disagreeing + REGION_EPS;
  memory.fill(grad, 0, <usize>(n * c * s) << 2);
  let weightedError: f64 = 0;
  for (let b = 0; b < n; b++) {
    for (let v = 0; v < s; v++) {
      const y = labelAt(target, labelBytes, b * s + v);
      if (y == IGNORE_LABEL || argmaxVoxel(z, b, c, s, v) == argmaxVoxel(other, b, c, s, v)) continue;
      const weight = load<u8>(mask + <usize>v) == 1 ? weightOutside : weightInside;
      softmaxVoxel(z, b, c, s, v, probs);
      let squares: f64 = 0, weighted: f64 = 0;
      for (let ch = 0; ch < c; ch++) {
        const p = load<f64>(probs + (<usize>ch << 3));
        const diff = p - (ch == y ? 1 : 0);
        squares += diff * diff;
        weighted += p * diff;
      }
      weightedError += (weight * squares) / <f64>c;
      const k = (2 * weight) / (<f64>c * norm);
      for (let ch = 0; ch < c; ch++) {
        const p = load<f64>(probs + (<usize>ch << 3));
        const diff = p - (ch == y ? 1 : 0);
        store<f32>(grad + ((<usize>(b * c + ch) * <usize>s + <usize>v) << 2), <f32>(k * p * (diff - weighted)));
      }
    }
  }
  store<f32>(loss, <f32>(weightedError / norm));
}

// METHOD.md step 7, one student's switch score: the mean cross-entropy of its logits against its
// cleaned labels over the voxels where the other student's cleaned labels agree (src/ops/agreement.ts).
// One pass, float64 sums in voxel order like the reference; it reads logits once per agreeing voxel.
export function agreementCeF32(
  z: usize, labels: usize, labelBytes: i32, other: usize, otherBytes: i32, loss: usize, n: i32, c: i32, s: i32,
): void {
  let total: f64 = 0;
  let agreeing: f64 = 0;
  for (let b = 0; b < n; b++) {
    for (let v = 0; v < s; v++) {
      const y = labelAt(labels, labelBytes, b * s + v);
      if (labelAt(other, otherBytes, b * s + v) != y) continue;
      agreeing += 1;
      let mx = -Infinity;
      for (let ch = 0; ch < c; ch++) mx = max(mx, logitAt(z, b, ch, c, s, v));
      let sum: f64 = 0;
      for (let ch = 0; ch < c; ch++) sum += Math.exp(logitAt(z, b, ch, c, s, v) - mx);
      total += mx + Math.log(sum) - logitAt(z, b, y, c, s, v);
    }
  }
  store<f32>(loss, <f32>(total / (agreeing + REGION_EPS)));
}
