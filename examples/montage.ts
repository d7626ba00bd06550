/**
 * A PNG montage of label maps over their scans: one row per scan, one panel per label map (the first
 * panel the bare image), all cut through the same slice. Pure pixels (RGBA) here, PNG bytes through
 * fast-png, so the demo needs no canvas and the pixels can be tested exactly.
 */
import { encode } from 'fast-png';
import { SdsError } from '../src/core/errors.js';
import { percentiles, voxelIndex, type Volume } from '../src/volume/index.js';

/** RGB per label value (index 0, background, is not drawn). */
export const LABEL_COLORS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [255, 64, 48], // 1: anterior hippocampus, red
  [48, 160, 255], // 2: posterior hippocampus, blue
];

export interface MontageRow {
  readonly image: Volume;
  /** Label maps on the image's grid, one panel each after the bare image (null: the image without overlay). */
  readonly labels: readonly (Volume<Uint8Array> | null)[];
  /** Which label map picks the slice: the one with the most foreground voxels in it (default: the last). */
  readonly sliceFrom?: number;
}

export interface MontageOptions {
  /** Axis the slices are cut across, in Volume axes (0: x, 1: y, 2: z). Default 0 (sagittal for RAS scans). */
  readonly axis?: 0 | 1 | 2;
  /** Integer upscaling (nearest neighbour). Default 4. */
  readonly scale?: number;
  /** Overlay opacity 0..1. Default 0.45. */
  readonly opacity?: number;
  /** Pixels between panels and rows. Default 4. */
  readonly gap?: number;
}

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** The slice index along `axis` holding the most foreground voxels of `label`. */
export function busiestSlice(label: Volume<Uint8Array>, axis: 0 | 1 | 2): number {
  const counts = new Array<number>(label.shape[axis]).fill(0);
  const [X, Y, Z] = label.shape;
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) if (label.data[voxelIndex(label.shape, x, y, z)] > 0) counts[[x, y, z][axis]]++;
  return counts.indexOf(Math.max(...counts));
}

/** The two in-plane axes of a cut across `axis`: columns, then rows (shown top to bottom reversed, so "up" is up). */
const planeAxes = (axis: 0 | 1 | 2): [number, number] => (axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1]);

/** The montage as RGBA pixels. Rows are scaled to the widest / tallest slice; smaller slices sit top-left. */
export function renderMontage(rows: readonly MontageRow[], options: MontageOptions = {}): RgbaImage {
  const axis = options.axis ?? 0;
  const scale = options.scale ?? 4;
  const opacity = options.opacity ?? 0.45;
  const gap = options.gap ?? 4;
  if (rows.length === 0) throw new SdsError('E_INVALID_ARGUMENT', 'montage: expected at least one row, found none');
  if (!(Number.isInteger(scale) && scale >= 1))
    throw new SdsError('E_INVALID_ARGUMENT', `montage: scale: expected an integer >= 1, found ${scale}`);
  if (!(opacity >= 0 && opacity <= 1))
    throw new SdsError('E_INVALID_ARGUMENT', `montage: opacity: expected a number in [0, 1], found ${opacity}`);
  const [cu, cv] = planeAxes(axis);
  const panels = 1 + Math.max(...rows.map((r) => r.labels.length));
  const pw = Math.max(...rows.map((r) => r.image.shape[cu])) * scale;
  const ph = Math.max(...rows.map((r) => r.image.shape[cv])) * scale;
  const width = panels * pw + (panels - 1) * gap;
  const height = rows.length * ph + (rows.length - 1) * gap;
  const data = new Uint8Array(width * height * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255; // opaque black background and gaps

  rows.forEach((row, r) => {
    const { image } = row;
    for (const [k, l] of row.labels.entries())
      if (l !== null && l.shape.some((s, a) => s !== image.shape[a]))
        throw new SdsError(
          'E_SHAPE_MISMATCH',
          `montage: row ${r} label ${k}: expected the image's shape [${image.shape.join(', ')}], found [${l.shape.join(', ')}]`,
        );
    const picker = row.labels[row.sliceFrom ?? row.labels.length - 1] ?? null;
    const slice = picker !== null ? busiestSlice(picker, axis) : Math.floor(image.shape[axis] / 2);
    const [lo, hi] = percentiles(image, [0.5, 99.5]);
    const span = hi > lo ? hi - lo : 1;
    const nu = image.shape[cu];
    const nv = image.shape[cv];
    for (let p = 0; p < panels; p++) {
      const label = p === 0 ? null : (row.labels[p - 1] ?? null);
      for (let v = 0; v < nv; v++)
        for (let u = 0; u < nu; u++) {
          const c = [0, 0, 0];
          c[axis] = slice;
          c[cu] = u;
          c[cv] = v;
          const i = voxelIndex(image.shape, c[0], c[1], c[2]);
          const g = Math.round(255 * Math.min(1, Math.max(0, (Number(image.data[i]) - lo) / span)));
          let rgb = [g, g, g];
          const cls = label !== null ? label.data[i] : 0;
          if (cls > 0) {
            const col = LABEL_COLORS[cls] ?? [255, 255, 0];
            rgb = rgb.map((x, ch) => Math.round((1 - opacity) * x + opacity * col[ch]));
          }
          // Rows of the PNG run top-down; the volume's v axis points up (superior / anterior in RAS).
          const y0 = r * (ph + gap) + (nv - 1 - v) * scale;
          const x0 = p * (pw + gap) + u * scale;
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) {
              const o = ((y0 + dy) * width + x0 + dx) * 4;
              data[o] = rgb[0];
              data[o + 1] = rgb[1];
              data[o + 2] = rgb[2];
            }
        }
    }
  });
  return { width, height, data };
}

/** RGBA pixels as PNG bytes (8-bit RGBA). */
export function encodeRgbaPng(image: RgbaImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: 4, depth: 8 });
}
