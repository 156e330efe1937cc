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

// The intrinsic accessors of typed arrays. A caller's typed array may carry own properties that
// lie (a `length` getter, a `constructor` whose species makes `subarray` return another array), or
// be a subclass that overrides them; these read the internal slots, which cannot lie.
const TYPED_ARRAY = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, name)!.get!;
const taBuffer = intrinsic('buffer'), taByteOffset = intrinsic('byteOffset'), taLength = intrinsic('length');

/** The internal buffer, offset and element count of any typed array, or null for anything else. */
export function typedArrayParts(x: unknown): { buffer: ArrayBufferLike; byteOffset: number; length: number } | null {
  try {
    return { buffer: taBuffer.call(x), byteOffset: taByteOffset.call(x), length: taLength.call(x) };
  } catch {
    return null; // not a typed array: a proxy, a fake with the prototype of one, a plain object
  }
}

/** True when a buffer's length can change after it was checked (resizable or growable). */
export function canResize(buffer: ArrayBufferLike): boolean {
  const b = buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  return b.resizable === true || b.growable === true;
}

/**
 * A Float32Array of the same values that only the library holds: a fresh view over the caller's
 * memory (the caller's array may lie about its length or its species, the fresh view cannot, and
 * nobody else can reach it to make it lie), or a copy when the values are a live view, lie in the
 * wasm memory (whose next growth would detach them) or on a resizable buffer. Null when `x` is not
 * a Float32Array at all.
 */
export function privateF32(x: unknown, wasmBuffer?: ArrayBufferLike): Float32Array | null {
  if (isLiveView(x)) return Float32Array.from(x as Float32Array);
  if (!(x instanceof Float32Array)) return null;
  const parts = typedArrayParts(x);
  if (!parts) return null;
  let view: Float32Array;
  try {
    view = new Float32Array(parts.buffer, parts.byteOffset, parts.length);
  } catch {
    return new Float32Array(0);   // a detached buffer holds no values: callers find the length wrong
  }
  if ((wasmBuffer !== undefined && parts.buffer === wasmBuffer) || canResize(parts.buffer)) {
    const copy = new Float32Array(parts.length);
    copy.set(view);
    return copy;
  }
  return view;
}

/**
 * A fresh Uint8Array over the same bytes as `x` (a Uint8Array, another typed array, a DataView's
 * bytes, or an ArrayBuffer), read through internal slots so that no length can lie; null for
 * anything else. Throws a TypeError for a detached buffer (callers wrap it).
 */
export function privateU8(x: unknown): Uint8Array | null {
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  const parts = typedArrayParts(x);
  if (parts) return new Uint8Array(parts.buffer, parts.byteOffset, parts.length * (x as Uint8Array).BYTES_PER_ELEMENT);
  if (x instanceof DataView) return new Uint8Array(dvBuffer.call(x), dvByteOffset.call(x), dvByteLength.call(x));
  return null;
}

const dataView = (name: string) => Object.getOwnPropertyDescriptor(DataView.prototype, name)!.get!;
const dvBuffer = dataView('buffer'), dvByteOffset = dataView('byteOffset'), dvByteLength = dataView('byteLength');
