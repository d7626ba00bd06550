import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { Tensor } from '../../src/core/tensor.js';
import { loadVNet } from '../../src/nn/checkpoint/vnet-checkpoint.js';
import { supervisedLoss } from '../../src/nn/loss.js';
import { Sgd } from '../../src/nn/sgd.js';
import { VNet } from '../../src/nn/vnet.js';
import { dropoutMask } from '../../src/ops/index.js';
import { fixtureTensor, readFixture, readFixtureSafetensors, sampleIndices } from './vnet-fixtures.js';

export interface VnetGoldenTolerances {
  /** Allowed |ours - truth| per element, relative to the tensor's largest |truth| ... */
  readonly relative: number;
  /** ... plus this many times PyTorch's own float32 error on that tensor (badly conditioned ones get more room). */
  readonly float32Factor: number;
  /** Loss values, absolute. */
  readonly loss: number;
  /**
   * Extra room for backends that accumulate in float32, for the one thing a float32 run can get
   * discretely different from float64: a ReLU gate whose float64 input lies inside the float32 error
   * band (here decoder.block_nine, voxel 11210, input +2.98e-6 against a layer max of 6; float32 error
   * there is ~1e-5). Any float32 arithmetic may switch it; PyTorch's own float32 run happened not to,
   * so its recorded error cannot cover it. One switched gate moves the step-1 gradients by up to
   * 1.4e-2 of their scale (reproduced in float64 by switching that gate alone), and the step-2 forward,
   * through BatchNorm over 4 values per channel, turns that into state errors up to 0.45 of how far
   * the two steps moved each tensor. Forward values and the loss get no extra room.
   */
  readonly gateSwitch?: {
    /** Added to `relative` for step-1 gradients (times the tensor's scale). */
    readonly gradients: number;
    /** Times max |state after 2 steps - initial state| of the tensor, for the state checks. */
    readonly stateMovement: number;
    /** Added to `relative` for the eval-mode logits after training (running stats carry the switch). */
    readonly evalLogits: number;
  };
}

export const REFERENCE_GOLDEN_TOLERANCES: VnetGoldenTolerances = { relative: 1e-3, float32Factor: 4, loss: 1e-5 };

/** WebGPU (and any float32-accumulating backend): see `gateSwitch`. */
export const FLOAT32_GOLDEN_TOLERANCES: VnetGoldenTolerances = {
  ...REFERENCE_GOLDEN_TOLERANCES,
  gateSwitch: { gradients: 2e-2, stateMovement: 0.6, evalLogits: 4e-3 },
};

/**
 * The V-Net against PyTorch (test/fixtures/vnet, scripts/make-golden-vnet.py): nFilters 4, input
 * [2, 1, 16, 16, 32], two SGD steps (lr 0.01, momentum 0.9, weight decay 1e-4) on the stage-1 loss
 * (CE + Dice) / 2, with dropout off and with dropout on under the exported channel masks. The stored
 * truth is PyTorch in float64; each tensor also records how far PyTorch's float32 run lands from it.
 */
