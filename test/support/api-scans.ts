// The tiny real scans the API and worker tests share: crops of five shipped hippocampus cases
// (examples/data), 2 labeled, 2 unlabeled and 1 held out.
import { fileURLToPath } from 'node:url';
import { loadCases } from '../../src/train/node-cases.js';
import { cropOrPad, type Volume } from '../../src/volume/index.js';

export const API_SCAN_CROP: [number, number, number] = [20, 24, 20];

export interface LabeledScan {
  image: Volume;
  label: Volume;
}

export async function loadApiScans(): Promise<{ labeled: LabeledScan[]; unlabeled: Volume[]; heldOut: LabeledScan }> {
  const data = fileURLToPath(new URL('../../examples/data', import.meta.url));
  const cases = await loadCases(data, ['hippocampus_001', 'hippocampus_003', 'hippocampus_004', 'hippocampus_006', 'hippocampus_007']);
  const crop = (c: LabeledScan): LabeledScan => ({ image: cropOrPad(c.image, API_SCAN_CROP), label: cropOrPad(c.label, API_SCAN_CROP) });
  return { labeled: cases.slice(0, 2).map(crop), unlabeled: cases.slice(2, 4).map((c) => crop(c).image), heldOut: crop(cases[4]) };
}
