// SGEMM: C (+)= op(A) . op(B), row-major f32, where op(X) is X or X^T.
//
// The layout follows BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality", 2015): loop over NC-wide column blocks of B, KC-deep slices of K, and
// MC-tall row blocks of A; pack the B block into KC x NR micro-panels and the A block into
// MR x KC micro-panels so the microkernel reads both contiguously; transposition is absorbed by
// the packing routines, so NN, NT and TN share one microkernel.
//
// Microkernel: MR x NR = 5 x 8 (plain SIMD build) or 6 x 8 (relaxed-SIMD build, where
// f32x4.relaxed_madd fuses the multiply-add); see micro_tile for why the heights differ.

export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 120;   // 20 or 24 micro-panels of A: 120 x 256 x 4 B = 120 KiB, lives in L2
const NC: i32 = 1024;  // B block 256 x 1024 x 4 B = 1 MiB, lives in L2/L3

const PACK_A_BYTES: usize = <usize>(MC * KC) << 2;
const PACK_B_BYTES: usize = <usize>(KC * NC) << 2;
const TILE_BYTES: usize = <usize>(MR * NR) << 2;

/** Bytes of scratch the caller must pass to every gemm call (packed panels + one edge tile). */
export function gemm_f32_scratch_bytes(): i32 {
  return <i32>(PACK_A_BYTES + PACK_B_BYTES + TILE_BYTES);
}

/** c: (M, N) (+)= a: (M, K) . b: (K, N). accumulate: 0 overwrite C, 1 add to C. */
export function gemm_f32_nn(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, scratch: usize): void {
  gemm(M, N, K, a, K, false, b, N, false, c, N, accumulate != 0, scratch);
}

/** c: (M, N) (+)= a: (M, K) . b^T, b: (N, K). The Linear forward x . W^T. */
export function gemm_f32_nt(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, scratch: usize): void {
  gemm(M, N, K, a, K, false, b, K, true, c, N, accumulate != 0, scratch);
}

/** c: (M, N) (+)= a^T . b, a: (K, M), b: (K, N). The weight gradient dY^T . X. */
export function gemm_f32_tn(M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, scratch: usize): void {
  gemm(M, N, K, a, M, true, b, N, false, c, N, accumulate != 0, scratch);
}

/**
 * The general form the three above are cases of, with leading dimensions (in elements):
 * c: (M, N) rows ldc apart (+)= op(a) . op(b); op(a)(i, k) = transA ? a[k*lda + i] : a[i*lda + k],
 * op(b)(k, j) = transB ? b[j*ldb + k] : b[k*ldb + j]. The thread pool (bindings/runtime/threads.ts)
 * hands each worker a block of C's rows or columns this way. Each element of C is summed in the
 * same order whatever block it falls in, so a split changes no bit of the result.
 */
export function gemm_f32_strided(M: i32, N: i32, K: i32, a: usize, lda: i32, transA: i32, b: usize, ldb: i32, transB: i32,
  c: usize, ldc: i32, accumulate: i32, scratch: usize): void {
  gemm(M, N, K, a, lda, transA != 0, b, ldb, transB != 0, c, ldc, accumulate != 0, scratch);
}

/** Plain triple loop with the same contract as the fast kernels: the test oracle. */
export function gemm_f32_ref(M: i32, N: i32, K: i32, a: usize, transA: i32, b: usize, transB: i32, c: usize, accumulate: i32): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) {
        const av = load<f32>(a + ((transA ? <usize>k * <usize>M + <usize>i : <usize>i * <usize>K + <usize>k) << 2));
        const bv = load<f32>(b + ((transB ? <usize>j * <usize>K + <usize>k : <usize>k * <usize>N + <usize>j) << 2));
        s += av * bv;
      }
      const cp = c + ((<usize>i * <usize>N + <usize>j) << 2);
      store<f32>(cp, accumulate ? load<f32>(cp) + s : s);
    }
  }
}

