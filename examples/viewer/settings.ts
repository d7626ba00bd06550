/**
 * The page's settings, read from the URL query so a link (or the e2e test) can pick them:
 *   ?tiny               a fresh V-Net with 2 filters, 1 stage-1 + 2 self-training iterations (seconds, for tests
 *                       and a quick look; the segmentation is not useful)
 *   ?backend=wasm       'auto' (default), 'webgpu', 'wasm' or 'reference'
 *   ?threads=2          wasm worker threads (default: navigator.hardwareConcurrency, at most 8)
 *   ?filters=4          nFilters of a fresh network (implies no pretrained model)
 *   ?iterations=3       self-training iterations (default: the SDK's adaptation recipe on the pretrained
 *                       model, 100 for a fresh one);  ?stage1=1  stage-1 iterations
 *   ?labeled=2          how many of the bundled labeled scans to adapt with (default: all of split.json's train)
 *   ?seed=0             seeds the fresh network and the trainer
 * Without ?tiny or ?filters the page loads the pretrained V-Net (models/vnet16-hippocampus.safetensors).
 */
import type { BackendChoice } from '../../src/api/types.js';

export interface ViewerSettings {
  readonly backend: BackendChoice;
  readonly threads?: number;
  readonly seed: number;
  /** null: the pretrained model from the server. */
  readonly nFilters: number | null;
  readonly stage1Iterations: number;
  /** Self-training iterations; undefined: the SDK's choice (the adaptation recipe's on the pretrained model). */
  readonly iterations: number | undefined;
  readonly labeled: number;
  readonly tiny: boolean;
}

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm', 'reference'];

function integer(query: URLSearchParams, name: string, fallback: number, min: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`?${name}=${raw}: expected an integer >= ${min}`);
  return n;
}

export function readSettings(search: string): ViewerSettings {
  const query = new URLSearchParams(search);
  const tiny = query.has('tiny');
  const backend = (query.get('backend') ?? 'auto') as BackendChoice;
  if (!BACKENDS.includes(backend)) throw new Error(`?backend=${backend}: expected one of ${BACKENDS.join(', ')}`);
  const filters = query.get('filters');
  return {
    backend,
    threads: query.has('threads') ? integer(query, 'threads', 1, 1) : undefined,
    seed: integer(query, 'seed', 0, 0),
    nFilters: filters !== null ? integer(query, 'filters', 2, 1) : tiny ? 2 : null,
    stage1Iterations: integer(query, 'stage1', tiny ? 1 : 0, 0),
    iterations: query.has('iterations') || tiny || filters !== null ? integer(query, 'iterations', tiny ? 2 : 100, 0) : undefined,
    labeled: integer(query, 'labeled', tiny ? 2 : Number.MAX_SAFE_INTEGER, 1),
    tiny,
  };
}
