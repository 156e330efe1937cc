// Node and Bun: the wasm files next to the package (dist/build/), read with node:fs; paths given
// to init({ wasm }) are read as files; pool threads are worker_threads (Node) or Web Workers (Bun).

import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { WASM_FILES, type WasmSource } from './load.js';
import { readWasmFile } from './read-file.js';
import { nodeWorkerStarter, type NodeWorkerClass } from './worker-node.js';
import { startWebWorker } from './worker-web.js';

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

export const nodeSource: WasmSource = {
  describe: "simdnet's dist/build folder",
  async bytes(tier) { return new Uint8Array(await readFile(new URL(`../../build/${WASM_FILES[tier]}`, import.meta.url))); },
  readPath: readWasmFile,
  startWorker: isBun ? startWebWorker : nodeWorkerStarter(Worker as unknown as NodeWorkerClass),
};
