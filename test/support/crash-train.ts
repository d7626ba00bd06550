// A training run for test/reliability-crash.test.ts to SIGKILL: `tsx test/support/crash-train.ts
// <folder> <iterations>` trains the tiny SDS run on the wasm backend (1 thread, deterministic),
// writing a checkpoint after every iteration through checkpointWriter (atomic, keeps the previous
// one). The parent builds the wasm kernels first (ensureWasmBuilt). Prints one JSON line per
// iteration ({"iteration", "losses"}) and one per checkpoint written ({"checkpoint"}), so the parent
// knows when to kill it.
import { createBackend } from '../../src/api/create-backend.js';
import { checkpointWriter } from '../../src/train/checkpoint/node-checkpoint.js';
import { trainSds } from '../../src/train/sds/trainer.js';
import { tinyConfig, tinyScans } from './tiny-sds-run.js';

async function main(): Promise<void> {
  const [folder, iterations] = process.argv.slice(2);
  const backend = await createBackend('wasm', { threads: 1 });
  const write = checkpointWriter({ folder });
  await trainSds({
    backend,
    ...(await tinyScans()),
    config: tinyConfig(Number(iterations)),
    onEvent: (e) => {
      if (e.type === 'iteration') process.stdout.write(`${JSON.stringify({ iteration: e.iteration, losses: e.losses })}\n`);
    },
    onCheckpoint: async (bytes, at) => {
      await write(bytes, at);
      process.stdout.write(`${JSON.stringify({ checkpoint: at.iteration })}\n`);
    },
  });
}

void main();
