// Reads a wasm file given to init({ wasm: path }) where there is a file system (Node, Bun, Deno).
import { readFile } from 'node:fs/promises';

export async function readWasmFile(url: URL): Promise<Uint8Array> {
  return new Uint8Array(await readFile(url));
}
