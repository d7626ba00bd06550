/**
 * Peer: @tensorflow/tfjs-backend-cpu (plain JavaScript, one thread), conv3d forward and both of its
 * gradients through the registered kernels Conv3D, Conv3DBackpropInputV2 and Conv3DBackpropFilterV2
 * (what tf.grad of conv3d runs, without the forward pass tf.grad would also time). tfjs is
 * channels-last (NDHWC, filters [kD, kH, kW, Ci, Co]): operands are transposed before timing and the
 * outputs back to sds-web's layout after it.
 */
import { bestTime } from './best-time.js';
import {
  type ConvGeometry,
  type ConvOp,
  type ConvPeer,
  type PeerResult,
  type PeerTiming,
  convData,
  outSpatial,
  smallGeometry,
} from './conv-data.js';

/** [C, S] (channel-major, S = spatial size) -> [S, C], or back with the arguments swapped. */
function swapAxes(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** [Co, Ci, k^3] -> [k^3, Ci, Co] (tfjs's filter order), or back when `back` is set. */
function filterLayout(w: Float32Array, co: number, ci: number, taps: number, back = false): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let t = 0; t < taps; t++) {
        const ours = (o * ci + i) * taps + t;
        const theirs = (t * ci + i) * co + o;
        if (back) out[ours] = w[theirs];
        else out[theirs] = w[ours];
      }
  return out;
}

/** tfjs names only two paddings; the V-Net geometries are one or the other. */
function tfjsPad(g: ConvGeometry): 'same' | 'valid' {
  if (g.p === 0) return 'valid';
  if (g.s === 1 && g.k % 2 === 1 && g.p === (g.k - 1) / 2) return 'same';
  throw new RangeError(`tfjs peer: padding ${g.p} with kernel ${g.k}, stride ${g.s} is neither 'same' nor 'valid'`);
}

/** The peer, or null when the tfjs packages are not installed. */
export async function tfjsCpuConvPeer(): Promise<ConvPeer | null> {
  let tf: typeof import('@tensorflow/tfjs-core');
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
  } catch {
    return null;
  }
  // PROD skips tfjs's per-op NaN debugging checks and its "install tfjs-node" banner.
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');

  /** Runs op once on g's data; `timing` null means run once untimed (the small verification input). */
  async function runOp(
    g: ConvGeometry,
    op: ConvOp,
    timing: PeerTiming | null,
  ): Promise<{ ms: number; reps: number; output: Float32Array }> {
    const { x, w, dy } = convData(g);
    const [S, O, taps] = [g.spatial, outSpatial(g), g.k ** 3];
    const pad = tfjsPad(g);
    const x5 = tf.tensor5d(swapAxes(x, g.ci, S ** 3), [1, S, S, S, g.ci]);
    const w5 = tf.tensor5d(filterLayout(w, g.co, g.ci, taps), [g.k, g.k, g.k, g.ci, g.co]);
    const dy5 = tf.tensor5d(swapAxes(dy, g.co, O ** 3), [1, O, O, O, g.co]);
    const compute = (): Float32Array => {
      const t =
        op === 'forward'
          ? tf.conv3d(x5, w5, g.s, pad)
          : op === 'backward-data'
            ? (tf
                .engine()
                .runKernel(
                  'Conv3DBackpropInputV2',
                  { dy: dy5, filter: w5 },
                  { strides: g.s, pad, inputShape: x5.shape },
                ) as import('@tensorflow/tfjs-core').Tensor)
            : (tf
                .engine()
                .runKernel(
                  'Conv3DBackpropFilterV2',
                  { x: x5, dy: dy5 },
                  { strides: g.s, pad, filterShape: w5.shape },
                ) as import('@tensorflow/tfjs-core').Tensor);
      // The cpu backend computes eagerly; dataSync only hands over the result (inside the timing, as
      // any caller has to read it).
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return data;
    };
    let last: Float32Array = new Float32Array(0);
    const timed = timing === null ? { ms: 0, reps: 0 } : await bestTime(() => void (last = compute()), timing.repeats, timing.budgetMs);
    if (timing === null) last = compute();
    [x5, w5, dy5].forEach((t) => t.dispose());
    const output =
      op === 'forward'
        ? swapAxes(last, O ** 3, g.co)
        : op === 'backward-data'
          ? swapAxes(last, S ** 3, g.ci)
          : filterLayout(last, g.co, g.ci, taps, true);
    return { ...timed, output };
  }

  return {
    name: `tfjs-backend-cpu ${tf.version_core} (JS, 1 thread)`,
    // Plain JavaScript has one thread: comparing it with sds-web's 2-thread figures would flatter us.
    supports: (_op: ConvOp, threads: number) => threads === 1,
    async measure(g: ConvGeometry, op: ConvOp, _threads: number, timing: PeerTiming): Promise<PeerResult> {
      const small = await runOp(smallGeometry(g), op, null);
      const { ms, reps, output } = await runOp(g, op, timing);
      return { ms, reps, output, smallOutput: small.output };
    },
  };
}
