/**
 * Progress on stderr: a cli-progress bar when stderr is a terminal and --json is off; nothing otherwise
 * (logs and pipes get the final result only).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** fraction 0..1 and a short status text. */
  update(fraction: number, status: string): void;
  stop(): void;
}

export function progressBar(title: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {percentage}% | {status}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0, { status: '' });
  return {
    update: (fraction, status) => bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000), { status }),
    stop: () => bar.stop(),
  };
}
