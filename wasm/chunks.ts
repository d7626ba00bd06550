// Unit size of the elementwise Range kernels (elementwise.ts, optimizer.ts): 64 KB of floats, large
// enough that a unit's fixed cost vanishes, small enough to balance the threads. Not exported from
// index.ts: the JavaScript side asks elementUnits().
export const ELEMENT_CHUNK: i32 = 16384;
