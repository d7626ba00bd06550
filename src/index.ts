// Public surface of sds-web. Internals stay internal: only what a user needs is exported here.
export { SdsError, type SdsErrorCode } from './core/errors.js';
export { Tensor, type BackendName } from './core/tensor.js';
export type { DType, TypedArray } from './core/dtype.js';
export type { Shape, Vec3 } from './core/shape.js';
export type { Backend, BackendInfo } from './backend/backend.js';
