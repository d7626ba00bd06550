/**
 * Counter-based random numbers: the value for element i of a call seeded with s is a pure function
 * of (s, i), so every backend (TypeScript, WGSL, AssemblyScript) draws the same numbers in any order
 * and a run is reproducible from its seeds. The mixer is a 32-bit integer hash (xor-shift-multiply,
 * "lowbias32" constants) that WGSL's wrapping u32 arithmetic and wasm's i32.mul compute identically.
 */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

/** Uniform in [0, 1) with 24 bits, exactly representable in float32. */
export function uniformAt(seed: number, index: number): number {
  return (mix32((mix32(seed >>> 0) ^ index) >>> 0) >>> 8) / 16777216;
}
