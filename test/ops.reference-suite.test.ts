// The op suite run against the reference itself: it must pass trivially, and it keeps the suite's own
// case table and comparisons exercised while the other backends are being built. Also the reference
// backend's memory contract (copies in, copies out, disposal, destroy).
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import * as ops from '../src/ops/index.js';
import { describeOpSuite } from './support/op-suite.js';

describeOpSuite('reference', async () => createReferenceBackend());

describe('reference backend memory', () => {
  it('upload and read copy, dispose kills the handle, destroy kills the backend', async () => {
    const b = createReferenceBackend();
    const source = Float32Array.of(1, 2, 3, 4);
    const t = b.upload(source, [2, 2]);
    source[0] = 99;
    const read = await b.read(t);
    expect(Array.from(read)).toEqual([1, 2, 3, 4]);
    read[1] = 99;
    expect(Array.from(await b.read(ops.scale(b, t, 2)))).toEqual([2, 4, 6, 8]);
    expect(Array.from(await b.read(b.zeros([3], 'int32')))).toEqual([0, 0, 0]);
    expect(() => b.upload(Float32Array.of(1, 2, 3), [2, 2])).toThrow(/E_SHAPE_MISMATCH/);
    expect(() => b.upload(new Float64Array(2) as unknown as Float32Array, [2])).toThrow(/E_DTYPE_MISMATCH/);
    b.dispose(t);
    await expect(b.read(t)).rejects.toThrow(/E_DISPOSED/);
    b.destroy();
    expect(() => b.zeros([1], 'float32')).toThrow(/E_DISPOSED/);
  });
});
