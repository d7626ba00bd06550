import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
await tf.setBackend('cpu');
for (const [ci, sp, k, s, pad] of [[32, 32, 3, 1, 'same'], [16, 64, 2, 2, 'valid']] as const) {
  const co = ci;
  const o = pad === 'same' ? sp : sp / 2;
  const x = tf.randomUniform([1, sp, sp, sp, ci]) as tf.Tensor5D;
  const w = tf.randomUniform([k, k, k, ci, co]) as tf.Tensor5D;
  const dy = tf.randomUniform([1, o, o, o, co]) as tf.Tensor5D;
  const fl = 2 * ci * co * k ** 3 * o ** 3;
  for (const name of ['fwd', 'bdata', 'bfilt']) {
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const y = name === 'fwd' ? tf.conv3d(x, w, s, pad) : name === 'bdata' ? tf.engine().runKernel('Conv3DBackpropInputV2', { dy, filter: w }, { strides: s, pad, inputShape: x.shape }) as tf.Tensor : tf.engine().runKernel('Conv3DBackpropFilterV2', { x, dy }, { strides: s, pad, filterShape: w.shape }) as tf.Tensor;
      y.dataSync();
      const ms = performance.now() - t0;
      console.log(ci, sp, name, ms.toFixed(0), (fl / ms / 1e6).toFixed(2), y.shape);
      y.dispose();
    }
  }
}
