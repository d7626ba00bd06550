/**
 * The output size of a convolution along one axis, PyTorch's formula. Part of the contract because ops/
 * (validation, references) and every backend (dispatch sizes) compute it and must agree.
 */

/** floor((I + 2p - dil*(k-1) - 1) / s) + 1, PyTorch's output size; may be < 1 for invalid geometry. */
export function convOutputSize(inputSize: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((inputSize + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}
