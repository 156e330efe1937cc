// Node and Bun: the wasm files next to the package (dist/build/), read with node:fs; paths given
// to init({ wasm }) are read as files.

import { readFile } from 'node:fs/promises';
import { WASM_FILES, type WasmSource } from './load.js';
import { readWasmFile } from './read-file.js';

export const nodeSource: WasmSource = {
  describe: "simdnet's dist/build folder",
  async bytes(tier) { return new Uint8Array(await readFile(new URL(`../../build/${WASM_FILES[tier]}`, import.meta.url))); },
  readPath: readWasmFile,
};
