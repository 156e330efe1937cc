// This machine's wasm SIMD peak, per core: register-only loops, no memory traffic.
//
// The module is written here byte by byte (it is a dozen instructions) so the loop is exactly
// what is measured: 12 independent f32x4 chains acc = acc * a + b (as mul then add for
// peak_muladd, as f32x4.relaxed_madd for peak_fma), the body unrolled 4 times. 12 chains hide the
// latency of the multiply and the add (or the fused one) on every x86 core seen so far, and with
// a, b and the 12 accumulators they fit in the 15 xmm registers V8 leaves to wasm. a = 0.5 and
// b = 1 keep every value near 2: no subnormals, which would measure the slow path instead.

const CHAINS = 12;
const UNROLL = 4;
/** Floating-point operations per loop iteration (a multiply-add counts 2, per lane). */
const FLOPS_PER_ITERATION = CHAINS * UNROLL * 4 * 2;

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const f32 = (x: number): number[] => [...new Uint8Array(new Float32Array([x]).buffer)];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const SIMD = 0xfd;
const op = (code: number): number[] => [SIMD, ...leb(code)];
const F32X4_SPLAT = op(0x13), F32X4_EXTRACT = op(0x1f), F32X4_ADD = op(0xe4), F32X4_MUL = op(0xe6), RELAXED_MADD = op(0x105);
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;

/** The module exporting peak(iterations: i32) -> f32 (a sum of the accumulators, so nothing is dead). */
function peakModule(fused: boolean): Uint8Array<ArrayBuffer> {
  // locals: 0 = iterations (param), 1..12 = accumulators, 13 = a, 14 = b
  const A = CHAINS + 1, B = CHAINS + 2;
  const code: number[] = [];
  for (let i = 0; i < CHAINS; i++) code.push(0x43, ...f32(1 + i / 64), ...F32X4_SPLAT, LOCAL_SET, 1 + i);
  code.push(0x43, ...f32(0.5), ...F32X4_SPLAT, LOCAL_SET, A, 0x43, ...f32(1), ...F32X4_SPLAT, LOCAL_SET, B);
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 0; i < CHAINS; i++) {
      code.push(LOCAL_GET, 1 + i, LOCAL_GET, A);
      if (fused) code.push(LOCAL_GET, B, ...RELAXED_MADD);
      else code.push(...F32X4_MUL, LOCAL_GET, B, ...F32X4_ADD);
      code.push(LOCAL_SET, 1 + i);
    }
  }
  // iterations -= 1; continue while nonzero
  code.push(LOCAL_GET, 0, 0x41, 1, 0x6b, LOCAL_TEE, 0, 0x0d, 0, 0x0b, 0x0b); // i32.const 1, i32.sub, br_if 0, end, end
  code.push(LOCAL_GET, 1, ...F32X4_EXTRACT, 0);
  for (let i = 1; i < CHAINS; i++) code.push(LOCAL_GET, 1 + i, ...F32X4_EXTRACT, 0, 0x92); // f32.add
  code.push(0x0b);
  const body = [1, CHAINS + 2, 0x7b, ...code]; // one local group: 14 v128
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, 4, ...[...'peak'].map((c) => c.charCodeAt(0)), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

/**
 * GFLOP/s of the register-only loop on this thread: the best of `repeats` timings of about
 * 0.1 s each (the best, not the median: this is a ceiling). null when the runtime has no relaxed SIMD (fused).
 */
export function peakGflops(fused: boolean, repeats = 7): number | null {
  const bytes = peakModule(fused);
  if (!WebAssembly.validate(bytes)) return null;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
  let iterations = 1 << 16;
  peak(iterations); // tier up
  for (;;) {
    const t0 = performance.now();
    peak(iterations);
    if (performance.now() - t0 > 50 || iterations > 1 << 28) break;
    iterations *= 2;
  }
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const sum = peak(iterations);
    const seconds = (performance.now() - t0) / 1000;
    if (!Number.isFinite(sum)) throw new Error('the peak loop diverged');
    best = Math.min(best, seconds);
  }
  return (iterations * FLOPS_PER_ITERATION) / best / 1e9;
}
