/**
 * The viewer's static server (node:http, no dependencies): serves the bundled page from
 * examples/viewer/dist/, the demo scans from examples/data/ under /data/ and the pretrained V-Net from
 * examples/models/ under /models/. Every response carries
 * Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, which make the
 * page cross-origin isolated: that is what gives it SharedArrayBuffer, so the wasm backend can run its
 * worker pool. `isolation: false` omits them, to show (and test) the single-thread fallback.
 * Only GET/HEAD of files under those two roots are answered; everything else is 404/405.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ViewerServerOptions {
  /** Port to listen on; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Interface to bind. Default 127.0.0.1 (the scans are the user's: nothing listens beyond this machine). */
  readonly host?: string;
  /** Send COOP/COEP (cross-origin isolation, wasm threads). Default true. */
  readonly isolation?: boolean;
  /** The bundled page. Default examples/viewer/dist. */
  readonly distDir?: string;
  /** The demo scans (images/, labels/, split.json). Default examples/data. */
  readonly dataDir?: string;
  /** The pretrained weights. Default examples/models. */
  readonly modelsDir?: string;
}

export interface ViewerServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8080 */
  readonly origin: string;
  close(): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.gz': 'application/gzip',
  '.nii': 'application/octet-stream',
};

/** Resolves a URL path inside `root`, or null when it escapes it (`..`, encoded or not). */
function inside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const full = normalize(join(root, decoded));
  return full === root || full.startsWith(root.endsWith(sep) ? root : root + sep) ? full : null;
}

export function startViewerServer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const distDir = normalize(options.distDir ?? join(here, 'dist'));
  const dataDir = normalize(options.dataDir ?? join(here, '..', 'data'));
  const modelsDir = normalize(options.modelsDir ?? join(here, '..', 'models'));
  const isolation = options.isolation ?? true;
  const headers: Record<string, string> = {
    // The page loads nothing from other origins; CORP same-origin keeps require-corp satisfied for its own files.
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(isolation ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
  };

  const send = (res: ServerResponse, status: number, text: string): void => {
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = path.startsWith('/data/')
      ? inside(dataDir, path.slice('/data/'.length))
      : path.startsWith('/models/')
        ? inside(modelsDir, path.slice('/models/'.length))
        : inside(distDir, path === '/' ? 'index.html' : path);
    if (!file) return send(res, 404, 'not found');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return send(res, 404, 'not found');
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, String(e)));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        server,
        origin: `http://${options.host ?? '127.0.0.1'}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
