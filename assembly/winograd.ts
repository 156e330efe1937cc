// Winograd convolution F(2x2, 5x5) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", CVPR 2016, arXiv:1509.09308): the forward pass of a stride-1, dilation-1 5x5 Conv2d
// (PyTorch semantics, NCHW, zero padding PH/PW) with 36 multiplications per 2x2 output tile
// instead of 100. Each 6x6 input tile d (stride 2 over the output) and each 5x5 filter g give
//   Y (2x2) = A^T [ (G g G^T) . (B^T d B) ] A
// and the sum over input channels of the elementwise products is 36 GEMMs, one per tile position
// k = (i, j) of the 6x6 transform domain:  M_k (OC x T) = U_k (OC x C) . V_k (C x T).
//
// Matrices (points 0, 1, -1, 2, -2, inf; derived and checked exactly by tools/winograd_f2x2_5x5.py):
//   B^T = [ 4  0 -5  0  1  0 ]   G = [ 1/4    0     0     0    0  ]   A^T = [ 1  1  1  1  1  0 ]
//         [ 0  4  4 -1 -1  0 ]       [ 1/6   1/6   1/6   1/6  1/6 ]         [ 0  1 -1  2 -2  1 ]
//         [ 0 -4  4  1 -1  0 ]       [ 1/6  -1/6   1/6  -1/6  1/6 ]
//         [ 0 -2 -1  2  1  0 ]       [ 1/24  1/12  1/6   1/3  2/3 ]
//         [ 0  2 -1 -2  1  0 ]       [ 1/24 -1/12  1/6  -1/3  2/3 ]
//         [ 0  4  0 -5  0  1 ]       [ 0     0     0     0    1   ]
//
// Data flow per call: U = G g G^T for every (oc, c) once (f64, rounded to f32), laid out as 36
// matrices [OC x C]. The N*TH tile rows (TH = ceil(OH/2) tile rows per sample, TW = ceil(OW/2)
// tiles each) are processed in chunks of R rows so V and M stay about CHUNK_FLOATS floats whatever
// the batch: per chunk, the input transform writes V as 36 matrices [C x T] (T = tiles in the
// chunk), 36 calls of gemm_f32_nn give M, and the output transform writes Y = A^T m A (+ bias),
// cropped at odd edges, straight into y. Both transforms run 4 adjacent tiles of a tile row per
// f32x4: the input tile columns 2t + j of 4 tiles are deinterleaved from contiguous loads of a
// zero-padded 6-row strip of the input, and the 2x2 outputs are re-interleaved by shuffles.
//
// Conventions: f32, sizes in elements, pointers in bytes, scratch supplied by the caller
// (winograd5_f32_scratch_floats floats, 16-byte aligned is best but not required).

import { gemm_f32_nn, gemm_f32_scratch_bytes } from "./gemm";

/** Target floats of V + M per chunk (4 MiB; V is C / (C + OC) of it, 1.3 MiB for 32 -> 64). Wider
 *  chunks give the GEMM wider B blocks (T = 49 tiles runs ~35 GFLOP/s, T >= 168 ~45-50); 2^20
 *  measured ~5% faster than 2^19 on 32 -> 64, 14x14, batch 64. */
const CHUNK_FLOATS: i32 = 1 << 20;

// @ts-ignore: decorator
@inline function align4(n: i32): i32 {
  return (n + 3) & ~3;
}

/**
 * Floats of scratch winograd5_f32_fwd needs for these sizes (0 when the output is empty):
 * U 36*OC*C, V 36 blocks of C*T + 4, M 36 blocks of OC*T + 4 (T = tiles per chunk; the + 4 is
 * slack for the last 4-wide group of a tile row), the transform temporaries, the 6-row input strip
 * and the GEMM's packing scratch (gemm_f32_scratch_bytes / 4).
 */
export function winograd5_f32_scratch_floats(N: i32, C: i32, OC: i32, H: i32, W: i32, PH: i32, PW: i32): i32 {
  return winograd5_f32_scratch_floats_rows(N, C, OC, H, W, PH, PW, 0);
}

