/**
 * The viewer page: NiiVue shows the scan; the SDK runs in a Web Worker (worker.ts) behind the same
 * Segmenter interface as on the main thread. "Adapt to these scans" fine-tunes with SDS on the bundled
 * labeled scans plus the scans the user opened (unlabeled: they never need a label), "Segment" shows the
 * deployed teacher's label map as a label overlay, "Save" downloads it as .nii.gz. Nothing is sent
 * anywhere: scans go from the file picker (or this page's own server, for the demo scans) to the worker.
 */
import { NVImage, Niivue } from '@niivue/niivue';
import type { FinetuneProgress, Segmenter, SegmenterInfo } from '../../src/api/types.js';
import { segmentationMetrics } from '../../src/volume/metrics.js';
import { readNifti } from '../../src/volume/nifti-read.js';
import { writeLabelNifti } from '../../src/volume/nifti-write.js';
import type { Volume } from '../../src/volume/volume.js';
import { describeBackend } from './backend-line.js';
import { labelColormap } from './label-colormap.js';
import { LossChart } from './loss-chart.js';
import { finetuneConfig, segmenterOptions } from './plan.js';
import { fetchModel, fetchScan, listBundled, readFileScan, type BundledScan, type ScanFile } from './scans.js';
import { connectSegmenter } from './sdk-client.js';
import { readSettings } from './settings.js';

/** Our byte arrays are never views of a SharedArrayBuffer, which is what BlobPart rules out. */
const blobPart = (bytes: Uint8Array): BlobPart => bytes as Uint8Array<ArrayBuffer>;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** What the e2e test (and a curious developer in the console) can read. */
interface ViewerHandle {
  ready: boolean;
  busy: boolean;
  errors: string[];
  info: SegmenterInfo | null;
  progress: FinetuneProgress[];
  /** The overlay NiiVue shows (its voxel array), or null before Segment. */
  overlayData(): number[] | null;
  /** The overlay's opacity as NiiVue renders it. */
  overlayOpacity(): number | null;
  chart(): ReturnType<LossChart['summary']>;
}

const settings = readSettings(location.search);
const chart = new LossChart($<HTMLCanvasElement>('chart'));
const nv = new Niivue({
  backColor: [0.07, 0.07, 0.07, 1],
  dragAndDropEnabled: false,
  show3Dcrosshair: true,
  crosshairWidth: 0.25,
  crosshairColor: [1, 0.3, 0.3, 0.6],
  logLevel: 'warn',
});
let segmenter: Segmenter | null = null;
/** The scans the user opened (the unlabeled set of Adapt), and the one on screen. */
const opened: ScanFile[] = [];
let current: { scan: ScanFile; bundledId?: string } | null = null;
let overlay: { volume: Volume<Uint8Array>; bytes: Uint8Array; image: NVImage } | null = null;

const handle: ViewerHandle = {
  ready: false,
  busy: false,
  errors: [],
  info: null,
  progress: [],
  overlayData: () => (overlay ? Array.from(overlay.image.img as ArrayLike<number>) : null),
  overlayOpacity: () => overlay?.image.opacity ?? null,
  chart: () => chart.summary(),
};
(window as unknown as { sdsViewer: ViewerHandle }).sdsViewer = handle;

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
  if (error) handle.errors.push(text);
}

function updateButtons(): void {
  const idle = handle.ready && !handle.busy;
  $<HTMLButtonElement>('adapt').disabled = !idle || opened.length === 0;
  $<HTMLButtonElement>('segment').disabled = !idle || current === null;
  $<HTMLButtonElement>('save').disabled = !idle || overlay === null;
}

/** Runs one user action: one at a time, buttons off meanwhile, errors shown rather than thrown. */
async function action(name: string, run: () => Promise<void>): Promise<void> {
  handle.busy = true;
  updateButtons();
  try {
    await run();
  } catch (e) {
    status(`${name} failed: ${e instanceof Error ? e.message : String(e)}`, true);
  } finally {
    handle.busy = false;
    updateButtons();
  }
}

