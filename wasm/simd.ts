// Multiply-add on four float32 lanes. The relaxed build (--enable relaxed-simd) fuses it into one
// FMA where the CPU has one; the plain build keeps IEEE mul then add. ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so each build carries exactly one branch.
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

/** Stores `count` (< 4 allowed) lanes of v at ptr, `strideBytes` apart. */
// @ts-ignore: decorator
@inline
export function storeLanes(ptr: usize, v: v128, count: i32, strideBytes: usize): void {
  if (count > 0) store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr + strideBytes, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(ptr + 2 * strideBytes, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(ptr + 3 * strideBytes, f32x4.extract_lane(v, 3));
}
