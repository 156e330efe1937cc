// The heap over the one wasm memory. Models plan their memory once (parameters, gradients,
// optimizer state, activation arena) and allocate nothing while training, so a simple first-fit
// free list is all the allocator needs to be. Growth detaches old ArrayBuffer views, so views are
// always taken from `f32` / `i32`, which are re-made after every growth.

import { MemoryError } from '../errors.js';

const ALIGN = 64; // a cache line; also keeps every v128 access aligned
const PAGE = 65536;
const WASM32_MAX_BYTES = 65536 * PAGE;

interface Block { ptr: number; size: number }

export class Heap {
  /** Number of times the memory has grown since the heap was made (tests assert it stays put). */
  growCount = 0;
  private free: Block[] = [];           // sorted by ptr, coalesced
  private used = new Map<number, number>();
  private top: number;                  // first byte past every block handed out
  private buffer: ArrayBuffer | null = null;
  private f32View!: Float32Array;
  private i32View!: Int32Array;

  constructor(readonly memory: WebAssembly.Memory, base: number, readonly maxBytes = WASM32_MAX_BYTES) {
    this.top = alignUp(base);
  }

  /** Allocates `bytes` (64-byte aligned). `what` names the allocation in a MemoryError. */
  alloc(bytes: number, what: string): number {
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.free.splice(i, 1);
      else { b.ptr += size; b.size -= size; }
      this.used.set(ptr, size);
      return ptr;
    }
    const ptr = this.top;
    this.ensure(ptr + size, what);
    this.top = ptr + size;
    this.used.set(ptr, size);
    return ptr;
  }

  /** Returns a block from `alloc` to the free list. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`heap: release of unknown block ${ptr}`);
    this.used.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // coalesce with the neighbours
    if (i + 1 < this.free.length && ptr + size === this.free[i + 1].ptr) {
      this.free[i].size += this.free[i + 1].size;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1].ptr + this.free[i - 1].size === ptr) {
      this.free[i - 1].size += this.free[i].size;
      this.free.splice(i, 1);
      i--;
    }
    // a free block at the very top gives its bytes back to the bump region
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  /** Bytes currently handed out. */
  get allocatedBytes(): number {
    let n = 0;
    for (const s of this.used.values()) n += s;
    return n;
  }

  /** A Float32Array over the whole memory (index = byte pointer / 4); valid until the next growth. */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  /** An Int32Array over the whole memory (index = byte pointer / 4); valid until the next growth. */
  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.f32View = new Float32Array(this.buffer);
      this.i32View = new Int32Array(this.buffer);
    }
  }

  private ensure(end: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    if (end > this.maxBytes) {
      throw new MemoryError(`out of memory: ${what} needs the wasm memory to reach ${mib(end)} MiB, ` +
        `over the limit of ${mib(this.maxBytes)} MiB`);
    }
    try {
      this.memory.grow(Math.ceil((end - have) / PAGE));
    } catch (e) {
      throw new MemoryError(`out of memory: could not grow the wasm memory from ${mib(have)} to ` +
        `${mib(end)} MiB for ${what} (${(e as Error).message})`);
    }
    this.growCount++;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
