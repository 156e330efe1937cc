// Shared helpers for the kernel specs (imported by every *.spec.ts; not a spec itself).
//
// - A deterministic xorshift32 PRNG (Marsaglia, "Xorshift RNGs", 2003), so every failure
//   reproduces: each test calls seed() with its own constant.
// - Buffers from heap.alloc, 16-byte aligned (optionally misaligned on purpose), with guard zones
//   of a known byte pattern right before and right after the requested size, so a kernel that
//   writes one element too many (or reads past its input into our check) is caught.
// - Tolerance checks that report how many elements fail and the first one, with values.

// ---------------------------------------------------------------------------------------------
// PRNG

let rngState: u32 = 0x2545f491;

export function seed(s: u32): void {
  rngState = s != 0 ? s : 0x2545f491;
}

export function nextU32(): u32 {
  let x = rngState;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  rngState = x;
  return x;
}

/** Uniform f32 in [lo, hi). */
export function uniform(lo: f32, hi: f32): f32 {
  const u = <f32>(nextU32() >> 8) * (<f32>1.0 / <f32>16777216.0);
  return lo + (hi - lo) * u;
}

/** Uniform integer in [0, n). */
export function randInt(n: i32): i32 {
  return <i32>(nextU32() % <u32>n);
}

// ---------------------------------------------------------------------------------------------
// Buffers with guard zones

export const GUARD_BYTES: usize = 64;
export const GUARD_WORD: u32 = 0xa5a5a5a5; // as f32: -2.9e-16, a finite value nothing writes by chance

// one record per live buffer: raw pointer, user pointer, user size in bytes
const liveRaw = new Array<usize>();
const livePtr = new Array<usize>();
const liveBytes = new Array<usize>();

/**
 * Allocates `bytes` bytes at a 16-byte aligned address plus `misalign` bytes (0 for aligned),
 * with GUARD_BYTES of GUARD_WORD right before and right after. Contents are filled with the
 * guard pattern too (callers fill what they use).
 */
export function allocBytes(bytes: usize, misalign: usize = 0): usize {
  const raw = heap.alloc(bytes + 2 * GUARD_BYTES + 32);
  const ptr = ((raw + GUARD_BYTES + 15) & ~<usize>15) + misalign;
  for (let p = ptr - GUARD_BYTES; p < ptr + bytes + GUARD_BYTES; p += 4) store<u32>(p, GUARD_WORD);
  liveRaw.push(raw);
  livePtr.push(ptr);
  liveBytes.push(bytes);
  return ptr;
}

/** n f32 elements; see allocBytes. */
export function allocF32(n: i32, misalign: usize = 0): usize {
  return allocBytes(<usize>n << 2, misalign);
}

/** Number of guard words (before or after any live buffer) that were overwritten. */
export function brokenGuards(): i32 {
  let bad = 0;
  for (let b = 0; b < livePtr.length; b++) {
    const ptr = livePtr[b];
    const end = ptr + liveBytes[b];
    for (let p = ptr - GUARD_BYTES; p < ptr; p += 4) if (load<u32>(p) != GUARD_WORD) bad++;
    for (let p = end; p < end + GUARD_BYTES; p += 4) if (load<u32>(p) != GUARD_WORD) bad++;
  }
  return bad;
}

/** Asserts that no kernel wrote outside any live buffer, then frees all of them. */
export function checkGuardsAndFree(what: string): void {
  const bad = brokenGuards();
  for (let b = 0; b < liveRaw.length; b++) heap.free(liveRaw[b]);
  liveRaw.length = 0;
  livePtr.length = 0;
  liveBytes.length = 0;
  expect<i32>(bad).toBe(0, what + ": guard words around the buffers were overwritten");
}

// ---------------------------------------------------------------------------------------------
// Filling and reading

