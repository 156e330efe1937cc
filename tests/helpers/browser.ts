// Chromium for the browser suites: Debian's chromium driven by playwright-core (no browser
// download), and a static file server on 127.0.0.1 that can send the cross-origin-isolation
// headers (COOP/COEP), which SharedArrayBuffer and wasm threads need.
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Debian Chromium with the flags this sandbox needs (no network, no GPU, no sandbox as
 * root); playwright gives it a fresh temporary profile of its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer { url: string; close(): Promise<void>; server: Server }

/**
 * Serves `root` on 127.0.0.1 (a free port); `isolated` adds COOP/COEP (and CORP) headers so the
 * page is cross-origin isolated. Extra routes map URL paths to folders (e.g. { '/mnist/': dir }).
 */
export async function serveStatic(root: string, options: { isolated?: boolean; routes?: Record<string, string> } = {}): Promise<StaticServer> {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let base = root, rel = path;
    for (const [prefix, dir] of Object.entries(options.routes ?? {})) {
      if (path.startsWith(prefix)) { base = dir; rel = path.slice(prefix.length - 1); break; }
    }
    let file = normalize(join(base, rel));
    if (!file.startsWith(normalize(base))) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const headers: Record<string, string> = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
      if (options.isolated) {
        headers['cross-origin-opener-policy'] = 'same-origin';
        headers['cross-origin-embedder-policy'] = 'require-corp';
        headers['cross-origin-resource-policy'] = 'same-origin';
      }
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
