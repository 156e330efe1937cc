// Node and Bun: the wasm files next to the package (dist/build/), read with node:fs; paths given
// to init({ wasm }) are read as files; pool threads are worker_threads (Node) or Web Workers (Bun).

import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { WASM_FILES, type WasmSource } from './load.js';
import { readWasmFile } from './read-file.js';
import type { PoolWorker } from './threads.js';
import { startWebWorker } from './worker-web.js';

// a dynamic import works whether Node runs eval'd workers as CommonJS or, under the parent's
// --input-type=module, as a module; the first message waits in the port until the listener is on
const PROLOGUE = 'let port = null;\n' +
  "const onMessage = (f) => { import('node:worker_threads').then((m) => { port = m.parentPort; port.once('message', f); }); };\n" +
  'const post = (m) => port.postMessage(m);\n';

function startNodeWorker(body: string): PoolWorker {
  const worker = new Worker(PROLOGUE + body, { eval: true });
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => { worker.on('message', listener); },
    onError: (listener) => { worker.on('error', listener); },
    unref: () => worker.unref(),
    terminate: () => { void worker.terminate(); },
  };
}

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

export const nodeSource: WasmSource = {
  describe: "simdnet's dist/build folder",
  async bytes(tier) { return new Uint8Array(await readFile(new URL(`../../build/${WASM_FILES[tier]}`, import.meta.url))); },
  readPath: readWasmFile,
  startWorker: isBun ? startWebWorker : startNodeWorker,
};
