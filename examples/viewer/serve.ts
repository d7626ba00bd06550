// `npm run viewer`: bundles the page, then serves it on http://127.0.0.1:8080 with COOP/COEP (wasm threads).
// Options: --port N (8080)  --no-isolation (omit COOP/COEP: the page then runs the wasm backend single-threaded
// and says so)  --host H (127.0.0.1)
import { buildViewer } from '../../scripts/build-viewer.js';
import { startViewerServer } from './server.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

await buildViewer();
const isolation = !process.argv.includes('--no-isolation');
const { origin } = await startViewerServer({ port: Number(option('port', '8080')), host: option('host', '127.0.0.1'), isolation });
console.log(`sds-web viewer: ${origin}/  (${isolation ? 'cross-origin isolated: wasm threads' : 'not isolated: wasm single thread'})`);
console.log(`tiny settings for a quick look: ${origin}/?tiny`);