/**
 * y: (N, OC, OH, OW) f32 <- conv2d(x, w, b), stride 1, dilation 1, padding (PH, PW), 5x5 kernel;
 * written, not accumulated. x: (N, C, H, W) f32; w: (OC, C, 5, 5) f32 (PyTorch layout); b: (OC,) f32
 * or 0 for no bias; OH = H + 2*PH - 4, OW = W + 2*PW - 4 (both >= 1); scratch: at least
 * winograd5_f32_scratch_floats(N, C, OC, H, W, PH, PW) floats. y must not overlap x, w, b or scratch.
 */
export function winograd5_f32_fwd(
  x: usize, N: i32, C: i32, H: i32, W: i32, w: usize, b: usize, OC: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, y: usize, scratch: usize,
): void {
  winograd5_f32_fwd_rows(x, N, C, H, W, w, b, OC, PH, PW, OH, OW, y, scratch, 0);
}

/**
 * Tile rows per chunk: `rows` if > 0 (tests), else as many as fit CHUNK_FLOATS of V + M, rounded
 * down so the chunk's T = rows * TW tiles is a multiple of the GEMM's 8-column panels where that
 * leaves at least half (a last panel of 1 column costs a whole panel); within [1, N*TH].
 */
function chunk_rows(N: i32, C: i32, OC: i32, TH: i32, TW: i32, rows: i32): i32 {
  const total = N * TH;
  let r = rows;
  if (r <= 0) {
    r = CHUNK_FLOATS / (36 * (C + OC) * TW);
    if (r < total) {
      let q = r;
      while (q > 0 && (q * TW) & 7) q--;
      if (2 * q >= r) r = q;
    }
  }
  if (r < 1) r = 1;
  return r < total ? r : total;
}

/** winograd5_f32_scratch_floats with `rows` tile rows per chunk (0: the default); exported for the tests only. */
export function winograd5_f32_scratch_floats_rows(N: i32, C: i32, OC: i32, H: i32, W: i32, PH: i32, PW: i32, rows: i32): i32 {
  const OH = H + 2 * PH - 4, OW = W + 2 * PW - 4;
  if (N <= 0 || C <= 0 || OC <= 0 || OH <= 0 || OW <= 0) return 0;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  const T = chunk_rows(N, C, OC, TH, TW, rows) * TW;
  return align4(36 * OC * C) + 36 * align4(C * T + 4) + 36 * align4(OC * T + 4) + 36 * 4 + 16
    + align4(6 * strip_width(TW)) + (gemm_f32_scratch_bytes() >> 2);
}

/** Floats per strip row: 2*TW4 + 4 covers every column a 4-tile group reads (TW4 = TW rounded up to 4). */
// @ts-ignore: decorator
@inline function strip_width(TW: i32): i32 {
  return 2 * align4(TW) + 4;
}

/** winograd5_f32_fwd with `rows` tile rows per chunk (0: the default); exported for the tests only. */
export function winograd5_f32_fwd_rows(
  x: usize, N: i32, C: i32, H: i32, W: i32, w: usize, b: usize, OC: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, y: usize, scratch: usize, rows: i32,
): void {
  if (N <= 0 || C <= 0 || OC <= 0 || OH <= 0 || OW <= 0) return;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1;
  const R = chunk_rows(N, C, OC, TH, TW, rows);
  const vBlock = align4(C * R * TW + 4), mBlock = align4(OC * R * TW + 4);
  const U = scratch;
  const V = U + (<usize>align4(36 * OC * C) << 2);
  const M = V + (<usize>(36 * vBlock) << 2);
  const tmp = M + (<usize>(36 * mBlock) << 2);      // 36 v128: the row pass of the input transform; 66 f64 of filter_transform
  const otmp = tmp + 36 * 16;                       // 2 x 8 floats: a partial group of outputs
  const strip = otmp + 64;                          // 6 x strip_width(TW) floats
  const gs = strip + (<usize>align4(6 * strip_width(TW)) << 2);
  filter_transform(w, OC, C, U, tmp);
  const total = N * TH;
  for (let r0 = 0; r0 < total; r0 += R) {
    const nr = min(R, total - r0);
    const T = nr * TW;
    input_transform(x, C, H, W, PH, PW, TH, TW, r0, nr, T, V, vBlock, strip, tmp);
    for (let k = 0; k < 36; k++) {
      gemm_f32_nn(OC, T, C, U + (<usize>(k * OC * C) << 2), V + (<usize>(k * vBlock) << 2),
        M + (<usize>(k * mBlock) << 2), 0, gs);
    }
    output_transform(M, mBlock, OC, T, TH, TW, r0, nr, OH, OW, b, y, otmp);
  }
}

