// 2-D pooling (PyTorch MaxPool2d / AvgPool2d: no dilation, no ceil_mode), forward and backward
// side by side. x is P = N*C planes of H x W, y is P planes of OH x OW; window (oh, ow) covers rows
// [oh*SH - PH, oh*SH - PH + KH) and columns [ow*SW - PW, ow*SW - PW + KW), clipped to the plane.
// The caller keeps PyTorch's constraint PH <= KH/2, PW <= KW/2 and its floor output size, so every
// window holds at least one input element.
//
// Semantics follow aten/src/ATen/native/cpu/MaxPoolKernel.cpp (cpu_max_pool: the max starts at
// -inf with the window's first index and is replaced when `val > max || isnan(val)`, so the first
// of equal maxima wins and a NaN always wins: the last NaN in scan order) and AvgPoolKernel.cpp
// (cpu_avg_pool: divisor computed on the window clipped to the padded extent, before clipping to
// the input, when count_include_pad; the clipped count otherwise).
//
// Conventions: f32 data, i32 indices, sizes in elements, pointers in bytes.

// ---------------------------------------------------------------------------------------------
// MaxPool2d

/** The 2x2 stride-2 unpadded max pool, four outputs per step (rows deinterleaved by shuffles). */
/** The 2x2 stride-2 max alone, for inference: the same comparisons (so the same bits), no indices. */
function maxpool2x2s2_values(x: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32, y: usize): void {
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    const out = y + (<usize>p * <usize>OH * <usize>OW << 2);
    for (let oh = 0; oh < OH; oh++) {
      const r0 = plane + (<usize>(2 * oh * W) << 2), r1 = r0 + (<usize>W << 2);
      const yo = out + (<usize>(oh * OW) << 2);
      let ow = 0;
      for (; ow + 4 <= OW; ow += 4) {
        const o = <usize>ow << 3;
        const t0 = v128.load(r0 + o), t1 = v128.load(r0 + o, 16);
        const t2 = v128.load(r1 + o), t3 = v128.load(r1 + o, 16);
        const b = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7), c = v128.shuffle<f32>(t2, t3, 0, 2, 4, 6);
        const d = v128.shuffle<f32>(t2, t3, 1, 3, 5, 7);
        let m = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6);
        m = v128.bitselect(b, m, v128.or(f32x4.gt(b, m), f32x4.ne(b, b)));
        m = v128.bitselect(c, m, v128.or(f32x4.gt(c, m), f32x4.ne(c, c)));
        m = v128.bitselect(d, m, v128.or(f32x4.gt(d, m), f32x4.ne(d, d)));
        v128.store(yo + (<usize>ow << 2), m);
      }
      for (; ow < OW; ow++) {
        const q0 = r0 + (<usize>(2 * ow) << 2), q1 = r1 + (<usize>(2 * ow) << 2);
        let best = load<f32>(q0);
        let v = load<f32>(q0, 4);
        if (v > best || v != v) best = v;
        v = load<f32>(q1);
        if (v > best || v != v) best = v;
        v = load<f32>(q1, 4);
        if (v > best || v != v) best = v;
        store<f32>(yo + (<usize>ow << 2), best);
      }
    }
  }
}

function maxpool2x2s2(x: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32, y: usize, arg: usize): void {
  const lanes = i32x4(0, 2, 4, 6);
  const one = i32x4.splat(1), offW = i32x4.splat(W), offW1 = i32x4.splat(W + 1);
  const zero = i32x4.splat(0);
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    const out = <usize>p * <usize>OH * <usize>OW << 2;
    for (let oh = 0; oh < OH; oh++) {
      const i0 = 2 * oh * W; // flat index of the window's top-left element
      const r0 = plane + (<usize>i0 << 2), r1 = r0 + (<usize>W << 2);
      const yo = y + out + (<usize>(oh * OW) << 2), ao = arg + out + (<usize>(oh * OW) << 2);
      let ow = 0;
      for (; ow + 4 <= OW; ow += 4) {
        const o = <usize>ow << 3;
        const t0 = v128.load(r0 + o), t1 = v128.load(r0 + o, 16);
        const t2 = v128.load(r1 + o), t3 = v128.load(r1 + o, 16);
        // scan order in each window: a (top-left), b (top-right), c (bottom-left), d (bottom-right)
        const a = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), b = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7);
        const c = v128.shuffle<f32>(t2, t3, 0, 2, 4, 6), d = v128.shuffle<f32>(t2, t3, 1, 3, 5, 7);
        let m = a, k = zero;
        let take = v128.or(f32x4.gt(b, m), f32x4.ne(b, b));
        m = v128.bitselect(b, m, take); k = v128.bitselect(one, k, take);
        take = v128.or(f32x4.gt(c, m), f32x4.ne(c, c));
        m = v128.bitselect(c, m, take); k = v128.bitselect(offW, k, take);
        take = v128.or(f32x4.gt(d, m), f32x4.ne(d, d));
        m = v128.bitselect(d, m, take); k = v128.bitselect(offW1, k, take);
        v128.store(yo + (<usize>ow << 2), m);
        v128.store(ao + (<usize>ow << 2), i32x4.add(i32x4.add(i32x4.splat(i0 + 2 * ow), lanes), k));
      }
      for (; ow < OW; ow++) {
        const i = i0 + 2 * ow;
        let best = load<f32>(r0 + (<usize>(2 * ow) << 2)), at = i;
        let v = load<f32>(r0 + (<usize>(2 * ow) << 2), 4);
        if (v > best || v != v) { best = v; at = i + 1; }
        v = load<f32>(r1 + (<usize>(2 * ow) << 2));
        if (v > best || v != v) { best = v; at = i + W; }
        v = load<f32>(r1 + (<usize>(2 * ow) << 2), 4);
        if (v > best || v != v) { best = v; at = i + W + 1; }
        store<f32>(yo + (<usize>ow << 2), best);
        store<i32>(ao + (<usize>ow << 2), at);
      }
    }
  }
}

