// bench/adapt-time.sh's report: the runs' seconds per tree, their medians and the ratio HEAD / BASE,
// with the machine named. Arguments: BASE HEAD WORKDIR REPEATS; prints JSON.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { median } from './vnet-step.js';

interface Run {
  readonly label: string;
  readonly description: string;
  readonly config: Record<string, unknown>;
  readonly runs: { seconds: number; stage1Iterations: number; iterations: number }[];
}
const [base, head, work, repeatsText] = process.argv.slice(2);
const repeats = Number(repeatsText);
const read = (name: string): Run[] =>
  Array.from({ length: repeats }, (_, r) => JSON.parse(readFileSync(join(work, `${name}-${r + 1}.json`), 'utf8')) as Run);
const summary = (name: string) => {
  const files = read(name);
  const seconds = files.flatMap((f) => f.runs.map((r) => r.seconds));
  const { stage1Iterations, iterations } = files[0].runs[0];
  return {
    label: files[0].label,
    backend: files[0].description,
    config: files[0].config,
    stage1Iterations,
    iterations,
    seconds,
    medianSeconds: median(seconds),
  };
};
const baseRuns = summary('base');
const same = summary('same');
const demo = summary('demo');
console.log(
  JSON.stringify(
    {
      machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.versions.node}`,
      date: new Date().toISOString(),
      base,
      head,
      loadAverageAtEnd: loadavg(),
      runs: [baseRuns, same, demo],
      ratios: {
        sameWorkload: same.medianSeconds / baseRuns.medianSeconds,
        demoRecipe: demo.medianSeconds / baseRuns.medianSeconds,
      },
      target: "issue 20: the demo's adaptation in half of the baseline's time (ratio <= 0.5)",
    },
    null,
    1,
  ),
);
