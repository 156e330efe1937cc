// Convolution support kernels (PyTorch Conv2d semantics, NCHW): im2col / col2im lower one sample's
// convolution to a GEMM, y: (OC, OH*OW) = W: (OC, C*KH*KW) . col: (C*KH*KW, OH*OW) (Chellapilla,
// Puri & Simard, "High Performance Convolutional Neural Networks for Document Processing", 2006;
// the row order is Caffe's im2col_cpu, which is also PyTorch's slow_conv2d). Per-channel bias add
// and its gradient sit beside them.
//
// Conventions: row-major f32, sizes in elements, pointers in bytes. Output position (oh, ow) and
// tap (ki, kj) read input (ih, iw) = (oh*SH - PH + ki*DH, ow*SW - PW + kj*DW); taps that fall in
// the zero padding read 0 (im2col) and are dropped (col2im). For one (c, ki, kj) row and one oh,
// the valid ow form one interval [lo, hi) (computed once per row by valid_lo / valid_hi); with
// SW == 1 that interval maps to a contiguous input span, copied or accumulated 4-wide.

/** First ow in [0, OW) with 0 <= ow*SW + off, i.e. iw in range on the left (off = kj*DW - PW). */
// @ts-ignore: decorator
@inline function valid_lo(off: i32, SW: i32, OW: i32): i32 {
  if (off >= 0) return 0;
  const lo = (-off + SW - 1) / SW; // ceil(-off / SW)
  return lo < OW ? lo : OW;
}

/** One past the last ow in [0, OW) with ow*SW + off < W, never below lo. */
// @ts-ignore: decorator
@inline function valid_hi(off: i32, SW: i32, W: i32, OW: i32, lo: i32): i32 {
  const room = W - off; // need ow*SW < room
  if (room <= 0) return lo;
  let hi = (room + SW - 1) / SW; // ceil(room / SW)
  if (hi > OW) hi = OW;
  return hi > lo ? hi : lo;
}

/** dst: (n,) f32 <- 0 */
// @ts-ignore: decorator
@inline function zero_span(dst: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}

/** dst: (n,) f32 <- src: (n,) f32 (short spans: an inline 4-wide copy beats a memory.copy call) */
// @ts-ignore: decorator
@inline function copy_span(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, v128.load(src + o));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(src + o));
  }
}

/** dst: (n,) f32 += src: (n,) f32 */
// @ts-ignore: decorator
@inline function add_span(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/**
 * col: (C*KH*KW, OH*OW) f32 <- the patches of x: (C, H, W) f32 (one sample).
 * col[(c*KH + ki)*KW + kj, oh*OW + ow] = x[c, oh*SH - PH + ki*DH, ow*SW - PW + kj*DW], 0 in the padding.
 * Strides S*, paddings P*, dilations D*; OH, OW the output size (the caller's floor formula).
 */
export function im2col_f32(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
  DH: i32, DW: i32, OH: i32, OW: i32, col: usize,
): void {
  const OHW = OH * OW;
  let row = col;
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>c * <usize>H * <usize>W << 2);
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        const off = kj * DW - PW;
        const lo = valid_lo(off, SW, OW);
        const hi = valid_hi(off, SW, W, OW, lo);
        for (let oh = 0; oh < OH; oh++) {
          const dst = row + (<usize>(oh * OW) << 2);
          const ih = oh * SH - PH + ki * DH;
          if (<u32>ih >= <u32>H || lo == hi) { // the whole output row reads padding
            zero_span(dst, OW);
            continue;
          }
          const src = plane + (<usize>(ih * W) << 2);
          for (let ow = 0; ow < lo; ow++) store<f32>(dst + (<usize>ow << 2), 0);
          if (SW == 1) {
            copy_span(dst + (<usize>lo << 2), src + (<usize>(lo + off) << 2), hi - lo);
          } else {
            for (let ow = lo; ow < hi; ow++) {
              store<f32>(dst + (<usize>ow << 2), load<f32>(src + (<usize>(ow * SW + off) << 2)));
            }
          }
          for (let ow = hi; ow < OW; ow++) store<f32>(dst + (<usize>ow << 2), 0);
        }
        row += <usize>OHW << 2;
      }
    }
  }
}

/**
 * dx: (C, H, W) f32 += col: (C*KH*KW, OH*OW) f32 scattered back to the positions im2col_f32 read
 * them from (its adjoint; padding taps dropped). Accumulates: the caller zeroes dx.
 */
export function col2im_f32(
  col: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
  DH: i32, DW: i32, OH: i32, OW: i32, dx: usize,
): void {
  const OHW = OH * OW;
  let row = col;
  for (let c = 0; c < C; c++) {
    const plane = dx + (<usize>c * <usize>H * <usize>W << 2);
    for (let ki = 0; ki < KH; ki++) {
      for (let kj = 0; kj < KW; kj++) {
        const off = kj * DW - PW;
        const lo = valid_lo(off, SW, OW);
        const hi = valid_hi(off, SW, W, OW, lo);
        if (lo < hi) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * SH - PH + ki * DH;
            if (<u32>ih >= <u32>H) continue;
            const src = row + (<usize>(oh * OW) << 2);
            const dst = plane + (<usize>(ih * W) << 2);
            if (SW == 1) {
              add_span(dst + (<usize>(lo + off) << 2), src + (<usize>lo << 2), hi - lo);
            } else {
              for (let ow = lo; ow < hi; ow++) {
                const d = dst + (<usize>(ow * SW + off) << 2);
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ow << 2)));
              }
            }
          }
        }
        row += <usize>OHW << 2;
      }
    }
  }
}

/** y: (N, C, S) f32 += b: (C,) f32, broadcast over n and the S spatial positions. */
export function bias_f32_add_channels(y: usize, b: usize, N: i32, C: i32, S: i32): void {
  let p = y;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const bc = load<f32>(b + (<usize>c << 2));
      const v = f32x4.splat(bc);
      let s = 0;
      for (; s + 4 <= S; s += 4) {
        const o = p + (<usize>s << 2);
        v128.store(o, f32x4.add(v128.load(o), v));
      }
      for (; s < S; s++) {
        const o = p + (<usize>s << 2);
        store<f32>(o, load<f32>(o) + bc);
      }
      p += <usize>S << 2;
    }
  }
}

/**
 * db: (C,) f32 (+)= sums of dy: (N, C, S) f32 over n and s. accumulate: 0 overwrite, 1 add.
 * Each (n, c) plane is summed 4-wide in f32 and the planes are added in f64.
 */
export function bias_f32_grad_channels(dy: usize, db: usize, N: i32, C: i32, S: i32, accumulate: i32): void {
  const planeBytes = <usize>S << 2;
  const nStride = <usize>C * planeBytes;
  for (let c = 0; c < C; c++) {
    let total: f64 = accumulate ? <f64>load<f32>(db + (<usize>c << 2)) : 0;
    let p = dy + <usize>c * planeBytes;
    for (let n = 0; n < N; n++) {
      let acc = f32x4.splat(0);
      let s = 0;
      for (; s + 4 <= S; s += 4) acc = f32x4.add(acc, v128.load(p + (<usize>s << 2)));
      let t: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1))
        + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (; s < S; s++) t += load<f32>(p + (<usize>s << 2));
      total += <f64>t;
      p += nStride;
    }
    store<f32>(db + (<usize>c << 2), <f32>total);
  }
}
