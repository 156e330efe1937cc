// Views of wasm memory that cannot go stale. A plain Float32Array over the wasm memory is
// detached when the memory grows (it then has length 0: reads give undefined, writes vanish), and
// after its owner is disposed it still writes into memory that now belongs to someone else. A
// live view is a Proxy that looks like a Float32Array (indexing, length, methods, iteration,
// instanceof) but re-derives the real view on every access through `resolve`, which also checks
// that the owner is alive (and throws a StateError when it is not). Methods and iterators taken
// from it re-derive it at every call and every step, so they cannot outlive the owner either.

import { InputError } from '../errors.js';

/** True for property keys that index a typed array ("0", "17"; not "length" or symbols). */
function isIndex(key: string | symbol): boolean {
  if (typeof key !== 'string' || key.length === 0) return false;
  const c = key.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c === 45 && key.length > 1); // a digit, or '-' (a negative index: undefined)
}

const LIVE = Symbol('simdnet.liveView');

/** Iterators that read one element at a time through resolve(). */
function liveIterator(resolve: () => Float32Array, kind: 'values' | 'entries'): () => IterableIterator<number | [number, number]> {
  return function* iterate() {
    const n = resolve().length;
    for (let i = 0; i < n; i++) {
      const v = resolve()[i];
      yield kind === 'values' ? v : [i, v];
    }
  } as () => IterableIterator<number | [number, number]>;
}

/** A Float32Array-like handle whose every access goes through `resolve()` (see above). */
export function liveF32(resolve: () => Float32Array): Float32Array {
  const target = new Float32Array(0);
  return new Proxy(target, {
    get(_t, key) {
      if (key === LIVE) return resolve;
      if (key === 'constructor') return Float32Array;
      const view = resolve();
      if (isIndex(key)) return (view as unknown as Record<string, number>)[key as string];
      switch (key) {
        // a sub-range stays live: the same range of whatever the view is at each access
        case 'subarray': return (begin?: number, end?: number) => liveF32(() => resolve().subarray(begin, end));
        case 'values': case Symbol.iterator: return liveIterator(resolve, 'values');
        case 'entries': return liveIterator(resolve, 'entries');
        // the bytes, as a snapshot: the wasm memory's own buffer must not leak out as a raw view
        case 'buffer': return view.slice().buffer;
        case 'byteOffset': return 0;
      }
      const value = Reflect.get(view, key, view);
      if (typeof value !== 'function') return value;
      // a method re-derives the view when it is called, not when it was looked up
      return (...args: unknown[]) => {
        const v = resolve();
        return Reflect.apply(Reflect.get(v, key, v) as (...a: unknown[]) => unknown, v, args);
      };
    },
    set(_t, key, value) {
      if (!isIndex(key)) throw new InputError(`a parameter view holds numbers at integer indices; cannot set ${String(key)}`);
      (resolve() as unknown as Record<string, number>)[key as string] = value;
      return true;
    },
    has(_t, key) { return Reflect.has(resolve(), key); },
    ownKeys() { return Reflect.ownKeys(resolve()); },
    getOwnPropertyDescriptor(_t, key) {
      const d = Reflect.getOwnPropertyDescriptor(resolve(), key);
      if (d) d.configurable = true; // the proxy's target has no such property, so it must be configurable
      return d;
    },
    defineProperty() { return false; },
    deleteProperty() { return false; },
  });
}

/** True for a view made by liveF32. */
export function isLiveView(x: unknown): boolean {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[LIVE] !== undefined;
}

/** True when the typed array's length can change under it (a resizable or growable buffer). */
function canResize(x: ArrayBufferView): boolean {
  const b = x.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  return b.resizable === true || b.growable === true;
}

/**
 * A genuine Float32Array of fixed length with the same values: `x` itself when it is a plain array
 * over JS memory; a copy when it is a live view, a view of the wasm memory (which the next growth
 * would detach), or a view of a resizable buffer (whose length can change after it was checked).
 */
export function ownedF32(x: Float32Array, wasmBuffer?: ArrayBufferLike): Float32Array {
  if (isLiveView(x)) return Float32Array.from(x);
  if ((wasmBuffer !== undefined && x.buffer === wasmBuffer) || canResize(x)) return x.slice();
  return x;
}
