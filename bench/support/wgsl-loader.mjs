// Node module hooks: `import source from './x.wgsl'` yields the file's text, as the rollup/vite
// plugin does for the library and the tests. Registered by bench entry points run with tsx.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.wgsl')) return nextLoad(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
