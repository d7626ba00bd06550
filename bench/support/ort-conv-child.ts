/**
 * Child process of the onnxruntime-web peer (bench/support/ort-conv-peer.ts). ORT-web fixes its thread
 * count (ort.env.wasm.numThreads) when its wasm module initialises, once per process, so each thread
 * count is measured in a fresh process. Argument: JSON { geometry, threads, repeats, budgetMs, outDir }.
 * Writes outDir/output.f32 and outDir/small.f32 (NCDHW) and prints one JSON line
 * { ms, reps, cpuMs, busyThreads }.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { bestTime } from './best-time.js';
import { type ConvGeometry, convData, smallGeometry } from './conv-data.js';
import { onnxConvModel } from './onnx-conv-model.js';

interface ChildArgs {
  readonly geometry: ConvGeometry;
  readonly threads: number;
  readonly repeats: number;
  readonly budgetMs: number;
  readonly outDir: string;
}

/** CPU ticks (user + system) of each OS thread of this process; empty where /proc is missing. */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of stat.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(task, Number(fields[11]) + Number(fields[12]));
    }
  } catch {
    // not Linux: the busy-thread count is then unknown
  }
  return ticks;
}

/**
 * Threads that did a real share of the work between two snapshots: at least a quarter of the busiest
 * thread's ticks. V8's compiler and GC helpers stay far below that; ORT's pool threads do not.
 */
function busyThreads(before: Map<string, number>, after: Map<string, number>): number | null {
  if (after.size === 0) return null;
  const deltas = [...after].map(([task, t]) => t - (before.get(task) ?? 0));
  const busiest = Math.max(...deltas);
  return busiest <= 0 ? null : deltas.filter((d) => d >= busiest / 4).length;
}

async function session(g: ConvGeometry): Promise<{ run(): Promise<Float32Array> }> {
  const { x, w } = convData(g);
  const s = await ort.InferenceSession.create(onnxConvModel(g, w), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const feeds = { x: new ort.Tensor('float32', x, [1, g.ci, g.spatial, g.spatial, g.spatial]) };
  return {
    async run() {
      const { y } = await s.run(feeds);
      return y.data as Float32Array;
    },
  };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  ort.env.wasm.numThreads = args.threads;
  ort.env.logLevel = 'error';
  const small = await session(smallGeometry(args.geometry));
  writeFileSync(join(args.outDir, 'small.f32'), await small.run());
  const big = await session(args.geometry);
  let output: Float32Array = new Float32Array(0);
  // One run before the snapshot, so V8's background tier-up of ORT's wasm (compiler threads) is
  // mostly done and not counted as a busy thread of the convolution.
  await big.run();
  const before = threadTicks();
  const { ms, reps, cpuMs } = await bestTime(
    async () => {
      output = await big.run();
    },
    args.repeats,
    args.budgetMs,
  );
  const busy = busyThreads(before, threadTicks());
  writeFileSync(join(args.outDir, 'output.f32'), output);
  process.stdout.write(`${JSON.stringify({ ms, reps, cpuMs, busyThreads: busy })}\n`);
}

await main();
// ORT's pthread workers keep the event loop alive; the answer is written, so leave now.
process.exit(0);
