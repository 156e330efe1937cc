// The heap over the one wasm memory. Models plan their memory once (parameters, gradients,
// optimizer state, activation arenas) and allocate nothing while training, so a simple first-fit
// free list is all the allocator needs to be. Growth detaches old ArrayBuffer views, so views are
// always taken from `f32` / `i32`, which are re-made after every growth.
//
// Pointers are unsigned byte offsets anywhere in wasm32's 4 GiB: index the views with
// `ptr >>> 2`, never `ptr >> 2` (which turns negative at 2 GiB).

import { MemoryError, StateError } from '../errors.js';

const ALIGN = 64; // a cache line; also keeps every v128 access aligned
const PAGE = 65536;
export const WASM32_MAX_BYTES = 65536 * PAGE;

interface Block { ptr: number; size: number }

export class Heap {
  #growCount = 0;
  #free: Block[] = [];           // sorted by ptr, coalesced
  #used = new Map<number, number>();
  #top: number;                  // first byte past every block handed out
  #buffer: ArrayBuffer | null = null;
  #f32!: Float32Array;
  #i32!: Int32Array;
  readonly #memory: WebAssembly.Memory;
  readonly #maxBytes: number;

  constructor(memory: WebAssembly.Memory, base: number, maxBytes = WASM32_MAX_BYTES) {
    if (!(maxBytes > 0 && maxBytes <= WASM32_MAX_BYTES)) {
      throw new MemoryError(`heap limit ${maxBytes} is outside (0, 4 GiB]`);
    }
    this.#memory = memory;
    this.#maxBytes = maxBytes;
    this.#top = alignUp(base);
  }

  get memory(): WebAssembly.Memory { return this.#memory; }

  /** The most bytes the wasm memory may grow to (init's maxMemoryBytes, else 4 GiB). */
  get maxBytes(): number { return this.#maxBytes; }

  /** Number of times the memory has grown since the heap was made (tests assert it stays put). */
  get growCount(): number { return this.#growCount; }

  /** Current size of the wasm memory in bytes. */
  get byteLength(): number { return this.#memory.buffer.byteLength; }

  /** Allocates `bytes` (64-byte aligned). `what` names the allocation in a MemoryError. */
  alloc(bytes: number, what: string): number {
    if (!(bytes >= 0 && bytes <= WASM32_MAX_BYTES)) {
      throw new MemoryError(`out of memory: ${what} needs ${mib(bytes)} MiB, more than the 4 GiB a wasm32 memory can address`);
    }
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i];
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.#free.splice(i, 1);
      else { b.ptr += size; b.size -= size; }
      this.#used.set(ptr, size);
      return ptr;
    }
    const ptr = this.#top;
    this.ensure(ptr + size, what);
    this.#top = ptr + size;
    this.#used.set(ptr, size);
    return ptr;
  }

  /** Returns a block from `alloc` to the free list. */
  release(ptr: number): void {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new StateError(`heap: release of unknown block ${ptr}`);
    this.#used.delete(ptr);
    const free = this.#free;
    let i = 0;
    while (i < free.length && free[i].ptr < ptr) i++;
    free.splice(i, 0, { ptr, size });
    // coalesce with the neighbours
    if (i + 1 < free.length && ptr + size === free[i + 1].ptr) {
      free[i].size += free[i + 1].size;
      free.splice(i + 1, 1);
    }
    if (i > 0 && free[i - 1].ptr + free[i - 1].size === ptr) {
      free[i - 1].size += free[i].size;
      free.splice(i, 1);
      i--;
    }
    // a free block at the very top gives its bytes back to the bump region
    const last = free[free.length - 1];
    if (last && last.ptr + last.size === this.#top) {
      this.#top = last.ptr;
      free.pop();
    }
  }

  /**
   * Runs `body` (a series of alloc / release calls) all-or-nothing: if it throws, every block it
   * allocated or released is as it was before (the wasm memory may have grown; it never shrinks).
   */
  transaction<T>(body: () => T): T {
    const free = this.#free.map((b) => ({ ...b }));
    const used = new Map(this.#used);
    const top = this.#top;
    try {
      return body();
    } catch (e) {
      this.#free = free;
      this.#used = used;
      this.#top = top;
      throw e;
    }
  }

  /** Size in bytes of a block from `alloc` (its request rounded up to 64 bytes). */
  blockBytes(ptr: number): number {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new StateError(`heap: unknown block ${ptr}`);
    return size;
  }

  /** Bytes currently handed out. */
  get allocatedBytes(): number {
    let n = 0;
    for (const s of this.#used.values()) n += s;
    return n;
  }

  /** Number of blocks currently handed out. */
  get blockCount(): number { return this.#used.size; }

  /** A Float32Array over the whole memory (index = byte pointer >>> 2); valid until the next growth. */
  get f32(): Float32Array {
    this.refresh();
    return this.#f32;
  }

  /** An Int32Array over the whole memory (index = byte pointer >>> 2); valid until the next growth. */
  get i32(): Int32Array {
    this.refresh();
    return this.#i32;
  }

  private refresh(): void {
    const buffer = this.#memory.buffer;
    if (this.#buffer !== buffer) {
      this.#buffer = buffer;
      this.#f32 = new Float32Array(buffer);
      this.#i32 = new Int32Array(buffer);
    }
  }

  private ensure(end: number, what: string): void {
    const have = this.#memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.#maxBytes) {
      throw new MemoryError(`out of memory: ${what} needs the wasm memory to reach ${mib(end)} MiB, ` +
        `over the limit of ${mib(this.#maxBytes)} MiB`);
    }
    try {
      this.#memory.grow(Math.ceil((end - have) / PAGE));
    } catch (e) {
      throw new MemoryError(`out of memory: could not grow the wasm memory from ${mib(have)} to ` +
        `${mib(end)} MiB for ${what} (${(e as Error).message})`, { cause: e });
    }
    this.#growCount++;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}
