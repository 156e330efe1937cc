// The wasm embedded in the entry, as base64 (see tools/inline-wasm.mjs): browsers, bundlers,
// Deno and CommonJS get the kernels with no file to find, serve or be allowed to read.

import type { WasmSource } from './load.js';
import { SIMD_WASM_BASE64, RELAXED_WASM_BASE64 } from './wasm-inline.generated.js';
import { noWebWorkers, startWebWorker } from './worker-web.js';

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export const inlineSource: WasmSource = {
  describe: "the wasm embedded in simdnet's entry",
  async bytes(tier) { return decode(tier === 'simd' ? SIMD_WASM_BASE64 : RELAXED_WASM_BASE64); },
  startWorker: startWebWorker,
  noWorkers: noWebWorkers,
};