async function show(scan: ScanFile, bundledId?: string): Promise<void> {
  if (!opened.some((s) => s.name === scan.name)) opened.push(scan);
  current = { scan, bundledId };
  overlay = null;
  $('dice').textContent = '';
  const image = await NVImage.loadFromFile({ file: new File([blobPart(scan.bytes)], scan.name), colormap: 'gray' });
  while (nv.volumes.length > 0) nv.removeVolume(nv.volumes[0]);
  nv.addVolume(image);
  $('opened').textContent = `On screen: ${scan.name}. Opened (adapted to, unlabeled): ${opened.map((s) => s.name).join(', ')}`;
  status(`${scan.name} loaded`);
}

async function openFiles(files: FileList | File[]): Promise<void> {
  const list = Array.from(files).filter((f) => /\.nii(\.gz)?$/i.test(f.name));
  if (list.length === 0) return status('Expected NIfTI files (.nii or .nii.gz)', true);
  await action('Open', async () => {
    for (const file of list) await show(await readFileScan(file));
  });
}

function renderBundled(scans: BundledScan[]): void {
  const ul = $('bundled');
  for (const { id, role } of scans) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.textContent = id.replace('hippocampus_', 'hippo ');
    button.title = {
      heldOut: `${id}: held out, scored against its label after Segment`,
      unlabeled: `${id}: unlabeled (open it, then Adapt)`,
      train: `${id}: a labeled scan (Adapt uses these as the labeled set)`,
    }[role];
    button.dataset.scan = id;
    button.classList.add(role);
    // Only held-out and training scans have a label to score against.
    const labeled = role !== 'unlabeled' ? id : undefined;
    button.addEventListener('click', () => action('Open', async () => show(await fetchScan(id, 'images'), labeled)));
    li.append(button);
    ul.append(li);
  }
}

function onProgress(event: FinetuneProgress): void {
  handle.progress.push(event);
  const bar = $<HTMLProgressElement>('progress');
  if (event.type === 'done') {
    bar.value = 1;
    $('progress-text').textContent = 'done (100%)';
    return;
  }
  if (event.type === 'validation') return;
  bar.value = event.fraction;
  chart.add(event);
  const losses = event.losses.map((l) => l.toFixed(3)).join(' / ');
  const selected = event.selected !== undefined ? `, teacher from S${event.selected + 1}` : '';
  const alpha = event.alpha !== undefined ? `, alpha ${event.alpha.toFixed(4)}` : '';
  $('progress-text').textContent =
    `${event.phase === 'stage1' ? 'stage 1' : 'stage 2'} ${event.iteration}/${event.of}: loss ${losses}${selected}${alpha} ` +
    `(${Math.round(event.fraction * 100)}%, ${(event.ms / 1000).toFixed(1)} s/it)`;
}

async function adapt(): Promise<void> {
  if (!segmenter) return;
  const bundled = (await listBundled()).filter((s) => s.role === 'train').slice(0, settings.labeled);
  status(`Loading ${bundled.length} labeled demo scans…`);
  const labeled = await Promise.all(
    bundled.map(async ({ id }) => ({ image: await fetchScan(id, 'images'), label: await fetchScan(id, 'labels') })),
  );
  chart.reset();
  handle.progress = [];
  $<HTMLProgressElement>('progress').value = 0;
  status(`Adapting: ${labeled.length} labeled demo scans + ${opened.length} opened scan(s), unlabeled…`);
  const result = await segmenter.finetune({ labeled, unlabeled: [...opened], config: finetuneConfig(settings), onProgress });
  status(
    `Adapted: ${result.stage1Iterations} + ${result.iterations} iterations, ${result.msPerIteration.toFixed(0)} ms each; deployed ${result.deployed}`,
  );
  $('model').textContent = `${modelLine()} — adapted (${result.iterations} SDS iterations)`;
}