/**
 * y: (P, OH, OW) f32 = the max of x: (P, H, W) f32 over each window (padding ignored);
 * arg: (P, OH, OW) i32 = its flat index h*W + w within the plane (first max wins; NaN wins), or
 * 0 to skip the indices (inference: the values are the same bits either way).
 */
export function maxpool2d_f32_fwd(
  x: usize, P: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
  OH: i32, OW: i32, y: usize, arg: usize,
): void {
  if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0 && 2 * OH <= H && 2 * OW <= W) {
    if (arg) maxpool2x2s2(x, P, H, W, OH, OW, y, arg);
    else maxpool2x2s2_values(x, P, H, W, OH, OW, y);
    return;
  }
  let o: usize = 0;
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * SH - PH;
      const h0 = max(hs, 0), h1 = min(hs + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const ws = ow * SW - PW;
        const w0 = max(ws, 0), w1 = min(ws + KW, W);
        let best: f32 = -Infinity;
        let at = h0 * W + w0;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const i = h * W + w;
            const v = load<f32>(plane + (<usize>i << 2));
            if (v > best || v != v) { best = v; at = i; }
          }
        }
        store<f32>(y + o, best);
        if (arg) store<i32>(arg + o, at);
        o += 4;
      }
    }
  }
}

/** dx: (P, H, W) f32 = 0, then dx[p, arg[p, o]] += dy[p, o] for dy, arg: (P, OH, OW) (f32, i32). */
export function maxpool2d_f32_bwd(dy: usize, arg: usize, P: i32, H: i32, W: i32, OH: i32, OW: i32, dx: usize): void {
  const HW = H * W, OHW = OH * OW;
  const z = f32x4.splat(0);
  const n = P * HW;
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dx + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(dx + (<usize>i << 2), 0);
  let o: usize = 0;
  for (let p = 0; p < P; p++) {
    const plane = dx + (<usize>p * <usize>HW << 2);
    for (let j = 0; j < OHW; j++) {
      const d = plane + (<usize>load<i32>(arg + o) << 2);
      store<f32>(d, load<f32>(d) + load<f32>(dy + o));
      o += 4;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AvgPool2d

/**
 * y: (P, OH, OW) f32 = the mean of x: (P, H, W) f32 over each window: the sum of its in-plane
 * elements divided by the window size clipped to the padded extent (countIncludePad != 0) or by
 * the count of in-plane elements (countIncludePad == 0), as aten's cpu_avg_pool.
 */
export function avgpool2d_f32_fwd(
  x: usize, P: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
  OH: i32, OW: i32, countIncludePad: i32, y: usize,
): void {
  let o: usize = 0;
  for (let p = 0; p < P; p++) {
    const plane = x + (<usize>p * <usize>H * <usize>W << 2);
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * SH - PH, he = min(hs + KH, H + PH);
      const h0 = max(hs, 0), h1 = min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        const ws = ow * SW - PW, we = min(ws + KW, W + PW);
        const w0 = max(ws, 0), w1 = min(we, W);
        let sum: f32 = 0;
        for (let h = h0; h < h1; h++) {
          const row = plane + (<usize>(h * W) << 2);
          for (let w = w0; w < w1; w++) sum += load<f32>(row + (<usize>w << 2));
        }
        const divisor = countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
        store<f32>(y + o, h0 < h1 && w0 < w1 ? sum / <f32>divisor : 0);
        o += 4;
      }
    }
  }
}

/** dx: (P, H, W) f32 = 0, then each dy: (P, OH, OW) f32 / divisor added over its window (avgpool2d_f32_fwd's divisor). */
export function avgpool2d_f32_bwd(
  dy: usize, P: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32,
  OH: i32, OW: i32, countIncludePad: i32, dx: usize,
): void {
  const z = f32x4.splat(0);
  const n = P * H * W;
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dx + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(dx + (<usize>i << 2), 0);
  let o: usize = 0;
  for (let p = 0; p < P; p++) {
    const plane = dx + (<usize>p * <usize>H * <usize>W << 2);
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * SH - PH, he = min(hs + KH, H + PH);
      const h0 = max(hs, 0), h1 = min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        const ws = ow * SW - PW, we = min(ws + KW, W + PW);
        const w0 = max(ws, 0), w1 = min(we, W);
        const divisor = countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
        const g = load<f32>(dy + o) / <f32>divisor;
        o += 4;
        for (let h = h0; h < h1; h++) {
          const row = plane + (<usize>(h * W) << 2);
          for (let w = w0; w < w1; w++) {
            const d = row + (<usize>w << 2);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}
