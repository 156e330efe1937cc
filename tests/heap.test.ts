import { describe, expect, it } from 'vitest';
import { Heap } from '../bindings/memory/heap.js';
import { MemoryError } from '../bindings/index.js';

describe('Heap (first-fit allocator over the wasm memory)', () => {
  const make = (max?: number) => new Heap(new WebAssembly.Memory({ initial: 1 }), 1000, max);

  it('aligns blocks to 64 bytes and never overlaps them', () => {
    const h = make();
    const a = h.alloc(10, 'a'), b = h.alloc(100, 'b'), c = h.alloc(1, 'c');
    for (const p of [a, b, c]) expect(p % 64).toBe(0);
    expect(a).toBeGreaterThanOrEqual(1000);
    expect(b).toBeGreaterThanOrEqual(a + 10);
    expect(c).toBeGreaterThanOrEqual(b + 100);
  });

  it('reuses and coalesces freed blocks', () => {
    const h = make();
    const a = h.alloc(64, 'a'), b = h.alloc(64, 'b'), c = h.alloc(64, 'c'), guard = h.alloc(64, 'guard');
    h.release(a); h.release(c); h.release(b);
    expect(h.alloc(192, 'abc')).toBe(a); // a, b and c merged back into one block
    expect(h.allocatedBytes).toBe(256);
    h.release(guard);
  });

  it('grows the memory when needed, counts growth, and re-makes views', () => {
    const h = make();
    const before = h.f32;
    const p = h.alloc(200_000, 'big');
    expect(h.growCount).toBe(1);
    expect(before.length, 'the old view was detached by growth').toBe(0);
    expect(h.f32 === before).toBe(false);
    expect(h.f32.length * 4).toBeGreaterThanOrEqual(p + 200_000);
  });

  it('throws MemoryError naming the allocation past the limit, and stays usable', () => {
    const h = make(128 * 1024);
    expect(() => h.alloc(1 << 20, 'the activation arena')).toThrow(MemoryError);
    expect(() => h.alloc(1 << 20, 'the activation arena')).toThrow(/the activation arena needs .* over the limit of 0.1 MiB/);
    expect(h.alloc(1000, 'small')).toBeGreaterThan(0);
  });

  it('refuses to release an unknown block', () => {
    expect(() => make().release(12345)).toThrow(/unknown block/);
  });
});
