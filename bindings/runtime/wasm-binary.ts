// The one fact about the kernels' binary that the host reads: how its memory is imported.
//
// Both builds import their memory (env.memory, limits 1..65536 pages, asconfig.json), so one
// binary per tier serves one thread and many: for the thread pool the runtime flips the import's
// limits flag from 0x01 (has a maximum) to 0x03 (has a maximum, shared), a same-length edit, and
// every worker instantiates that variant over one shared WebAssembly.Memory. The kernels use no
// atomics themselves (the pool synchronises in JS), so nothing else differs.

import { FormatError } from '../errors.js';

/** The memory import's limits: the initial and (when present) maximum size in pages. */
export interface MemoryImport { initialPages: number; maximumPages: number | null; shared: boolean }

/** Finds the memory import of a wasm binary; null when the module defines its own memory. */
export function findMemoryImport(bytes: Uint8Array): (MemoryImport & { flagOffset: number }) | null {
  const fail = (why: string): never => { throw new FormatError(`the wasm binary is malformed: ${why}`); };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) fail('no wasm header');
  let p = 8;
  const leb = (): number => {
    let result = 0, shift = 0, byte: number;
    do {
      if (p >= bytes.length || shift > 28) fail('a LEB128 number runs past the end');
      byte = bytes[p++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const end = p + size;
    if (end > bytes.length) fail(`section ${id} runs past the end`);
    if (id === 2) { // the import section
      const count = leb();
      for (let i = 0; i < count; i++) {
        const moduleName = leb(); p += moduleName;  // (not `p += leb()`: that reads p before leb moves it)
        const fieldName = leb(); p += fieldName;
        const kind = bytes[p++];
        if (kind === 0) leb();          // function: type index
        else if (kind === 1) { p++; const f = bytes[p++]; leb(); if (f & 1) leb(); } // table
        else if (kind === 3) p += 2;   // global: type, mutability
        else if (kind === 2) {
          const flagOffset = p;
          const flags = bytes[p++];
          const initialPages = leb();
          const maximumPages = flags & 1 ? leb() : null;
          return { flagOffset, initialPages, maximumPages, shared: (flags & 2) !== 0 };
        } else fail(`import kind ${kind} is unknown`);
      }
      return null;
    }
    p = end;
  }
  return null;
}

/** The same binary with its memory import made shared (a copy); FormatError when it has none to share. */
export function withSharedMemory(bytes: Uint8Array): Uint8Array {
  const memory = findMemoryImport(bytes);
  if (!memory || memory.maximumPages === null) {
    throw new FormatError('the wasm binary does not import a memory with a maximum size, so it cannot run over a shared one');
  }
  const copy = bytes.slice();
  copy[memory.flagOffset] |= 2;
  return copy;
}
