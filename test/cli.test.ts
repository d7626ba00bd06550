// The `sds` command line: spawned through tsx, it segments a shipped real scan with a tiny model saved
// here and gets the API's labels and Dice; a missing file exits 3. The other error paths, `finetune`
// and `eval` run in-process through main() (same code, no process start-up per case).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSegmenter } from '../src/api/index.js';
import { exitCodeOf, fileSystemError } from '../src/cli/exit-codes.js';
import { main } from '../src/cli/main.js';
import { writeOutput } from '../src/cli/output-path.js';
import { SdsError } from '../src/core/errors.js';
import { loadCases } from '../src/train/node-cases.js';
import { cropOrPad, readNifti, segmentationMetrics, writeImageNifti, writeLabelNifti } from '../src/volume/index.js';
import { ensureWasmBuilt } from './support/wasm-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'examples/data');
const SCAN = join(DATA, 'images/hippocampus_007.nii.gz');
const TRUTH = join(DATA, 'labels/hippocampus_007.nii.gz');
let dir: string;
let model: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

/** main() in this process with stdout / stderr captured. */
async function runCli(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  ensureWasmBuilt();
  dir = await mkdtemp(join(tmpdir(), 'sds-cli-'));
  // A tiny fresh V-Net (nFilters 2, 3 classes) saved as the model file; the window stays the default 32x48x32.
  const seg = await createSegmenter({ backend: 'wasm', threads: 1, network: { nFilters: 2, nClasses: 3 }, seed: 9 });
  model = join(dir, 'tiny.safetensors');
  await writeFile(model, await seg.save());
  await seg.dispose();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sds (spawned through tsx)', () => {
  it('segments a shipped scan: the same labels and Dice as the API', async () => {
    const out = join(dir, 'h007_seg.nii.gz');
    const run = await spawnCli(['segment', '--model', model, SCAN, '--out', out, '--threads', '1', '--backend', 'wasm', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const line = JSON.parse(run.stdout.trim()) as { command: string; out: string; shape: number[] };
    expect(line).toMatchObject({ command: 'segment', out, shape: [34, 47, 40] });

    const fromCli = readNifti(await readFile(out), out);
    const truth = readNifti(await readFile(TRUTH), TRUTH);
    const seg = await createSegmenter({ backend: 'wasm', threads: 1, model });
    const fromApi = await seg.segment(SCAN);
    await seg.dispose();
    expect(Array.from(fromCli.data)).toEqual(Array.from(fromApi.data));
    const dice = (v: typeof fromCli) => segmentationMetrics(v, truth, { classes: [1, 2] }).map((m) => m.dice);
    expect(dice(fromCli)).toEqual(dice(fromApi));
    expect(fromCli.affine).toEqual(truth.affine);
  });

  it('exits 3 with the path and the reason for a missing input file', async () => {
    const run = await spawnCli(['segment', '--model', model, join(dir, 'missing.nii.gz'), '--backend', 'wasm']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^sds: E_IO: .*missing\.nii\.gz: cannot read .*missing\.nii\.gz: ENOENT/);
    expect(run.stdout).toBe('');
  });
});

describe('sds main(): error paths, finetune, eval', () => {
  it('exits 3 for a corrupt or truncated NIfTI, 4 for a file that is not a model, 2 for usage errors', async () => {
    const corrupt = join(dir, 'corrupt.nii.gz');
    await writeFile(corrupt, 'not a nifti at all, just text'.repeat(20));
    const truncated = join(dir, 'truncated.nii.gz');
    await writeFile(truncated, (await readFile(SCAN)).subarray(0, 2000));
    const cases: [string[], number, RegExp][] = [
      [['segment', '--model', model, corrupt], 3, /^sds: E_NIFTI_CORRUPT: corrupt\.nii\.gz: not a NIfTI file: sizeof_hdr must be 348/],
      [['segment', '--model', model, truncated], 3, /^sds: E_NIFTI_TRUNCATED: truncated\.nii\.gz: gzip stream is truncated/],
      [
        ['segment', '--model', SCAN, SCAN],
        4,
        /^sds: E_MODEL: createSegmenter: model: expected a safetensors V-Net checkpoint .* found \d+ bytes starting 1f 8b/,
      ],
      [['segment', '--model', model, SCAN, '--colour'], 2, /^sds: E_USAGE: sds segment: Unknown option '--colour'/],
      [['segment', SCAN], 2, /^sds: E_USAGE: sds segment: --model is required/],
      [['segment', '--model', model], 2, /expected one input scan, found none/],
      [['segment', '--model', model, SCAN, '--overlap', '1.5'], 2, /--overlap: expected a number in \[0, 1\), found "1.5"/],
      [['segment', '--model', model, SCAN, '--engine', 'tensorrt'], 2, /--engine: expected sds or onnxruntime, found "tensorrt"/],
      [
        ['segment', '--model', model, SCAN, '--backend', 'cuda'],
        2,
        /--backend: expected one of auto, webgpu, wasm, reference, found "cuda"/,
      ],
      [
        ['finetune', '--labeled', DATA, '--unlabeled', DATA, '--out', 'x', '--patch', '20,16,16'],
        2,
        /--patch: expected X,Y,Z as three positive multiples of 16, found "20,16,16"/,
      ],
      [['frobnicate'], 2, /unknown command "frobnicate": expected one of finetune, segment, eval, info, bench/],
      [
        ['finetune', '--labeled', join(dir, 'nowhere'), '--unlabeled', DATA, '--out', 'x'],
        2,
        /--labeled .*nowhere: expected a folder, found nothing there/,
      ],
      [
        ['finetune', '--labeled', dir, '--unlabeled', DATA, '--out', 'x'],
        3,
        /expected images\/ \+ labels\/, imagesTr\/ \+ labelsTr\/, or .h5 files/,
      ],
      [['eval', '--pred', TRUTH, '--gt', join(DATA, 'labels/hippocampus_001.nii.gz')], 3, /^sds: E_GRID_MISMATCH: /],
      [['eval', '--pred', SCAN, '--gt', TRUTH], 3, /^sds: E_IO: --pred .*hippocampus_007.nii.gz: expected a label map: /],
    ];
    for (const [args, code, pattern] of cases) {
      const run = await runCli(args);
      expect({ args, code: run.code }).toEqual({ args, code });
      expect(run.stderr).toMatch(pattern);
    }
    // --json adds the error as one JSON object on stdout.
    const json = await runCli(['segment', '--model', SCAN, SCAN, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'E_MODEL', exit: 4 } });
  });

  it('segments a DICOM folder and an LA-HDF5 file (test fixtures) to NIfTI on their grids', async () => {
    const inputs = [join(ROOT, 'test/fixtures/volume/dicom-hippocampus_003'), join(ROOT, 'test/fixtures/volume/la-small.h5')];
    for (const input of inputs) {
      const out = join(dir, `${basename(input)}_seg.nii.gz`);
      const run = await runCli(['segment', '--model', model, input, '--out', out, '--backend', 'wasm', '--threads', '1', '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const line = JSON.parse(run.stdout) as { shape: number[]; voxels: Record<string, number> };
      const labels = readNifti(await readFile(out), out);
      expect(labels.shape).toEqual(line.shape);
      expect(Object.values(line.voxels).reduce((a, b) => a + b, 0)).toBe(labels.data.length);
    }
  });

  it('finetunes from folders (images/ + labels/) and writes a model that segments; eval scores it', async () => {
    const cases = await loadCases(DATA, ['hippocampus_001', 'hippocampus_003', 'hippocampus_004']);
    const labeledDir = join(dir, 'labeled');
    const unlabeledDir = join(dir, 'unlabeled');
    await mkdir(join(labeledDir, 'images'), { recursive: true });
    await mkdir(join(labeledDir, 'labels'), { recursive: true });
    await mkdir(unlabeledDir, { recursive: true });
    const crop = [20, 24, 20] as [number, number, number];
    for (const c of cases.slice(0, 2)) {
      await writeFile(join(labeledDir, 'images', `${c.name}.nii.gz`), writeImageNifti(cropOrPad(c.image, crop)));
      await writeFile(join(labeledDir, 'labels', `${c.name}.nii.gz`), writeLabelNifti(cropOrPad(c.label, crop) as never));
    }
    await writeFile(join(unlabeledDir, 'u.nii.gz'), writeImageNifti(cropOrPad(cases[2].image, crop)));
    const out = join(dir, 'tuned.safetensors');
    const run = await runCli([
      'finetune',
      '--labeled',
      labeledDir,
      '--unlabeled',
      unlabeledDir,
      '--out',
      out,
      '--filters',
      '2',
      '--patch',
      '16,16,16',
      '--batch',
      '4',
      '--stage1-iterations',
      '1',
      '--iterations',
      '1',
      '--backend',
      'wasm',
      '--threads',
      '1',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      command: 'finetune',
      out,
      stage1Iterations: 1,
      iterations: 1,
      aborted: false,
      deployed: 'teacher',
    });
    const seg = await createSegmenter({ backend: 'wasm', threads: 1, model: out });
    expect(seg.info()).toMatchObject({ trained: true, network: { nFilters: 2, nClasses: 3 }, patch: [16, 16, 16] });
    await seg.dispose();

    const pred = join(dir, 'pred.nii.gz');
    const seg2 = await runCli([
      'segment',
      '--model',
      out,
      join(labeledDir, 'images/hippocampus_001.nii.gz'),
      '--out',
      pred,
      '--threads',
      '1',
      '--backend',
      'wasm',
    ]);
    expect(seg2.code).toBe(0);
    const score = await runCli(['eval', '--pred', pred, '--gt', join(labeledDir, 'labels/hippocampus_001.nii.gz'), '--json']);
    expect(score.code).toBe(0);
    const predVol = readNifti(await readFile(pred), pred);
    const gtVol = readNifti(await readFile(join(labeledDir, 'labels/hippocampus_001.nii.gz')), 'gt');
    const expected = segmentationMetrics(predVol, gtVol).map((m) => m.dice);
    const reported = (JSON.parse(score.stdout) as { classes: { dice: number | null }[] }).classes.map((c) => c.dice ?? NaN);
    expect(reported).toEqual(expected);
    const human = await runCli(['eval', '--pred', pred, '--gt', join(labeledDir, 'labels/hippocampus_001.nii.gz')]);
    expect(human.stdout).toMatch(/^label\s+Dice\s+Jaccard\s+HD95 \(mm\)\s+ASD \(mm\)/);
  });
});

describe('sds: output paths are checked before any work, and a late write failure keeps the result', () => {
  it('exits 3 with E_IO naming the path for an unwritable --out of finetune and segment, before reading a scan', async () => {
    const aFile = join(dir, 'a-file');
    await writeFile(aFile, 'x');
    const aFolder = join(dir, 'a-folder');
    await mkdir(aFolder, { recursive: true });
    const unwritable: [string, RegExp][] = [
      [join(dir, 'no/such/dir/m.out'), /expected an existing folder to write into, found no folder/],
      [join(aFile, 'm.out'), /expected a folder, found a file at/],
      [aFolder, /expected a file name, found a folder/],
    ];
    for (const [path, reason] of unwritable) {
      const commands = [
        ['finetune', '--labeled', DATA, '--unlabeled', DATA, '--out', path, '--backend', 'wasm', '--threads', '1'],
        ['segment', '--model', model, SCAN, '--out', path, '--backend', 'wasm', '--threads', '1'],
      ];
      for (const args of commands) {
        const run = await runCli(args);
        expect({ args, code: run.code }).toEqual({ args, code: 3 });
        expect(run.stderr).toMatch(/^sds: E_IO: --out /);
        expect(run.stderr).toContain(path);
        expect(run.stderr).toMatch(reason);
        // Refused before the backend started or a scan was read: no notes, no stack trace.
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
      }
    }
  });

  it('a write that fails at the end keeps the bytes beside and names where', async () => {
    const keep = join(dir, 'kept');
    await mkdir(keep, { recursive: true });
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const error = await writeOutput(join(dir, 'gone/m.safetensors'), bytes, '--out', [keep]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdsError);
    expect((error as SdsError).code).toBe('E_IO');
    const kept = (error as SdsError).details.kept as string;
    expect((error as SdsError).message).toMatch(/--out .*gone\/m\.safetensors: could not write: ENOENT.*; the result is kept in /);
    expect(kept.startsWith(keep)).toBe(true);
    expect(new Uint8Array(await readFile(kept))).toEqual(bytes);
  });

  it('a file-system error that reaches main() is E_IO (exit 3), not an internal failure with a stack', async () => {
    const raw = await readFile(join(dir, 'missing.nii.gz')).catch((e: unknown) => e);
    const mapped = fileSystemError(raw);
    expect(mapped?.code).toBe('E_IO');
    expect(mapped?.message).toMatch(/^E_IO: .*missing\.nii\.gz: ENOENT/);
    expect(exitCodeOf(mapped)).toBe(3);
    expect(fileSystemError(new Error('a bug'))).toBeUndefined();
  });
});