/** G (v0..v4): its 6 values stored at out + a*stride (f64). */
// @ts-ignore: decorator
@inline function g_store(v0: f64, v1: f64, v2: f64, v3: f64, v4: f64, out: usize, stride: usize): void {
  const e = v0 + v2 + v4, o = v1 + v3;                                   // even and odd taps
  const e4 = v0 * (1.0 / 24.0) + v2 * (1.0 / 6.0) + v4 * (2.0 / 3.0), o4 = v1 * (1.0 / 12.0) + v3 * (1.0 / 3.0);
  store<f64>(out, v0 * 0.25);
  store<f64>(out + stride, (e + o) * (1.0 / 6.0));
  store<f64>(out + 2 * stride, (e - o) * (1.0 / 6.0));
  store<f64>(out + 3 * stride, e4 + o4);
  store<f64>(out + 4 * stride, e4 - o4);
  store<f64>(out + 5 * stride, v4);
}

/** U: 36 x (OC, C) f32 <- G g G^T of every filter g = w[oc, c] (5x5), in f64. tmp: 66 f64. */
function filter_transform(w: usize, OC: i32, C: i32, U: usize, tmp: usize): void {
  const plane = <usize>(OC * C) << 2;
  const t2 = tmp + 240;
  for (let oc = 0; oc < OC; oc++) {
    for (let c = 0; c < C; c++) {
      const g = w + (<usize>((oc * C + c) * 25) << 2);
      // tmp[a][q] = (G g)[a][q]: G applied to column q of g
      for (let q = 0; q < 5; q++) {
        const p = g + (<usize>q << 2);
        g_store(<f64>load<f32>(p), <f64>load<f32>(p, 20), <f64>load<f32>(p, 40), <f64>load<f32>(p, 60),
          <f64>load<f32>(p, 80), tmp + (<usize>q << 3), 40);
      }
      // t2[a][bb] = G applied to row a of tmp
      for (let a = 0; a < 6; a++) {
        const t = tmp + <usize>a * 40;
        g_store(load<f64>(t), load<f64>(t, 8), load<f64>(t, 16), load<f64>(t, 24), load<f64>(t, 32), t2 + <usize>a * 48, 8);
      }
      const dst = U + (<usize>(oc * C + c) << 2);
      for (let k = 0; k < 36; k++) store<f32>(dst + <usize>k * plane, <f32>load<f64>(t2 + (<usize>k << 3)));
    }
  }
}

