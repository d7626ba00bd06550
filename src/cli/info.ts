/** `sds info`: which backend runs and why, the device's limits, and a model's network. */
import { createSegmenter } from '../api/create-segmenter.js';
import { EXIT } from './exit-codes.js';
import { backendOf, integerOf, noPositionals, output, parse } from './common.js';

export const INFO_HELP = `sds info [--model MODEL] [--backend B] [--threads T] [--json]`;

export async function infoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { model: { type: 'string' } }, 'info');
  if (values.help) {
    process.stdout.write(`${INFO_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals, 'info');
  const out = output(values.json === true);
  const segmenter = await createSegmenter({
    backend: backendOf(values.backend),
    threads: integerOf('--threads', values.threads, 1),
    model: values.model,
  });
  try {
    const info = segmenter.info();
    const plan = segmenter.memoryPlan();
    const lines = [
      `backend   ${info.backend}: ${info.description}`,
      ...info.reasons.map((r) => `  why     ${r}`),
      ...(info.threads !== undefined
        ? [`threads   ${info.threads}${info.relaxedSimd !== undefined ? `, relaxed SIMD ${info.relaxedSimd ? 'yes' : 'no'}` : ''}`]
        : []),
      `limits    ${Object.entries(info.limits)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `model     V-Net ${JSON.stringify(info.network)}, ${info.trained ? 'trained weights' : 'fresh weights'}, window ${info.patch.join('x')}`,
      `memory    training step (batch 2) ${(plan.bytes.total / 1024 ** 2).toFixed(1)} MiB, ${plan.parameterCount} parameters`,
      `node      ${process.version} on ${process.platform}/${process.arch}`,
    ];
    out.result({ command: 'info', ...info, memoryPlan: plan, node: process.version }, lines.join('\n'));
    return EXIT.ok;
  } finally {
    await segmenter.dispose();
  }
}
