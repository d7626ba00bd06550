import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { SdsError } from '../src/core/errors.js';
import { readFixture } from './support/vnet-fixtures.js';

const header = (json: string, data = new Uint8Array(0)): Uint8Array => {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
};

const expectFormatError = (bytes: Uint8Array, message: RegExp): void => {
  let caught: unknown;
  try {
    readSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SdsError);
  expect((caught as SdsError).code).toBe('E_FORMAT');
  expect((caught as SdsError).message).toMatch(message);
};

describe('safetensors', () => {
  it('round-trips every dtype, shape and metadata, in order', () => {
    const tensors = new Map<string, { shape: number[]; data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array }>([
      ['b.f32', { shape: [2, 3], data: Float32Array.from([1.5, -2, 3e-8, Infinity, 0, -0]) }],
      ['a.f64', { shape: [1], data: Float64Array.of(Math.PI) }],
      ['count', { shape: [], data: BigInt64Array.of(-(2n ** 40n)) }],
      ['i32', { shape: [2], data: Int32Array.of(-7, 2 ** 31 - 1) }],
      ['u8', { shape: [3], data: Uint8Array.of(0, 7, 255) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { note: 'héllo', iteration: '12' });
    // The data section starts 8-byte aligned, as the reference writer pads the header.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const back = readSafetensors(bytes);
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    expect(back.metadata).toEqual({ note: 'héllo', iteration: '12' });
  });

  it('reads the file PyTorch tooling wrote (scripts/make-golden-vnet.py)', () => {
    const file = readSafetensors(readFixture('vnet-init.safetensors'));
    expect(file.metadata.format).toBe('pt');
    const w = file.tensors.get('encoder.block_one.conv.0.weight')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([4, 1, 3, 3, 3]);
    expect(file.tensors.get('decoder.block_five_up.conv.0.weight')!.shape).toEqual([64, 32, 2, 2, 2]);
    const tracked = file.tensors.get('encoder.block_one.conv.1.num_batches_tracked')!;
    expect(tracked.dtype).toBe('I64');
    expect(tracked.shape).toEqual([]);
    expect(Array.from(file.tensors.get('encoder.block_one.conv.1.running_var')!.data as Float32Array)).toEqual([1, 1, 1, 1]);
  });

  it('fails on bad files with E_FORMAT saying what is wrong', () => {
    expectFormatError(new Uint8Array(5), /at least 8 bytes/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    expectFormatError(huge, /header length 1000 does not fit/);
    expectFormatError(header('{"a": '), /not valid UTF-8 JSON/);
    expectFormatError(header('[1, 2]'), /JSON object, found an array/);
    expectFormatError(
      header('{"t": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4)),
      /dtype one of .* found "Q7"/,
    );
    expectFormatError(
      header('{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', new Uint8Array(8)),
      /needs 8 bytes, data_offsets span 4/,
    );
    expectFormatError(header('{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', new Uint8Array(4)), /truncated/);
    expectFormatError(header('{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}'), /non-negative integers/);
    expectFormatError(header('{"__metadata__": {"k": 3}}'), /"__metadata__.k" to be a string/);
    const good = readFixture('vnet-extra-head.safetensors');
    expectFormatError(good.subarray(0, good.length - 10), /truncated/);
  });

  it('refuses to write a tensor whose data does not fill its shape', () => {
    expect(() => writeSafetensors(new Map([['x', { shape: [3], data: new Float32Array(2) }]]))).toThrow(
      /has 2 values, shape \[3\] needs 3/,
    );
  });
});
