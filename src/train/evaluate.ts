/**
 * Held-out evaluation: segment each scan with segmentWholeScan and score it per foreground class with the
 * clinical metrics of volume/metrics.ts (Dice, HD95 in mm from the scan's spacing).
 */
import type { Backend } from '../backend/backend.js';
import type { VNet } from '../nn/vnet.js';
import { diceScore, segmentationMetrics, type Volume } from '../volume/index.js';
import { segmentWholeScan } from './segment.js';

export interface ScanScore {
  readonly name: string;
  /** Per foreground class, in the order of `classes`. */
  readonly dice: readonly number[];
  readonly hd95: readonly number[];
  readonly prediction: Volume<Uint8Array>;
}

export interface EvaluationOptions {
  /** Foreground labels to score; default 1 .. nClasses - 1. */
  readonly classes?: readonly number[];
  /** Skip HD95 (the distance transforms) when only Dice is wanted, e.g. for early stopping. */
  readonly diceOnly?: boolean;
  readonly onScan?: (score: ScanScore, index: number, of: number) => void;
}

export async function evaluateScans(
  backend: Backend,
  net: VNet,
  scans: readonly { readonly name: string; readonly image: Volume; readonly label: Volume }[],
  options: EvaluationOptions = {},
): Promise<ScanScore[]> {
  const classes = options.classes ?? Array.from({ length: net.config.nClasses - 1 }, (_, i) => i + 1);
  const scores: ScanScore[] = [];
  for (const [i, scan] of scans.entries()) {
    const prediction = await segmentWholeScan(backend, net, scan.image);
    const metrics = options.diceOnly
      ? classes.map((c) => ({ dice: diceScore(prediction.data, scan.label.data, c), hd95: NaN }))
      : segmentationMetrics(prediction, scan.label, { classes: [...classes] });
    const score = { name: scan.name, dice: metrics.map((m) => m.dice), hd95: metrics.map((m) => m.hd95), prediction };
    scores.push(score);
    options.onScan?.(score, i, scans.length);
  }
  return scores;
}

/**
 * Mean over scans of each class's score and the mean over classes of those. Non-finite entries (HD95
 * is +Infinity when a class was not predicted at all) are left out of the means and counted in
 * `nonFinite`, so a report can say so instead of printing Infinity or hiding it.
 */
export function meanScores(scores: readonly ScanScore[], key: 'dice' | 'hd95'): { perClass: number[]; overall: number; nonFinite: number } {
  const n = scores[0]?.[key].length ?? 0;
  const perClass = Array.from({ length: n }, (_, c) => finiteMean(scores.map((s) => s[key][c])));
  const nonFinite = scores.reduce((k, s) => k + s[key].filter((v) => !Number.isFinite(v)).length, 0);
  return { perClass, overall: finiteMean(perClass), nonFinite };
}

function finiteMean(values: readonly number[]): number {
  const kept = values.filter((v) => Number.isFinite(v));
  return kept.length === 0 ? NaN : kept.reduce((a, b) => a + b, 0) / kept.length;
}