function gemm(M: i32, N: i32, K: i32, a: usize, lda: i32, transA: bool, b: usize, ldb: i32, transB: bool,
  c: usize, ldc: i32, accumulate: bool, scratch: usize): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { // C = 0 (or unchanged when accumulating), as BLAS does for an empty sum
    if (!accumulate) {
      for (let i = 0; i < M; i++) memory.fill(c + ((<usize>i * <usize>ldc) << 2), 0, <usize>N << 2);
    }
    return;
  }
  const packA = scratch;
  const packB = scratch + PACK_A_BYTES;
  const tile = packB + PACK_B_BYTES;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = accumulate || pc > 0;
      pack_b(b, ldb, transB, pc, jc, kc, nc, packB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        pack_a(a, lda, transA, ic, pc, mc, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bp = packB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const ap = packA + (<usize>(ir * kc) << 2);
            const cp = c + ((<usize>(ic + ir) * <usize>ldc + <usize>(jc + jr)) << 2);
            micro_tile(kc, ap, bp, cp, <usize>ldc << 2, acc, mr, nr, tile);
          }
        }
      }
    }
  }
}

/**
 * Packs rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into micro-panels: panel p holds rows
 * i0+p*MR .. +MR, stored k-major (MR floats per k), zero-padded past the last row.
 * op(A)(i, k) = transA ? a[k*lda + i] : a[i*lda + k].
 */
function pack_a(a: usize, lda: i32, transA: bool, i0: i32, k0: i32, mc: i32, kc: i32, dst: usize): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = min(MR, mc - ip);
    const panel = dst + (<usize>(ip * kc) << 2);
    if (rows < MR) memory.fill(panel, 0, <usize>(MR * kc) << 2);
    if (transA) {
      // column i of op(A) is contiguous along i in memory: copy MR values per k
      for (let k = 0; k < kc; k++) {
        const src = a + ((<usize>(k0 + k) * <usize>lda + <usize>(i0 + ip)) << 2);
        const out = panel + (<usize>(k * MR) << 2);
        for (let r = 0; r < rows; r++) store<f32>(out + (<usize>r << 2), load<f32>(src + (<usize>r << 2)));
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const src = a + ((<usize>(i0 + ip + r) * <usize>lda + <usize>k0) << 2);
        const out = panel + (<usize>r << 2);
        for (let k = 0; k < kc; k++) store<f32>(out + (<usize>(k * MR) << 2), load<f32>(src + (<usize>k << 2)));
      }
    }
  }
}

/**
 * Packs rows [k0, k0+kc) x cols [j0, j0+nc) of op(B) into micro-panels of NR columns, stored
 * k-major (NR floats per k), zero-padded past the last column.
 * op(B)(k, j) = transB ? b[j*ldb + k] : b[k*ldb + j].
 */
function pack_b(b: usize, ldb: i32, transB: bool, k0: i32, j0: i32, kc: i32, nc: i32, dst: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    const panel = dst + (<usize>(jp * kc) << 2);
    if (!transB) {
      if (cols == NR) {
        for (let k = 0; k < kc; k++) {
          const src = b + ((<usize>(k0 + k) * <usize>ldb + <usize>(j0 + jp)) << 2);
          const out = panel + (<usize>(k * NR) << 2);
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        }
      } else {
        memory.fill(panel, 0, <usize>(NR * kc) << 2);
        for (let k = 0; k < kc; k++) {
          const src = b + ((<usize>(k0 + k) * <usize>ldb + <usize>(j0 + jp)) << 2);
          const out = panel + (<usize>(k * NR) << 2);
          for (let j = 0; j < cols; j++) store<f32>(out + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
        }
      }
    } else {
      // op(B) = b^T: row j of b is column j of op(B). Full panels go through 4x4 SIMD transposes.
      const rowBytes = <usize>ldb << 2;
      const base = b + ((<usize>(j0 + jp) * <usize>ldb + <usize>k0) << 2);
      let k = 0;
      if (cols == NR) {
        for (; k + 4 <= kc; k += 4) {
          const src = base + (<usize>k << 2);
          const out = panel + (<usize>(k * NR) << 2);
          transpose4_store(src, rowBytes, out);           // columns 0..3
          transpose4_store(src + 4 * rowBytes, rowBytes, out + 16); // columns 4..7
        }
      } else {
        memory.fill(panel, 0, <usize>(NR * kc) << 2);
      }
      for (; k < kc; k++) {
        const out = panel + (<usize>(k * NR) << 2);
        for (let j = 0; j < cols; j++) store<f32>(out + (<usize>j << 2), load<f32>(base + <usize>j * rowBytes + (<usize>k << 2)));
      }
    }
  }
}