async function segment(): Promise<void> {
  if (!segmenter || !current) return;
  status(`Segmenting ${current.scan.name}…`);
  const t0 = performance.now();
  const bar = $<HTMLProgressElement>('progress');
  const label = await segmenter.segment(current.scan, {
    onProgress: ({ fraction, window, windows }) => {
      bar.value = fraction;
      $('progress-text').textContent = `segmenting: window ${window} of ${windows}`;
    },
  });
  const bytes = writeLabelNifti(label);
  const name = current.scan.name.replace(/\.nii(\.gz)?$/i, '') + '_label.nii.gz';
  const image = await NVImage.loadFromFile({ file: new File([blobPart(bytes)], name) });
  image.setColormapLabel(labelColormap(handle.info?.network.nClasses ?? 3));
  if (overlay) nv.removeVolume(overlay.image);
  nv.addVolume(image);
  overlay = { volume: label, bytes, image };
  nv.setOpacity(nv.volumes.indexOf(image), Number($<HTMLInputElement>('opacity').value));
  status(`Segmented ${current.scan.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (current.bundledId) {
    const truth = readNifti((await fetchScan(current.bundledId, 'labels')).bytes, `${current.bundledId}.nii.gz`);
    const scores = segmentationMetrics(label, truth).filter((m) => m.label > 0);
    $('dice').textContent = `Dice vs the bundled label: ${scores.map((m) => `class ${m.label} ${m.dice.toFixed(3)}`).join(', ')}`;
  }
}

function save(): void {
  if (!overlay || !current) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([blobPart(overlay.bytes)], { type: 'application/gzip' }));
  a.download = current.scan.name.replace(/\.nii(\.gz)?$/i, '') + '_label.nii.gz';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const modelLine = (): string =>
  settings.nFilters === null
    ? 'pretrained V-Net (nFilters 16, hippocampus)'
    : `fresh V-Net, nFilters ${settings.nFilters}, seed ${settings.seed}${settings.tiny ? ' (tiny test settings)' : ''}`;

function wire(): void {
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const files = (e.target as HTMLInputElement).files;
    if (files) void openFiles(files);
  });
  const hint = $('drop-hint');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    hint.hidden = false;
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) hint.hidden = true;
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    hint.hidden = true;
    if (e.dataTransfer?.files.length) void openFiles(e.dataTransfer.files);
  });
  $('adapt').addEventListener('click', () => void action('Adapt', adapt));
  $('segment').addEventListener('click', () => void action('Segment', segment));
  $('save').addEventListener('click', save);
  $<HTMLInputElement>('opacity').addEventListener('input', (e) => {
    if (overlay) nv.setOpacity(nv.volumes.indexOf(overlay.image), Number((e.target as HTMLInputElement).value));
  });
}

async function start(): Promise<void> {
  wire();
  await nv.attachToCanvas($<HTMLCanvasElement>('gl'));
  nv.setSliceType(nv.sliceTypeMultiplanar);
  renderBundled(await listBundled());
  $('model').textContent = `${modelLine()} — loading…`;
  const model = settings.nFilters === null ? await fetchModel() : undefined;
  segmenter = await connectSegmenter(segmenterOptions(settings, model));
  const info = segmenter.info();
  handle.info = info;
  const lines = describeBackend(info, globalThis.crossOriginIsolated === true);
  $('backend').textContent = lines.line;
  $('why-short').textContent = lines.whyShort;
  $('why').textContent = lines.why;
  const note = $('isolation');
  note.hidden = lines.isolationNote === null;
  note.textContent = lines.isolationNote ?? '';
  $('model').textContent = modelLine();
  handle.ready = true;
  updateButtons();
  status('Ready: open a scan (or pick a demo scan), then Adapt or Segment.');
}

start().catch((e: unknown) => {
  $('backend').textContent = 'no backend';
  status(`Start failed: ${e instanceof Error ? e.message : String(e)}`, true);
});
