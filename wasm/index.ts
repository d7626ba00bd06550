// Entry point of the sds-web CPU kernels. Every function works on raw addresses in the memory the
// JavaScript side owns (imported, shared between threads when SharedArrayBuffer exists); nothing
// here allocates, so the module needs no runtime and instances in several workers cannot collide.
export * from './conv-pack';
export * from './conv';
export * from './conv-filter';
export * from './conv-narrow';

/** First byte the JavaScript allocator may hand out: everything below is this module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
export * from './elementwise';
export * from './optimizer';
export * from './spatial';
export * from './batch-norm';
export * from './losses';
