// Direct skeleton for the convolution programs on CPU-emulated adapters (SwiftShader): the same
// hooks and uniforms as conv3d-gemm.wgsl (rowEntry, columnEntry, outputBase from conv3d.wgsl or
// conv3d-backward-filter.wgsl, included after this file), but no workgroup memory and no barriers.
//
// Why a second skeleton: SwiftShader runs a workgroup's invocations as 4-wide SIMD groups on a CPU
// thread and implements workgroupBarrier() by switching between them; it cannot tell that an index
// is the same in every lane, so every storage or workgroup load is a per-lane gather, the dominant
// cost. The tiled skeleton pays barriers plus a store and a load through workgroup memory per
// staged value. Here each invocation owns an RM x 4 block of the output matrix (RM rows of M, 4
// columns), walks its split's K range reading A and gathering B straight from the storage buffers,
// and accumulates in registers: RM + 4 loads feed 4 * RM multiply-adds (RM = 16: 20 loads for 64).
// Measured on SwiftShader (npm run bench:conv3d -- --quick): 3-10x the tiled skeleton's GFLOP/s.
// Accumulators are separate variables, not an array: SwiftShader indexes a function-scope array
// per lane too. Invocations vary along the columns fastest.

@group(0) @binding(1) var<storage, read> a_src: array<f32>;
@group(0) @binding(2) var<storage, read> b_src: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
/** Rows of M per invocation: 4, 8 or 16 (the accumulators written out below). */
override RM: u32 = 4u;
/** Size of the array the accumulators are copied into for the output loop (cannot be override-sized). */
const MAX_RM: u32 = 16u;

/** Added to a coordinate it sends far outside any grid, so the bounds test rejects it (sums stay > -2^31). */
const OUTSIDE: i32 = -536870912;

struct RowEntry {
  a: i32,
  b: vec4<i32>,
}

/**
 * B at (row, column), 0 outside the grid. Branch-free: the load always happens (at index 0 when
 * outside) and a select zeroes it, because SwiftShader turns a load under a per-lane branch into a
 * masked per-lane load, several times slower than a plain one.
 */
fn gather(row: vec4<i32>, col: vec4<i32>, grid: vec3<u32>) -> f32 {
  let g = row.yzw + col.yzw;
  // Negative (padding) coordinates wrap to huge unsigned values: one test covers both ends.
  let inside = all(vec3<u32>(g) < grid);
  let index = select(0, row.x + col.x + (g.x * params.gH + g.y) * params.gW + g.z, inside);
  return select(0.0, b_src[index], inside);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Blocks (tiles of RM x 4) along N vary fastest; gid.z is the split index as in the tiled skeleton.
  let block = gid.x + gid.y * nwg.x * WG;
  let blocksN = params.tilesN;
  if (block >= params.tilesM * blocksN) { return; }
  let m0 = i32((block / blocksN) * RM);
  let n0 = i32((block % blocksN) * 4u);
  let kBegin = i32(gid.z) * params.kChunk;
  let kEnd = min(params.kCount, kBegin + params.kChunk);
  let grid = vec3<u32>(u32(params.gD), u32(params.gH), u32(params.gW));
  let rows = min(i32(RM), params.M - m0);

  let c0 = columnEntry(n0);
  let c1 = columnEntry(n0 + 1);
  let c2 = columnEntry(n0 + 2);
  let c3 = columnEntry(n0 + 3);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var acc8 = vec4<f32>(0.0);
  var acc9 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc12 = vec4<f32>(0.0);
  var acc13 = vec4<f32>(0.0);
  var acc14 = vec4<f32>(0.0);
  var acc15 = vec4<f32>(0.0);
  // Rows past M (a partial last block) re-read row `last`; their sums are never written.
  let last = rows - 1;
  for (var k = kBegin; k < kEnd; k++) {
    let row = rowEntry(k);
    let b = vec4<f32>(gather(row.b, c0, grid), gather(row.b, c1, grid), gather(row.b, c2, grid), gather(row.b, c3, grid));
    let ai = row.a + m0 * params.aRowStride;
    acc0 += a_src[ai + min(0, last) * params.aRowStride] * b;
    acc1 += a_src[ai + min(1, last) * params.aRowStride] * b;
    acc2 += a_src[ai + min(2, last) * params.aRowStride] * b;
    acc3 += a_src[ai + min(3, last) * params.aRowStride] * b;
    if (RM >= 8u) {
    acc4 += a_src[ai + min(4, last) * params.aRowStride] * b;
    acc5 += a_src[ai + min(5, last) * params.aRowStride] * b;
    acc6 += a_src[ai + min(6, last) * params.aRowStride] * b;
    acc7 += a_src[ai + min(7, last) * params.aRowStride] * b;
    }
    if (RM >= 16u) {
    acc8 += a_src[ai + min(8, last) * params.aRowStride] * b;
    acc9 += a_src[ai + min(9, last) * params.aRowStride] * b;
    acc10 += a_src[ai + min(10, last) * params.aRowStride] * b;
    acc11 += a_src[ai + min(11, last) * params.aRowStride] * b;
    acc12 += a_src[ai + min(12, last) * params.aRowStride] * b;
    acc13 += a_src[ai + min(13, last) * params.aRowStride] * b;
    acc14 += a_src[ai + min(14, last) * params.aRowStride] * b;
    acc15 += a_src[ai + min(15, last) * params.aRowStride] * b;
    }
  }
  var acc = array<vec4<f32>, MAX_RM>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11, acc12, acc13, acc14, acc15);

  // Split z writes its own slice of the partial buffer; only slice 0 carries the bias.
  let sliceOffset = i32(gid.z) * params.outSize;
  let withBias = params.addBias != 0u && gid.z == 0u;
  for (var j = 0; j < 4; j++) {
    let base = outputBase(n0 + j);
    if (base < 0) { continue; }
    for (var i = 0; i < rows; i++) {
      let m = m0 + i;
      var v = acc[i][j];
      if (withBias) { v += bias[m]; }
      out[sliceOffset + base + m * params.outRowStride] = v;
    }
  }
}
