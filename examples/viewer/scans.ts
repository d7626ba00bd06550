/**
 * Scans as the page holds them: name + bytes (what the SDK's ScanInput takes and what crosses to the
 * worker). The bundled demo scans come from the same server (/data/, examples/data/ on disk).
 */
export interface ScanFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface BundledScan {
  readonly id: string;
  /**
   * 'train': has a label, used as a labeled scan when adapting; 'unlabeled': no label (open it to adapt to
   * it); 'heldOut': to segment and score against its label.
   */
  readonly role: 'train' | 'unlabeled' | 'heldOut';
}

export async function listBundled(): Promise<BundledScan[]> {
  const split = (await (await fetchOk('data/split.json')).json()) as { train: string[]; unlabeled?: string[]; heldOut: string[] };
  return [
    ...split.heldOut.map((id) => ({ id, role: 'heldOut' as const })),
    ...(split.unlabeled ?? []).map((id) => ({ id, role: 'unlabeled' as const })),
    ...split.train.map((id) => ({ id, role: 'train' as const })),
  ];
}

export async function fetchScan(id: string, kind: 'images' | 'labels'): Promise<ScanFile> {
  const name = `${id}.nii.gz`;
  return { name, bytes: new Uint8Array(await (await fetchOk(`data/${kind}/${name}`)).arrayBuffer()) };
}

export async function fetchModel(): Promise<Uint8Array> {
  return new Uint8Array(await (await fetchOk('models/vnet16-hippocampus.safetensors')).arrayBuffer());
}

export async function readFileScan(file: File): Promise<ScanFile> {
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}
