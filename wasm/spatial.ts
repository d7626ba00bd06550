// Masks, mixing and spatial rearrangement (flip, rot90). These move bytes, so they take the element
// size (1 for uint8 labels and masks, 4 for float32 and int32) and compute nothing in floating point.

/** The counter-based mixer of src/ops/random.ts ("lowbias32"); u32 arithmetic wraps identically. */
function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

/** [N, C] float32: uniformAt(seed, i) >= p keeps the channel with 1 / (1 - p), else 0. */
export function dropoutMaskF32(out: usize, count: i32, p: f64, seed: u32): void {
  const kept = <f32>(1 / (1 - p));
  const seedHash = mix32(seed);
  for (let i = 0; i < count; i++) {
    const u = <f64>(mix32(seedHash ^ <u32>i) >>> 8) / 16777216;
    store<f32>(out + (<usize>i << 2), u >= p ? kept : 0);
  }
}

/** [D, H, W] uint8: 0 inside the box [start, start + size) on every axis, 1 outside. */
export function cubeMask(out: usize, d: i32, h: i32, w: i32, d0: i32, h0: i32, w0: i32, dn: i32, hn: i32, wn: i32): void {
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = z >= d0 && z < d0 + dn && y >= h0 && y < h0 + hn && x >= w0 && x < w0 + wn;
        store<u8>(out + <usize>((z * h + y) * w + x), inside ? 0 : 1);
      }
    }
  }
}

/** y = mask == 1 ? a : b, the mask repeating every `spatial` elements (over N and C). */
export function cutMix(a: usize, b: usize, mask: usize, y: usize, count: i32, spatial: i32, elemBytes: i32): void {
  const size = <usize>elemBytes;
  for (let i = 0; i < count; i++) {
    const from = load<u8>(mask + <usize>(i % spatial)) == 1 ? a : b;
    const o = <usize>i * size;
    if (size == 4) store<u32>(y + o, load<u32>(from + o));
    else store<u8>(y + o, load<u8>(from + o));
  }
}

/**
 * y[outer][i][j][k] = x[outer * planeIn + base + i * s0 + j * s1 + k * s2] (element units, signed
 * strides): every flip and rot90 is this gather with the strides the JavaScript side derives.
 */
export function gatherSpatial(
  x: usize, y: usize, elemBytes: i32, outer: i32, planeIn: i32, d: i32, h: i32, w: i32, base: i32, s0: i32, s1: i32, s2: i32,
): void {
  const size = <usize>elemBytes;
  let o: usize = 0;
  for (let n = 0; n < outer; n++) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < h; j++) {
        let src = n * planeIn + base + i * s0 + j * s1;
        for (let k = 0; k < w; k++) {
          if (size == 4) store<u32>(y + o * 4, load<u32>(x + (<usize>src << 2)));
          else store<u8>(y + o, load<u8>(x + <usize>src));
          src += s2;
          o++;
        }
      }
    }
  }
}
