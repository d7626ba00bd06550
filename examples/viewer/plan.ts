/**
 * What the page asks the SDK for, from its settings: the segmenter's options and the finetune config.
 * The e2e test builds its Node reference run from these same functions, so "same settings, same seed"
 * holds by construction.
 */
import type { CreateSegmenterOptions, FinetuneConfig } from '../../src/api/types.js';
import type { ViewerSettings } from './settings.js';

/** The demo scans' classes: background, anterior and posterior hippocampus. */
export const HIPPOCAMPUS_CLASSES = 3;

export function segmenterOptions(settings: ViewerSettings, model?: Uint8Array): CreateSegmenterOptions {
  return {
    backend: settings.backend,
    ...(settings.threads !== undefined ? { threads: settings.threads } : {}),
    seed: settings.seed,
    ...(model ? { model } : { network: { nClasses: HIPPOCAMPUS_CLASSES, nFilters: settings.nFilters ?? 2 } }),
  };
}

export function finetuneConfig(settings: ViewerSettings): FinetuneConfig {
  return {
    seed: settings.seed,
    stage1Iterations: settings.stage1Iterations,
    // Without ?iterations the pretrained model gets the adaptation recipe's own count.
    ...(settings.iterations !== undefined ? { iterations: settings.iterations } : {}),
    // No validation scans are passed from the page, and no checkpoint is kept mid-run.
    validateEvery: Number.MAX_SAFE_INTEGER,
    checkpointEvery: Number.MAX_SAFE_INTEGER,
  };
}
