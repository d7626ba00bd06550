/** `sds segment`: one scan (NIfTI, LA-HDF5 or a DICOM folder) in, a label NIfTI out. */
import { basename } from 'node:path';
import { createSegmenter } from '../api/create-segmenter.js';
import { resolveScan } from '../api/inputs.js';
import { SEGMENT_DEFAULTS } from '../infer/segment-options.js';
import { writeLabelNifti } from '../volume/nifti-write.js';
import { EXIT, UsageError } from './exit-codes.js';
import { backendOf, integerOf, numberOf, output, parse, required } from './common.js';
import { checkOutputPath, writeOutput } from './output-path.js';
import { progressBar } from './progress.js';

export const SEGMENT_HELP = `sds segment --model MODEL IN [--out OUT.nii.gz] [options]
  IN                       a NIfTI file (.nii, .nii.gz), an LA-style HDF5 file (.h5) or a DICOM folder
  --model MODEL            safetensors V-Net (from sds finetune or examples/models/) or ONNX
  --out FILE               label map as NIfTI (default: IN's name + _seg.nii.gz in the current folder)
  --overlap F              sliding-window overlap in [0, 1) (default ${SEGMENT_DEFAULTS.overlap}; blending ${SEGMENT_DEFAULTS.blend})
  --tta                    flip test-time augmentation (left-right)
  --no-lcc                 keep every connected component (default: the largest per class)
  --engine E               sds (default) or onnxruntime (the model exported to ONNX, run by onnxruntime-web,
                           an optional package: install it to use this engine)
  --backend B --threads T --json`;

export function defaultOutput(input: string): string {
  const name = basename(input.replace(/[/\\]+$/, '')).replace(/\.(nii\.gz|nii|h5|hdf5)$/i, '');
  return `${name}_seg.nii.gz`;
}

export async function segmentCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      model: { type: 'string' },
      out: { type: 'string' },
      overlap: { type: 'string' },
      tta: { type: 'boolean' },
      'no-lcc': { type: 'boolean' },
      engine: { type: 'string' },
    },
    'segment',
  );
  if (values.help) {
    process.stdout.write(`${SEGMENT_HELP}\n`);
    return EXIT.ok;
  }
  const out = output(values.json === true);
  const model = required('--model', values.model, 'segment');
  if (positionals.length !== 1)
    throw new UsageError(`sds segment: expected one input scan, found ${positionals.length === 0 ? 'none' : positionals.length}`);
  const input = positionals[0];
  const overlap = numberOf('--overlap', values.overlap, 0, 1);
  const threads = integerOf('--threads', values.threads, 1);
  const outPath = values.out ?? defaultOutput(input);
  const engine = values.engine ?? 'sds';
  if (engine !== 'sds' && engine !== 'onnxruntime') throw new UsageError(`--engine: expected sds or onnxruntime, found "${engine}"`);
  await checkOutputPath(outPath, '--out');
  const image = await resolveScan(input, input);
  const segmenter = await createSegmenter({ backend: backendOf(values.backend), threads, model });
  try {
    out.note(segmenter.info().description);
    const bar = progressBar('segment', !out.json);
    const started = performance.now();
    const labels = await segmenter.segment(image, {
      overlap,
      tta: values.tta === true,
      largestComponent: values['no-lcc'] !== true,
      engine,
      onProgress: (p) => bar.update(p.fraction, `window ${p.window}/${p.windows}`),
    });
    bar.stop();
    const ms = performance.now() - started;
    await writeOutput(outPath, writeLabelNifti(labels, { description: 'sds-web segmentation' }), '--out');
    const counts: Record<string, number> = {};
    for (const v of labels.data) counts[v] = (counts[v] ?? 0) + 1;
    out.result(
      {
        command: 'segment',
        input,
        out: outPath,
        shape: labels.shape,
        voxels: counts,
        seconds: ms / 1000,
        backend: segmenter.info().backend,
        engine,
      },
      `${input}: ${labels.shape.join('x')} voxels segmented in ${(ms / 1000).toFixed(1)} s; voxels per label ${JSON.stringify(counts)}; wrote ${outPath}`,
    );
    return EXIT.ok;
  } finally {
    await segmenter.dispose();
  }
}
