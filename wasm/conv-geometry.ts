// The geometry block: 21 i32 values the JavaScript side writes before every convolution
// (the geometry() helper in src/backend/wasm/conv-kernels.ts writes the same order). Passing one pointer keeps the exported
// signatures short and lets every conv function read the sizes it needs by name.
export const G_N = 0;
export const G_CI = 1;
export const G_D = 2;
export const G_H = 3;
export const G_W = 4;
export const G_CO = 5;
export const G_DO = 6;
export const G_HO = 7;
export const G_WO = 8;
export const G_KD = 9;
export const G_KH = 10;
export const G_KW = 11;
export const G_SD = 12;
export const G_SH = 13;
export const G_SW = 14;
export const G_PD = 15;
export const G_PH = 16;
export const G_PW = 17;
export const G_DD = 18;
export const G_DH = 19;
export const G_DW = 20;
export const GEOMETRY_LENGTH = 21;

// @ts-ignore: decorator
@inline
export function geo(g: usize, index: i32): i32 {
  return load<i32>(g + (<usize>index << 2));
}

/** Channels are processed in blocks of 4 (one register tile); tensors are zero-padded to match. */
// @ts-ignore: decorator
@inline
export function blocksOf4(c: i32): i32 {
  return (c + 3) >> 2;
}

/**
 * Padded input in "W phases": [N][Ci][D + 2pD][H + 2pH][sW][Wq], Wq = ceil((W + 2pW) / sW). Padded
 * column p sits in phase p % sW at q = p / sW, so the columns one tap reads for consecutive outputs
 * (ow * sW + kw * dW) are contiguous for every stride and dilation.
 */
export function phaseRowFloats(g: usize): i32 {
  const sw = geo(g, G_SW);
  const wq = (geo(g, G_W) + 2 * geo(g, G_PW) + sw - 1) / sw;
  return sw * wq;
}

export function phaseChannelFloats(g: usize): i32 {
  return (geo(g, G_D) + 2 * geo(g, G_PD)) * (geo(g, G_H) + 2 * geo(g, G_PH)) * phaseRowFloats(g);
}

/** Slack after every packed buffer: a 12-wide tile may read up to 11 floats past a row's end. */
export const SLACK_FLOATS = 16;
