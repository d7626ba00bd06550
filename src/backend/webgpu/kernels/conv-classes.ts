/**
 * Residue classes of a transposed convolution (conv3dBackwardData, ConvTranspose3d forward), per axis.
 *
 * The forward convolution reads input position i = o * s - p + k * dil from output position o
 * through tap k (ops/conv-geometry.ts, equation (1)). Transposing: input i receives from output
 *
 *     o = (i + p - k * dil) / s,   only when s divides i + p - k * dil and 0 <= o < O.
 *
 * Write i = q * s + r with 0 <= r < s. Then o = q + (r + p - k * dil) / s, and whether the division
 * is exact depends on r and k only, not on q. So for each residue class r the contributing taps are
 * a fixed set — the k with k * dil = r + p (mod s), an arithmetic progression k = first + j * step
 * with step = s / gcd(s, dil) — and within the class the transposed convolution is an ordinary
 * gather with offset e(k) = (r + p - k * dil) / s. Looping over classes instead of testing every tap
 * at every voxel does no wasted work: for V-Net's k2 s2 up-convolution each of the 8 classes has
 * exactly one tap per axis, where the naive gather would try 8 taps and keep 1.
 */
export interface AxisClass {
  /** Residue r of the input positions i = q * s + r in this class. */
  readonly residue: number;
  /** How many input positions the class has along the axis: q in [0, positions). */
  readonly positions: number;
  /** Taps k = first + j * step, j in [0, taps), whose division by s is exact. */
  readonly first: number;
  readonly step: number;
  readonly taps: number;
}

export function axisClasses(inputSize: number, kernel: number, stride: number, padding: number, dilation: number): AxisClass[] {
  const classes: AxisClass[] = [];
  for (let r = 0; r < Math.min(stride, inputSize); r++) {
    const taps: number[] = [];
    for (let k = 0; k < kernel; k++) {
      const numerator = r + padding - k * dilation;
      if (((numerator % stride) + stride) % stride === 0) taps.push(k);
    }
    const step = taps.length > 1 ? taps[1] - taps[0] : 1;
    // The taps form a progression by number theory (above); the shader relies on it, so check it.
    if (!taps.every((k, j) => k === taps[0] + j * step)) throw new Error(`conv classes: taps ${taps.join(',')} are not a progression`);
    classes.push({ residue: r, positions: Math.ceil((inputSize - r) / stride), first: taps[0] ?? 0, step, taps: taps.length });
  }
  return classes;
}