export function describeVnetGolden(
  backendName: string,
  makeBackend: () => Promise<Backend>,
  tol: VnetGoldenTolerances = REFERENCE_GOLDEN_TOLERANCES,
): void {
  describe(`V-Net golden vs PyTorch (${backendName})`, () => {
    let backend: Backend;
    const golden = readFixtureSafetensors('vnet-golden.safetensors');
    const initBytes = readFixture('vnet-init.safetensors');
    const sgd = JSON.parse(golden.metadata.sgd) as { lr: number; momentum: number; weightDecay: number };
    const seeds = JSON.parse(golden.metadata.dropoutSeeds) as Record<string, { encoder: number; decoder: number }>;
    const initSeed = Number(golden.metadata.initSeed);
    const init = readFixtureSafetensors('vnet-init.safetensors');
    const gradRoom = (scale: number): number => (tol.gateSwitch?.gradients ?? 0) * scale;
    /** Room for a state tensor: a fraction of how far the two steps moved it (see gateSwitch). */
    function stateRoom(name: string, key: string): () => number {
      const factor = tol.gateSwitch?.stateMovement ?? 0;
      if (factor === 0) return () => 0;
      const start = fixtureTensor(init, name).data as Float32Array;
      const want = fixtureTensor(golden, key).data as Float32Array;
      const idx = sampleIndices(start.length, want.length);
      let moved = 0;
      idx.forEach((flat, i) => (moved = Math.max(moved, Math.abs(want[i] - start[flat]))));
      return () => factor * moved;
    }

    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(() => backend?.destroy());

    /** Compares a device tensor with a stored (whole or sampled) one, then the whole tensor's sum and norm. */
    async function expectMatches(what: string, t: Tensor, key: string, room: (scale: number) => number = () => 0): Promise<void> {
      const ours = (await backend.read(t)) as Float32Array;
      const want = fixtureTensor(golden, key).data as Float32Array;
      const [wantSum, wantSq, torchFloat32Error] = fixtureTensor(golden, `${key}#stats`).data as Float64Array;
      const idx = sampleIndices(ours.length, want.length);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      const bound = tol.relative * scale + tol.float32Factor * torchFloat32Error + 1e-7 + room(scale);
      let worst = 0;
      let worstAt = -1;
      idx.forEach((flat, i) => {
        const err = Math.abs(ours[flat] - want[i]);
        if (!(err <= worst)) {
          worst = err;
          worstAt = flat;
        }
      });
      expect(
        worst,
        `${what}: worst |ours - torch| at ${worstAt} (scale ${scale.toExponential(3)}, bound ${bound.toExponential(3)})`,
      ).toBeLessThanOrEqual(bound);
      let sum = 0;
      let sq = 0;
      for (const v of ours) {
        sum += v;
        sq += v * v;
      }
      // Whole-tensor checks, so entries the sample skips cannot all be wrong unnoticed.
      const aggregate = Math.sqrt(ours.length) * bound;
      expect(Math.abs(Math.sqrt(sq) - Math.sqrt(wantSq)), `${what}: L2 norm ${Math.sqrt(sq)} vs ${Math.sqrt(wantSq)}`).toBeLessThanOrEqual(
        aggregate,
      );
      expect(Math.abs(sum - wantSum), `${what}: sum ${sum} vs ${wantSum}`).toBeLessThanOrEqual(aggregate);
    }

    function upload(key: string): Tensor {
      const t = fixtureTensor(golden, key);
      return backend.upload(t.data as Float32Array | Uint8Array, t.shape);
    }

    // The reference backend computes synchronously for seconds at a time; handing the event loop back
    // between passes keeps vitest's worker RPC from timing out.
    const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    async function scalar(t: Tensor): Promise<number> {
      return (await backend.read(t))[0];
    }

    it('initialises exactly as the script (same counter-based streams, PyTorch bounds)', async () => {
      const ours = new VNet(backend, { nFilters: 4, nClasses: 2, inChannels: 1 }, { seed: initSeed });
      expect(ours.stateEntries().map((e) => e.name)).toEqual([...init.tensors.keys()]);
      for (const p of ours.parameters()) {
        const want = fixtureTensor(init, p.name).data as Float32Array;
        expect(Array.from((await backend.read(p.value)) as Float32Array), p.name).toEqual(Array.from(want));
      }
      ours.dispose();
    });

    for (const dropout of [false, true]) {
      const tag = dropout ? 'drop' : 'nodrop';
      it(`forward, loss, gradients and two SGD steps match, dropout ${dropout ? 'on (fixed masks)' : 'off'}`, async () => {
        const net = new VNet(backend, { nFilters: 4, nClasses: 2, inChannels: 1, dropout }, { seed: 999 });
        const load = loadVNet(backend, net, initBytes);
        expect(load.warnings).toEqual([]);
        const optimizer = new Sgd(backend, net.parameters(), sgd);
        const x = upload('input/x');
        const y = upload('input/y');
        const masks: Tensor[] = [];
        const losses = fixtureTensor(golden, `${tag}/losses`).data as Float64Array;
        for (const step of [1, 2]) {
          if (dropout) {
            const enc = upload(`${tag}/mask${step}/encoder`);
            const dec = upload(`${tag}/mask${step}/decoder`);
            // The exported masks are the dropoutMask op's own output for the script's seeds.
            for (const [mask, seed] of [
              [enc, seeds[step].encoder],
              [dec, seeds[step].decoder],
            ] as const) {
              const drawn = dropoutMask(backend, mask.shape[0], mask.shape[1], { p: 0.5, seed });
              expect(Array.from(await backend.read(drawn))).toEqual(Array.from(await backend.read(mask)));
              backend.dispose(drawn);
            }
            net.encoderDropout.injectMask(enc);
            net.decoderDropout.injectMask(dec);
            masks.push(enc, dec);
          }
          await breathe();
          const logits = net.forward(x);
          await breathe();
          const { loss, grad } = supervisedLoss(backend, logits, y);
          expect(Math.abs((await scalar(loss)) - losses[step - 1]), `loss at step ${step}`).toBeLessThanOrEqual(tol.loss);
          if (step === 1) await expectMatches('logits', logits, `${tag}/logits1`);
          net.backward(grad);
          await breathe();
          if (step === 1)
            for (const p of net.parameters()) await expectMatches(`grad ${p.name}`, p.grad as Tensor, `${tag}/grad1/${p.name}`, gradRoom);
          optimizer.step();
          for (const t of [logits, loss, grad]) backend.dispose(t);
        }
        for (const e of net.stateEntries()) {
          if (e.kind === 'counter') expect(e.counter.value, e.name).toBe(2);
          else
            await expectMatches(
              `after 2 steps: ${e.name}`,
              e.kind === 'parameter' ? e.parameter.value : e.buffer.value,
              `${tag}/state2/${e.name}`,
              stateRoom(e.name, `${tag}/state2/${e.name}`),
            );
        }
        net.eval();
        await breathe();
        const evalLogits = net.forward(x);
        await expectMatches(
          'eval-mode logits after training',
          evalLogits,
          `${tag}/logitsEval`,
          (scale) => (tol.gateSwitch?.evalLogits ?? 0) * scale,
        );
        for (const t of [evalLogits, x, y, ...masks]) backend.dispose(t);
        optimizer.dispose();
        net.dispose();
      });
    }
  });
}
