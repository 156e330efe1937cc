// Views of wasm memory that cannot go stale. A plain Float32Array over the wasm memory is
// detached when the memory grows (it then has length 0: reads give undefined, writes vanish), and
// after its owner is disposed it still writes into memory that now belongs to someone else. A
// live view is a Proxy that looks like a Float32Array (indexing, length, methods, iteration,
// instanceof) but re-derives the real view on every access through `resolve`, which also checks
// that the owner is alive (and throws a StateError when it is not).

/** True for property keys that index a typed array ("0", "17"; not "length" or symbols). */
function isIndex(key: string | symbol): boolean {
  if (typeof key !== 'string' || key.length === 0) return false;
  const c = key.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c === 45 && key.length > 1); // a digit, or '-' (a negative index: undefined)
}

const LIVE = Symbol('simdnet.liveView');

/** A Float32Array-like handle whose every access goes through `resolve()` (see above). */
export function liveF32(resolve: () => Float32Array): Float32Array {
  const target = new Float32Array(0);
  return new Proxy(target, {
    get(_t, key) {
      if (key === LIVE) return resolve;
      const view = resolve();
      if (isIndex(key)) return (view as unknown as Record<string, number>)[key as string];
      // subarray stays live: a sub-range of whatever the view is at each access
      if (key === 'subarray') return (begin?: number, end?: number) => liveF32(() => resolve().subarray(begin, end));
      const value = Reflect.get(view, key, view);
      return typeof value === 'function' ? value.bind(view) : value;
    },
    set(_t, key, value) {
      if (!isIndex(key)) return false;
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

/**
 * A genuine Float32Array with the same values: `x` itself when it is a plain array over JS memory,
 * a copy when it is a live view or a view of the wasm memory (which the next growth would detach).
 */
export function ownedF32(x: Float32Array, wasmBuffer?: ArrayBufferLike): Float32Array {
  if (isLiveView(x)) return Float32Array.from(x);
  if (wasmBuffer !== undefined && x.buffer === wasmBuffer) return x.slice();
  return x;
}
