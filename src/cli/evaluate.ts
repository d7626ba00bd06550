/** `sds eval`: Dice, Jaccard, HD95 and ASD per class of a predicted label map against the ground truth. */
import { resolveScan } from '../api/inputs.js';
import { segmentationMetrics } from '../volume/metrics.js';
import { SdsError } from '../core/errors.js';
import { toLabelVolume, type Volume } from '../volume/volume.js';
import { EXIT } from './exit-codes.js';
import { fmt, noPositionals, output, parse, required } from './common.js';

export const EVAL_HELP = `sds eval --pred PRED --gt TRUTH [--json]
  label maps as NIfTI or HDF5 ('label' dataset), on the same grid; every non-zero label present in
  either is scored; HD95 and ASD in mm (the files' spacing)`;

/** A file that reads but holds no label map (intensities, negative values) is a bad input file. */
function labelMap(volume: Volume, flag: string, path: string): Volume<Uint8Array> {
  try {
    return toLabelVolume(volume);
  } catch (e) {
    throw new SdsError('E_IO', `${flag} ${path}: expected a label map: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
}

export async function evalCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pred: { type: 'string' }, gt: { type: 'string' } }, 'eval');
  if (values.help) {
    process.stdout.write(`${EVAL_HELP}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals, 'eval');
  const out = output(values.json === true);
  const predPath = required('--pred', values.pred, 'eval');
  const gtPath = required('--gt', values.gt, 'eval');
  const pred = labelMap(await resolveScan(predPath, `--pred ${predPath}`, 'label'), '--pred', predPath);
  const gt = labelMap(await resolveScan(gtPath, `--gt ${gtPath}`, 'label'), '--gt', gtPath);
  const metrics = segmentationMetrics(pred, gt);
  const lines = ['label   Dice    Jaccard  HD95 (mm)  ASD (mm)  predicted  truth'];
  for (const m of metrics)
    lines.push(
      `${String(m.label).padEnd(6)}${fmt(m.dice, 4).padStart(6)}${fmt(m.jaccard, 4).padStart(10)}${fmt(m.hd95, 2).padStart(11)}${fmt(m.asd, 2).padStart(10)}` +
        `${String(m.predictedVoxels).padStart(11)}${String(m.truthVoxels).padStart(7)}`,
    );
  if (metrics.length === 0) lines.push('(no foreground label in either map)');
  // JSON cannot hold Infinity / NaN (an empty class): they are written as null.
  const clean = metrics.map((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null])));
  out.result({ command: 'eval', pred: predPath, gt: gtPath, classes: clean }, lines.join('\n'));
  return EXIT.ok;
}
