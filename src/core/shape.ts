import { SdsError } from './errors.js';

/** A triple over the spatial axes in NCDHW order: [D, H, W]. */
export type Vec3 = readonly [number, number, number];
export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const shapeString = (shape: Shape): string => `[${shape.join(', ')}]`;

/** The shape of shapes joined along the first axis ([n_i, ...rest] -> [sum n_i, ...rest]); scalars [] count as one. */
export const concatShape = (shapes: readonly Shape[]): Shape => [
  shapes.reduce((n, s) => n + (s.length === 0 ? 1 : s[0]), 0),
  ...shapes[0].slice(1),
];

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export function expectShape(what: string, actual: Shape, expected: Shape): void {
  if (!sameShape(actual, expected)) {
    throw new SdsError('E_SHAPE_MISMATCH', `${what}: expected shape ${shapeString(expected)}, found ${shapeString(actual)}`, {
      expected,
      actual,
    });
  }
}

export function expectRank(what: string, shape: Shape, rank: number): void {
  if (shape.length !== rank) {
    throw new SdsError('E_SHAPE_MISMATCH', `${what}: expected rank ${rank}, found rank ${shape.length} ${shapeString(shape)}`);
  }
}

export function expectPositiveIntegers(what: string, values: readonly number[]): void {
  if (!values.every((v) => Number.isInteger(v) && v > 0)) {
    throw new SdsError('E_INVALID_ARGUMENT', `${what}: expected positive integers, found ${shapeString(values)}`);
  }
}