/** z = B^T d for 4 tiles at once; z_i stored at out + i*stride. */
// @ts-ignore: decorator
@inline function bt_store(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, out: usize, stride: usize): void {
  const four = f32x4.splat(4), five = f32x4.splat(5);
  const p = f32x4.sub(f32x4.mul(four, d1), d3); // 4 d1 - d3
  const q = f32x4.sub(f32x4.mul(four, d2), d4); // 4 d2 - d4
  const u = f32x4.sub(d4, d2);
  const v = f32x4.sub(d3, d1);
  const v2 = f32x4.add(v, v);
  v128.store(out, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(out + stride, f32x4.add(q, p));
  v128.store(out + 2 * stride, f32x4.sub(q, p));
  v128.store(out + 3 * stride, f32x4.add(u, v2));
  v128.store(out + 4 * stride, f32x4.sub(u, v2));
  v128.store(out + 5 * stride, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/**
 * V: 36 blocks (vBlock floats apart) of (C, T) f32 <- B^T d B for every tile of tile rows
 * [r0, r0 + nr) (global row g = sample g / TH, tile row g % TH) and every channel; tile t of the
 * chunk is (g - r0) * TW + tw. Groups of 4 tiles may run past the end of a tile row: those lanes
 * land on tiles written later (the next tile row or channel) or in the block's 4-float slack.
 */
function input_transform(
  x: usize, C: i32, H: i32, W: i32, PH: i32, PW: i32, TH: i32, TW: i32, r0: i32, nr: i32, T: i32,
  V: usize, vBlock: i32, strip: usize, tmp: usize,
): void {
  const SW = strip_width(TW);
  const swBytes = <usize>SW << 2;
  const kStride = <usize>vBlock << 2;
  const jStride = kStride * 6; // from block (i, j) to block (i + 1, j)
  const planeFloats = H * W;
  // strip columns [PW, PW + W) hold input columns [0, W); the rest stays zero
  for (let c = 0; c < C; c++) {
    for (let rr = 0; rr < nr; rr++) {
      const g = r0 + rr;
      const s = g / TH, th = g - s * TH;
      const plane = x + (<usize>(s * C + c) * <usize>planeFloats << 2);
      for (let i = 0; i < 6; i++) {
        const row = strip + <usize>i * swBytes;
        const ih = 2 * th - PH + i;
        if (<u32>ih >= <u32>H) {
          zero(row, SW);
        } else {
          zero(row, PW);
          copy(row + (<usize>PW << 2), plane + (<usize>(ih * W) << 2), W);
          zero(row + (<usize>(PW + W) << 2), SW - PW - W);
        }
      }
      const out0 = V + (<usize>(c * T + rr * TW) << 2);
      for (let tw = 0; tw < TW; tw += 4) {
        // row pass: tmp[i][j] = (B^T applied along the row i of the 4 tiles)[j]
        for (let i = 0; i < 6; i++) {
          const p = strip + <usize>i * swBytes + (<usize>tw << 3);
          const a0 = v128.load(p), a1 = v128.load(p, 16), b0 = v128.load(p, 8), b1 = v128.load(p, 24);
          const c1 = v128.load(p, 32);
          bt_store(
            v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v128.shuffle<f32>(a0, a1, 1, 3, 5, 7),
            v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7),
            v128.shuffle<f32>(a1, c1, 0, 2, 4, 6), v128.shuffle<f32>(a1, c1, 1, 3, 5, 7),
            tmp + <usize>i * 96, 16);
        }
        // column pass: V[(i, j)] = (B^T applied to column j of tmp)[i]
        const out = out0 + (<usize>tw << 2);
        for (let j = 0; j < 6; j++) {
          const t = tmp + (<usize>j << 4);
          bt_store(v128.load(t), v128.load(t, 96), v128.load(t, 192), v128.load(t, 288), v128.load(t, 384),
            v128.load(t, 480), out + <usize>j * kStride, jStride);
        }
      }
    }
  }
}

/** First row of A^T: v0 + v1 + v2 + v3 + v4. */
// @ts-ignore: decorator
@inline function at0(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128): v128 {
  return f32x4.add(f32x4.add(v0, f32x4.add(v1, v2)), f32x4.add(v3, v4));
}

/** Second row of A^T: (v1 - v2) + 2 (v3 - v4) + v5. */
// @ts-ignore: decorator
@inline function at1(v1: v128, v2: v128, v3: v128, v4: v128, v5: v128): v128 {
  const d = f32x4.sub(v3, v4);
  return f32x4.add(f32x4.add(f32x4.sub(v1, v2), f32x4.add(d, d)), v5);
}

/**
 * y rows 2*th, 2*th + 1 of every (sample, oc) plane touched by tile rows [r0, r0 + nr) <- A^T m A
 * + b[oc], m read from M: 36 blocks (mBlock floats apart) of (OC, T). Columns and rows past
 * OW / OH (odd sizes) are dropped; a group of 4 tiles that does not fit in the row goes through otmp.
 */
function output_transform(
  M: usize, mBlock: i32, OC: i32, T: i32, TH: i32, TW: i32, r0: i32, nr: i32, OH: i32, OW: i32,
  b: usize, y: usize, otmp: usize,
): void {
  const kStride = <usize>mBlock << 2;
  const owBytes = <usize>OW << 2;
  const planeBytes = <usize>(OH * OW) << 2;
  for (let oc = 0; oc < OC; oc++) {
    const bias = f32x4.splat(b ? load<f32>(b + (<usize>oc << 2)) : 0);
    for (let rr = 0; rr < nr; rr++) {
      const g = r0 + rr;
      const s = g / TH, th = g - s * TH;
      const y0 = y + <usize>(s * OC + oc) * planeBytes + <usize>(2 * th) * owBytes;
      const row1 = 2 * th + 1 < OH;
      const src0 = M + (<usize>(oc * T + rr * TW) << 2);
      for (let tw = 0; tw < TW; tw += 4) {
        const src = src0 + (<usize>tw << 2);
        // column pass: t0j, t1j = A^T applied to column j of m
        let p = src;
        let m0 = v128.load(p), m1 = v128.load(p + kStride * 6), m2 = v128.load(p + kStride * 12);
        let m3 = v128.load(p + kStride * 18), m4 = v128.load(p + kStride * 24), m5 = v128.load(p + kStride * 30);
        const t00 = at0(m0, m1, m2, m3, m4), t10 = at1(m1, m2, m3, m4, m5);
        p += kStride;
        m0 = v128.load(p); m1 = v128.load(p + kStride * 6); m2 = v128.load(p + kStride * 12);
        m3 = v128.load(p + kStride * 18); m4 = v128.load(p + kStride * 24); m5 = v128.load(p + kStride * 30);
        const t01 = at0(m0, m1, m2, m3, m4), t11 = at1(m1, m2, m3, m4, m5);
        p += kStride;
        m0 = v128.load(p); m1 = v128.load(p + kStride * 6); m2 = v128.load(p + kStride * 12);
        m3 = v128.load(p + kStride * 18); m4 = v128.load(p + kStride * 24); m5 = v128.load(p + kStride * 30);
        const t02 = at0(m0, m1, m2, m3, m4), t12 = at1(m1, m2, m3, m4, m5);
        p += kStride;
        m0 = v128.load(p); m1 = v128.load(p + kStride * 6); m2 = v128.load(p + kStride * 12);
        m3 = v128.load(p + kStride * 18); m4 = v128.load(p + kStride * 24); m5 = v128.load(p + kStride * 30);
        const t03 = at0(m0, m1, m2, m3, m4), t13 = at1(m1, m2, m3, m4, m5);
        p += kStride;
        m0 = v128.load(p); m1 = v128.load(p + kStride * 6); m2 = v128.load(p + kStride * 12);
        m3 = v128.load(p + kStride * 18); m4 = v128.load(p + kStride * 24); m5 = v128.load(p + kStride * 30);
        const t04 = at0(m0, m1, m2, m3, m4), t14 = at1(m1, m2, m3, m4, m5);
        p += kStride;
        m0 = v128.load(p); m1 = v128.load(p + kStride * 6); m2 = v128.load(p + kStride * 12);
        m3 = v128.load(p + kStride * 18); m4 = v128.load(p + kStride * 24); m5 = v128.load(p + kStride * 30);
        const t05 = at0(m0, m1, m2, m3, m4), t15 = at1(m1, m2, m3, m4, m5);
        // row pass: Y[a][bb] for the 4 tiles, plus the bias
        const y00 = f32x4.add(at0(t00, t01, t02, t03, t04), bias), y01 = f32x4.add(at1(t01, t02, t03, t04, t05), bias);
        const y10 = f32x4.add(at0(t10, t11, t12, t13, t14), bias), y11 = f32x4.add(at1(t11, t12, t13, t14, t15), bias);
        const col = 2 * tw;
        const d0 = y0 + (<usize>col << 2);
        if (col + 8 <= OW) {
          v128.store(d0, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
          v128.store(d0, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
          if (row1) {
            v128.store(d0 + owBytes, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5));
            v128.store(d0 + owBytes, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 16);
          }
        } else {
          v128.store(otmp, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
          v128.store(otmp, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
          v128.store(otmp, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), 32);
          v128.store(otmp, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 48);
          const n = OW - col;
          copy(d0, otmp, n);
          if (row1) copy(d0 + owBytes, otmp + 32, n);
        }
      }
    }
  }
}

/** dst: (n,) f32 <- 0 (n may be <= 0: nothing) */
// @ts-ignore: decorator
@inline function zero(dst: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}

/** dst: (n,) f32 <- src: (n,) f32 */
// @ts-ignore: decorator
@inline function copy(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}
