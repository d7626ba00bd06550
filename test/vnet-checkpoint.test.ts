import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/ops/reference/index.js';
import { SdsError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { readSafetensors, writeSafetensors } from '../src/nn/checkpoint/safetensors.js';
import { loadVNet, saveVNet } from '../src/nn/checkpoint/vnet-checkpoint.js';
import { supervisedLoss } from '../src/nn/loss.js';
import { Sgd } from '../src/nn/sgd.js';
import { VNet } from '../src/nn/vnet.js';
import { readFixture } from './support/vnet-fixtures.js';

const be = createReferenceBackend();

async function stateValues(net: VNet): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const e of net.stateEntries()) {
    if (e.kind === 'counter') out.set(e.name, [e.counter.value]);
    else out.set(e.name, Array.from((await be.read(e.kind === 'parameter' ? e.parameter.value : e.buffer.value)) as Float32Array));
  }
  return out;
}

function formatError(fn: () => unknown): SdsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SdsError);
    expect((e as SdsError).code).toBe('E_FORMAT');
    return e as SdsError;
  }
  throw new Error('expected an E_FORMAT error');
}

describe('V-Net checkpoints (safetensors, PyTorch state_dict names)', () => {
  it('round-trips ours -> safetensors -> a fresh network, running stats and counters included', async () => {
    const net = new VNet(be, { nFilters: 1 }, { seed: 1 });
    // One training step so running statistics, counters and weights all differ from a fresh init.
    const x = be.upload(
      new Float32Array(2 * 16 ** 3).map((_, i) => Math.cos(i * 0.37)),
      [2, 1, 16, 16, 16],
    );
    const y = be.upload(
      new Uint8Array(2 * 16 ** 3).map((_, i) => (i % 3 === 0 ? 1 : 0)),
      [2, 16, 16, 16],
    );
    const { grad } = supervisedLoss(be, net.forward(x), y);
    net.backward(grad);
    new Sgd(be, net.parameters(), { lr: 0.1 }).step();
    const bytes = await saveVNet(be, net, { iteration: 17, metadata: { dataset: 'unit' } });

    const file = readSafetensors(bytes);
    expect(file.tensors.get('encoder.block_one.conv.1.num_batches_tracked')?.dtype).toBe('I64');
    expect(file.metadata.format).toBe('pt');

    const fresh = new VNet(be, { nFilters: 1 }, { seed: 2 });
    const result = loadVNet(be, fresh, bytes);
    expect(result.warnings).toEqual([]);
    expect(result.iteration).toBe(17);
    expect(result.config).toEqual(net.config);
    expect(result.metadata.dataset).toBe('unit');
    expect(await stateValues(fresh)).toEqual(await stateValues(net));
    expect(fresh.stateEntries().find((e) => e.name.endsWith('num_batches_tracked'))?.kind).toBe('counter');
  });

  it('loads the PyTorch-written file, ignoring its projection head with a warning', async () => {
    const net = new VNet(be, { nFilters: 1 }, { seed: 77 });
    const result = loadVNet(be, net, readFixture('vnet-extra-head.safetensors'));
    expect(result.warnings).toEqual([`ignored 1 tensor(s) the V-Net does not use: projection_head.0.weight`]);
    expect(result.iteration).toBeNull();
    // The script initialised with seed 1234 and our generator: the loaded weights equal our own init.
    const ours = new VNet(be, { nFilters: 1 }, { seed: 1234 });
    expect(await stateValues(net)).toEqual(await stateValues(ours));
  });

  it('strips a DataParallel "module." prefix', async () => {
    const src = readSafetensors(readFixture('vnet-extra-head.safetensors'));
    const renamed = new Map([...src.tensors].map(([n, t]) => [`module.${n}`, t]));
    const net = new VNet(be, { nFilters: 1 });
    const result = loadVNet(be, net, writeSafetensors(renamed));
    expect(result.warnings[0]).toMatch(/stripped the "module." prefix/);
  });

  it('fails on missing or mis-shaped tensors, listing the first ones, and changes nothing', async () => {
    const src = readSafetensors(readFixture('vnet-extra-head.safetensors'));
    const net = new VNet(be, { nFilters: 1 }, { seed: 3 });
    const before = await stateValues(net);

    const missing = new Map(src.tensors);
    missing.delete('decoder.out_conv.bias');
    missing.delete('encoder.block_two.conv.4.running_var');
    const e1 = formatError(() => loadVNet(be, net, writeSafetensors(missing)));
    expect(e1.message).toMatch(/2 missing \(encoder\.block_two\.conv\.4\.running_var; decoder\.out_conv\.bias\)/);

    // A checkpoint of another width: every conv mismatches; the message lists five and counts the rest.
    const wider = new VNet(be, { nFilters: 2 });
    const e2 = formatError(() => loadVNet(be, net, readSafetensors(writeSafetensorsOf(wider))));
    expect(e2.message).toMatch(/mismatched \(encoder\.block_one\.conv\.0\.weight: expected \[1, 1, 3, 3, 3\], found \[2, 1, 3, 3, 3\];/);
    expect(e2.message).toMatch(/and \d+ more/);

    const wrongType = new Map(src.tensors);
    wrongType.set('decoder.out_conv.bias', { dtype: 'I32', shape: [2], data: Int32Array.of(1, 2) });
    expect(formatError(() => loadVNet(be, net, writeSafetensors(wrongType))).message).toMatch(
      /out_conv\.bias: expected dtype F32 or F64, found I32/,
    );

    expect(await stateValues(net)).toEqual(before);
  });

  function writeSafetensorsOf(net: VNet): Uint8Array {
    // Shapes are all that matter here; values need not be read back.
    return writeSafetensors(
      new Map(
        net.stateEntries().map((e) => {
          const t: Tensor | null = e.kind === 'parameter' ? e.parameter.value : e.kind === 'buffer' ? e.buffer.value : null;
          return [e.name, t === null ? { shape: [], data: BigInt64Array.of(0n) } : { shape: t.shape, data: new Float32Array(t.size) }];
        }),
      ),
    );
  }
});
