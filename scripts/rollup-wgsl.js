// A rollup/vite plugin: `import source from '.../x.wgsl'` yields the shader text as a string.
// Used by rollup.config.js (the library bundle) and vitest.config.ts (tests run the same sources).
import { readFile } from 'node:fs/promises';

export function wgsl() {
  return {
    name: 'sds-wgsl',
    async load(id) {
      if (!id.endsWith('.wgsl')) return null;
      const text = await readFile(id, 'utf8');
      return { code: `export default ${JSON.stringify(text)};`, map: null };
    },
  };
}