export function getF32(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

export function setF32(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

export function fillUniform(p: usize, n: i32, lo: f32, hi: f32): void {
  for (let i = 0; i < n; i++) setF32(p, i, uniform(lo, hi));
}

export function fillValue(p: usize, n: i32, v: f32): void {
  for (let i = 0; i < n; i++) setF32(p, i, v);
}

/** Copies n f32 into a fresh f64 array (a snapshot for later comparisons). */
export function snapshot(p: usize, n: i32): StaticArray<f64> {
  const out = new StaticArray<f64>(n);
  for (let i = 0; i < n; i++) out[i] = <f64>getF32(p, i);
  return out;
}

/** Copies n raw 32-bit words (bit patterns, so NaN payloads and -0 compare exactly). */
export function snapshotBits(p: usize, n: i32): StaticArray<u32> {
  const out = new StaticArray<u32>(n);
  for (let i = 0; i < n; i++) out[i] = load<u32>(p + (<usize>i << 2));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks

/**
 * Asserts |got[i] - want[i]| <= tol[i] for every i (a NaN anywhere fails), reporting the count
 * of failures and the first one.
 */
export function expectClose(what: string, got: usize, want: StaticArray<f64>, tol: StaticArray<f64>): void {
  const n = want.length;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const g = <f64>getF32(got, i);
    if (!(Math.abs(g - want[i]) <= tol[i])) {
      if (bad == 0) first = i;
      bad++;
    }
  }
  let msg = "";
  if (bad != 0) {
    msg = what + ": " + bad.toString() + " of " + n.toString() + " elements out of tolerance; first at ["
      + first.toString() + "]: got " + (<f64>getF32(got, first)).toString() + ", want "
      + want[first].toString() + ", tol " + tol[first].toString();
  }
  expect<i32>(bad).toBe(0, msg);
}

/** Same as expectClose with one tolerance for all elements. */
export function expectCloseUniform(what: string, got: usize, want: StaticArray<f64>, tol: f64): void {
  const t = new StaticArray<f64>(want.length);
  for (let i = 0; i < want.length; i++) t[i] = tol;
  expectClose(what, got, want, t);
}

/** Asserts bit-for-bit equality of n 32-bit words at got with `want`. */
export function expectBits(what: string, got: usize, want: StaticArray<u32>): void {
  const n = want.length;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (load<u32>(got + (<usize>i << 2)) != want[i]) {
      if (bad == 0) first = i;
      bad++;
    }
  }
  let msg = "";
  if (bad != 0) {
    msg = what + ": " + bad.toString() + " of " + n.toString() + " words differ; first at ["
      + first.toString() + "]: got " + (<f64>getF32(got, first)).toString() + " (0x"
      + load<u32>(got + (<usize>first << 2)).toString(16) + "), want "
      + (<f64>reinterpret<f32>(want[first])).toString() + " (0x" + want[first].toString(16) + ")";
  }
  expect<i32>(bad).toBe(0, msg);
}

/** Asserts |got - want| <= tol for a scalar. */
export function expectScalar(what: string, got: f64, want: f64, tol: f64): void {
  const ok = Math.abs(got - want) <= tol;
  let msg = "";
  if (!ok) msg = what + ": got " + got.toString() + ", want " + want.toString() + ", tol " + tol.toString();
  expect<bool>(ok).toBe(true, msg);
}

/**
 * Watching memory from address 0, for kernels given a null output pointer ("no gradient"):
 * saveLowMemory copies the first `bytes` bytes into `buf` (a raw copy, no allocation, so the
 * test runtime's own bookkeeping cannot change anything between save and compare), and
 * lowMemoryChanges counts the 32-bit words that differ now.
 */
export function saveLowMemory(buf: usize, bytes: usize): void {
  memory.copy(buf, 0, bytes);
}

export function lowMemoryChanges(buf: usize, bytes: usize): i32 {
  let bad = 0;
  for (let p: usize = 0; p < bytes; p += 4) if (load<u32>(p) != load<u32>(buf + p)) bad++;
  return bad;
}

/** Asserts the f32 values at p are all finite. */
export function expectAllFinite(what: string, p: usize, n: i32): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (!isFinite<f32>(getF32(p, i))) {
      if (bad == 0) first = i;
      bad++;
    }
  }
  let msg = "";
  if (bad != 0) msg = what + ": " + bad.toString() + " non-finite values; first at [" + first.toString() + "]: " + (<f64>getF32(p, first)).toString();
  expect<i32>(bad).toBe(0, msg);
}

/** Sizes with SIMD tails of every remainder mod 4 (and mod 16), plus a large one. */
export const ODD_SIZES: StaticArray<i32> = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 33, 63, 1023, 65539];
