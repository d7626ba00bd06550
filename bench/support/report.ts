// The benchmark convention of DESIGN.md: a readable table on stdout and bench/results/<name>.json
// with { machine, date, rows: [{ case, backend, peer, value, unit, peerValue, ratio }] }.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  case: string;
  backend: string;
  peer: string | null;
  value: number;
  unit: 'GFLOP/s' | 'ms' | 's' | 'MB/s';
  peerValue: number | null;
  /** > 1 means sds-web is better (higher throughput, or lower time). */
  ratio: number | null;
  note?: string;
}

export function machineName(): string {
  let model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return `${model}, ${cpus().length} cores, Node ${process.versions.node}`;
}

/** The BENCH_THREADS value: a whole number of threads >= 1, 2 when unset. */
export function benchThreads(text: string | undefined): number {
  if (text === undefined || text === '') return 2;
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`BENCH_THREADS: expected a whole number >= 1, found '${text}'`);
  return n;
}

export function ratioOf(unit: BenchRow['unit'], value: number, peerValue: number | null): number | null {
  if (peerValue === null || !Number.isFinite(peerValue) || peerValue === 0) return null;
  return unit === 'ms' || unit === 's' ? peerValue / value : value / peerValue;
}

const fmt = (v: number | null) => (v === null ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

export function writeReport(name: string, rows: BenchRow[], extra: Record<string, unknown> = {}): void {
  const machine = machineName();
  const header = ['case', 'backend', 'value', 'unit', 'peer', 'peer value', 'ratio'];
  const lines = rows.map((r) => [
    r.case,
    r.backend,
    fmt(r.value),
    r.unit,
    r.peer ?? '-',
    fmt(r.peerValue),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\n${name} on ${machine}`);
  console.log(row(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(row(l));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(root, { recursive: true });
  const file = join(root, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, date: new Date().toISOString(), ...extra, rows }, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