/** Reads a 4x4 block (4 rows of 4 floats, rowBytes apart) and stores its transpose as 4 rows
 *  of 4 floats, NR floats apart (one k-row of a B micro-panel each). */
// @ts-ignore: decorator
@inline function transpose4_store(src: usize, rowBytes: usize, out: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + rowBytes);
  const r2 = v128.load(src + 2 * rowBytes), r3 = v128.load(src + 3 * rowBytes);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5); // c0 d0 c1 d1
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7); // a2 b2 a3 b3
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7); // c2 d2 c3 d3
  v128.store(out, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));          // k+0
  v128.store(out, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), NR * 4);  // k+1
  v128.store(out, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), NR * 8);  // k+2
  v128.store(out, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), NR * 12); // k+3
}

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * The MR x 8 register tile: C[0..mr, 0..nr] (+)= Apanel (kc x MR) . Bpanel (kc x 8).
 * ap: MR floats per k; bp: NR floats per k; c: top-left of the C tile, ldcBytes apart.
 * Partial tiles (mr < MR or nr < 8) go through `tile` and copy only the valid part.
 *
 * Why MR depends on the build: V8 keeps xmm15 as its scratch register, leaving 15 for wasm.
 * With fused multiply-add (relaxed build) a 6x8 tile needs 12 accumulators + 2 B vectors + 1
 * broadcast = 15. A separate mul then add needs one more register for the product, and 16 makes
 * TurboFan spill an accumulator to the stack on every k step (seen in --print-wasm-code), so the
 * plain build uses 5 rows: 10 + 2 + 1 + 1 = 14. The sixth row below exists only when MR == 6.
 * Not inlined, on purpose: as its own small hot function it is tiered up by V8 after one call.
 */
function micro_tile(kc: i32, ap: usize, bp: usize, c: usize, ldcBytes: usize, accumulate: bool,
  mr: i32, nr: i32, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    a = v128.load32_splat(ap, 16);
    c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
    if (MR == 6) {
      a = v128.load32_splat(ap, 20);
      c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
    }
    ap += MR * 4; bp += NR * 4;
  }
  if (mr == MR && nr == NR) {
    store_row(c, c00, c01, accumulate); c += ldcBytes;
    store_row(c, c10, c11, accumulate); c += ldcBytes;
    store_row(c, c20, c21, accumulate); c += ldcBytes;
    store_row(c, c30, c31, accumulate); c += ldcBytes;
    store_row(c, c40, c41, accumulate);
    if (MR == 6) store_row(c + ldcBytes, c50, c51, accumulate);
    return;
  }
  store_row(tile, c00, c01, false); store_row(tile + 32, c10, c11, false);
  store_row(tile + 64, c20, c21, false); store_row(tile + 96, c30, c31, false);
  store_row(tile + 128, c40, c41, false);
  if (MR == 6) store_row(tile + 160, c50, c51, false);
  for (let i = 0; i < mr; i++) {
    const row = c + <usize>i * ldcBytes;
    const trow = tile + (<usize>(i * NR) << 2);
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      const v = load<f32>(trow + o);
      store<f32>(row + o, accumulate ? load<f32>(row + o) + v : v);
    }
  }
}

// @ts-ignore: decorator
@inline function store_row(p: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, v128.load(p));
    hi = f32x4.add(hi, v128.load(p, 16));
  }
  v128.store(p, lo);
  v128.store(p, hi, 16);
}
