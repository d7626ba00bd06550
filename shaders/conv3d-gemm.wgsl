// Implicit-GEMM skeleton shared by the convolution programs (included before conv3d.wgsl and
// conv3d-backward-filter.wgsl, which define the three hooks below). Each workgroup computes a
// TILE_M x TILE_N block of
//
//   out[m, col] = sum over k in this split's K range of A[m, k] * B[k, col]
//
//   A[m, k]   = a_src[row.a + m * aRowStride]                  (0 when the row is past the range or m >= M)
//   B[k, col] = b_src[row.b.x + colB.x + flat(row.b.yzw + colB.yzw)]   (0 outside the gD x gH x gW grid)
//
// where row = rowEntry(k) and colB = columnEntry(col). The im2col matrix B is never materialised:
// each element is gathered from the source tensor when its K-slice is staged in workgroup memory.
// Hooks: rowEntry(k) -> RowEntry, columnEntry(col) -> vec4<i32> (OUTSIDE in .y past NCOLS),
// outputBase(col) -> i32 (the flat output index of row m = 0, or -1 past NCOLS).
//
// Threads form a WG_X x WG_Y grid; each holds a 4 x 4 block of outputs in registers (rows
// 4*ly..4*ly+3, columns 4*lx..4*lx+3), so one K step reads two vec4s from workgroup memory for 16
// multiply-adds.

@group(0) @binding(1) var<storage, read> a_src: array<f32>;
@group(0) @binding(2) var<storage, read> b_src: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TILE_K: u32 = 16u;

override THREADS: u32 = WG_X * WG_Y;
override TILE_M: u32 = WG_Y * 4u;
override TILE_N: u32 = WG_X * 4u;
// tileA holds K rows of TILE_M values as vec4s, with one spare vec4 per row: the staging writes run
// k-fastest across threads, and the stagger spreads them over banks instead of one.
override A_ROW: u32 = WG_Y + 1u;
override TILE_A_VEC4S: u32 = TILE_K * A_ROW;
override TILE_B_VEC4S: u32 = TILE_K * WG_X;
// Row entries are double-buffered: the entries of slice s + 1 are computed while slice s is staged.
override ROW_SLOTS: u32 = 2u * TILE_K;
// Each thread stages one B column for B_ROWS consecutive K rows per slice.
override B_ROWS: u32 = TILE_K / (THREADS / TILE_N);

/** Added to a coordinate it sends far outside any grid, so the bounds test rejects it (sums stay > -2^31). */
const OUTSIDE: i32 = -536870912;

struct RowEntry {
  a: i32,
  b: vec4<i32>,
}

var<workgroup> tileA: array<vec4<f32>, TILE_A_VEC4S>;
var<workgroup> tileB: array<vec4<f32>, TILE_B_VEC4S>;
var<workgroup> rowA: array<i32, ROW_SLOTS>;
var<workgroup> rowB: array<vec4<i32>, ROW_SLOTS>;

fn stageRow(slot: u32, k: i32, kEnd: i32) {
  if (k < kEnd) {
    let row = rowEntry(k);
    rowA[slot] = row.a;
    rowB[slot] = row.b;
  } else {
    rowA[slot] = -1;
    rowB[slot] = vec4<i32>(0, OUTSIDE, 0, 0);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  // Tiles along M vary fastest, so neighbouring workgroups share the (large) B columns in cache.
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= params.tilesM * params.tilesN) { return; }
  let m0 = i32((tile % params.tilesM) * TILE_M);
  let n0 = i32((tile / params.tilesM) * TILE_N);
  let kBegin = i32(wid.z) * params.kChunk;
  let kEnd = min(params.kCount, kBegin + params.kChunk);
  let slices = (max(kEnd - kBegin, 0) + i32(TILE_K) - 1) / i32(TILE_K);
  let grid = vec3<u32>(u32(params.gD), u32(params.gH), u32(params.gW));

  let loadCol = lidx % TILE_N;
  let loadRow0 = (lidx / TILE_N) * B_ROWS;
  let colB = columnEntry(n0 + i32(loadCol));

  if (lidx < TILE_K) { stageRow(lidx, kBegin + i32(lidx), kEnd); }
  workgroupBarrier();

  var acc: array<vec4<f32>, 4>;
  for (var s = 0; s < slices; s++) {
    let slot = u32(s & 1) * TILE_K;
    for (var e = lidx; e < TILE_K * TILE_M; e += THREADS) {
      let kk = e % TILE_K;
      let m = e / TILE_K;
      let ra = rowA[slot + kk];
      let gm = m0 + i32(m);
      var v = 0.0;
      if (ra >= 0 && gm < params.M) { v = a_src[ra + gm * params.aRowStride]; }
      tileA[kk * A_ROW + m / 4u][m % 4u] = v;
    }
    for (var r = 0u; r < B_ROWS; r++) {
      let kk = loadRow0 + r;
      let rb = rowB[slot + kk];
      let c = rb.yzw + colB.yzw;
      var v = 0.0;
      // Negative (padding) coordinates wrap to huge unsigned values: one test covers both ends.
      if (all(vec3<u32>(c) < grid)) { v = b_src[rb.x + colB.x + (c.x * params.gH + c.y) * params.gW + c.z]; }
      tileB[kk * WG_X + loadCol / 4u][loadCol % 4u] = v;
    }
    if (lidx < TILE_K) { stageRow(TILE_K - slot + lidx, kBegin + (s + 1) * i32(TILE_K) + i32(lidx), kEnd); }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a = tileA[kk * A_ROW + lid.y];
      let b = tileB[kk * WG_X + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }

  // Split z writes its own slice of the partial buffer; only slice 0 carries the bias, so the
  // reduce pass (a plain sum) adds it exactly once.
  let sliceOffset = i32(wid.z) * params.outSize;
  let withBias = params.addBias != 0u && wid.z == 0u;
  for (var j = 0u; j < 4u; j++) {
    let base = outputBase(n0 + i32(lid.x * 4u + j));
    if (base < 0) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + i32(lid.y * 4u + i);
      if (m >= params.M) { break; }
      var v = acc[i][j];
      if (withBias) { v += bias[m]; }
      out[sliceOffset + base + m * params.outRowStride] = v;
    }
  }
}
