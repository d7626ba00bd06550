// Types of scripts/build-viewer.js for TypeScript callers (examples/viewer/serve.ts, the e2e tests).
export declare function buildViewer(options?: { outdir?: string; minify?: boolean }): Promise<string>;
/** esbuild plugin: node:* imports become empty modules (the SDK reaches them only in Node). */
export declare const nodeBuiltinStubs: import('esbuild').Plugin;
