// Batch normalization (PyTorch BatchNorm1d / BatchNorm2d; Ioffe & Szegedy, 2015), statistics,
// forward and both backwards side by side. x is (N, C, S): S = H*W for 2d, L or 1 for 1d; channel
// c's M = N*S values are the planes x[n, c, :] for every n.
//
// Semantics follow aten/src/ATen/native/cpu/batch_norm_kernel.cpp: the batch variance is biased
// (divide by M; the unbiased running-variance update is the caller's), the training backward is
//   dx = gamma*invstd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M),  xhat = (x - mean)*invstd,
// and the eval backward (constant running statistics) is dx = dy * gamma*invstd.
// Reductions accumulate in f64 (f32 lanes promoted to f64x2 pairs), two passes for the variance
// (mean, then squared deviations), so large batches keep f32 accuracy; the pointwise passes run
// 4-wide in f32 with a scalar tail. gamma == 0 means weight 1 and beta == 0 bias 0 (affine=False);
// dgamma / dbeta / dx == 0 skip that output. Parameter gradients accumulate (+=), dx is written.
//
// Conventions: f32 data, sizes in elements, pointers in bytes.

/** Bytes from x[n, c, 0] to x[n+1, c, 0]. */
// @ts-ignore: decorator
@inline function nstride(C: i32, S: i32): usize {
  return <usize>C * <usize>S << 2;
}

/** Horizontal sum of an f64x2. */
// @ts-ignore: decorator
@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** The high two f32 lanes of v moved low, for f64x2.promote_low_f32x4. */
// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 0, 1);
}

/** sum over n, s of p[n, c, s] in f64, p pointing at (0, c, 0). */
function channel_sum(p: usize, N: i32, S: i32, step: usize): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let tail: f64 = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (; s + 4 <= S; s += 4) {
      const v = v128.load(p + (<usize>s << 2));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(high(v)));
    }
    for (; s < S; s++) tail += <f64>load<f32>(p + (<usize>s << 2));
    p += step;
  }
  return hsum(f64x2.add(a0, a1)) + tail;
}

/**
 * mean, variance: (C,) f32 = per-channel mean and biased variance (divide by N*S) of x: (N, C, S) f32,
 * both reduced in f64 (mean first, then the sum of squared deviations from it).
 */
export function batchnorm_f32_stats(x: usize, N: i32, C: i32, S: i32, mean: usize, variance: usize): void {
  const step = nstride(C, S);
  const M = <f64>N * <f64>S;
  for (let c = 0; c < C; c++) {
    const base = x + (<usize>c * <usize>S << 2);
    const mu = channel_sum(base, N, S, step) / M;
    const muv = f64x2.splat(mu);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    let tail: f64 = 0;
    let p = base;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (; s + 4 <= S; s += 4) {
        const v = v128.load(p + (<usize>s << 2));
        const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), muv);
        const d1 = f64x2.sub(f64x2.promote_low_f32x4(high(v)), muv);
        a0 = f64x2.add(a0, f64x2.mul(d0, d0));
        a1 = f64x2.add(a1, f64x2.mul(d1, d1));
      }
      for (; s < S; s++) {
        const d = <f64>load<f32>(p + (<usize>s << 2)) - mu;
        tail += d * d;
      }
      p += step;
    }
    store<f32>(mean + (<usize>c << 2), <f32>mu);
    store<f32>(variance + (<usize>c << 2), <f32>((hsum(f64x2.add(a0, a1)) + tail) / M));
  }
}

/**
 * y: (N, C, S) f32 = (x - mean[c]) * invstd[c] * gamma[c] + beta[c], x: (N, C, S) f32;
 * mean, invstd, gamma, beta: (C,) f32 (gamma 0: ones, beta 0: zeros). x and y may alias.
 * Computed as (x - mean) * a + beta with a = invstd * gamma folded per channel.
 */
export function batchnorm_f32_fwd(
  x: usize, N: i32, C: i32, S: i32, mean: usize, invstd: usize, gamma: usize, beta: usize, y: usize,
): void {
  const step = nstride(C, S);
  for (let c = 0; c < C; c++) {
    const co = <usize>c << 2;
    const m = load<f32>(mean + co);
    const a = gamma ? load<f32>(invstd + co) * load<f32>(gamma + co) : load<f32>(invstd + co);
    const b: f32 = beta ? load<f32>(beta + co) : 0;
    const mv = f32x4.splat(m), av = f32x4.splat(a), bv = f32x4.splat(b);
    const off = <usize>c * <usize>S << 2;
    let px = x + off, py = y + off;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (; s + 4 <= S; s += 4) {
        const o = <usize>s << 2;
        v128.store(py + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(px + o), mv), av), bv));
      }
      for (; s < S; s++) {
        const o = <usize>s << 2;
        store<f32>(py + o, (load<f32>(px + o) - m) * a + b);
      }
      px += step;
      py += step;
    }
  }
}

/** channel_dy_sums's second result: sum(dy * (x - mean)) of the last channel it reduced. */
let dotOut: f64 = 0;

/** sum(dy) over channel c's planes (px, pdy at (0, c, 0)), in f64; sum(dy * (x - mu)) goes to dotOut. */
function channel_dy_sums(px: usize, pdy: usize, N: i32, S: i32, step: usize, mu: f64): f64 {
  const muv = f64x2.splat(mu);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), d0 = f64x2.splat(0), d1 = f64x2.splat(0);
  let st: f64 = 0, dt: f64 = 0;
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (; s + 4 <= S; s += 4) {
      const o = <usize>s << 2;
      const xv = v128.load(px + o), gv = v128.load(pdy + o);
      const g0 = f64x2.promote_low_f32x4(gv), g1 = f64x2.promote_low_f32x4(high(gv));
      s0 = f64x2.add(s0, g0);
      s1 = f64x2.add(s1, g1);
      d0 = f64x2.add(d0, f64x2.mul(g0, f64x2.sub(f64x2.promote_low_f32x4(xv), muv)));
      d1 = f64x2.add(d1, f64x2.mul(g1, f64x2.sub(f64x2.promote_low_f32x4(high(xv)), muv)));
    }
    for (; s < S; s++) {
      const o = <usize>s << 2;
      const g = <f64>load<f32>(pdy + o);
      st += g;
      dt += g * (<f64>load<f32>(px + o) - mu);
    }
    px += step;
    pdy += step;
  }
  dotOut = hsum(f64x2.add(d0, d1)) + dt;
  return hsum(f64x2.add(s0, s1)) + st;
}

/**
 * Training-mode backward (batch statistics), x, dy, dx: (N, C, S) f32; mean, invstd: (C,) the
 * batch statistics the forward used; gamma: (C,) or 0 (ones).
 * dbeta: (C,) += sum(dy); dgamma: (C,) += sum(dy * xhat) (each skipped when 0);
 * dx = gamma*invstd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M), M = N*S, written (skipped when 0).
 * dx may alias dy.
 */
export function batchnorm_f32_bwd_train(
  x: usize, dy: usize, N: i32, C: i32, S: i32, mean: usize, invstd: usize, gamma: usize,
  dx: usize, dgamma: usize, dbeta: usize,
): void {
  const step = nstride(C, S);
  const M = <f64>N * <f64>S;
  for (let c = 0; c < C; c++) {
    const co = <usize>c << 2;
    const off = <usize>c * <usize>S << 2;
    const m = load<f32>(mean + co), is = load<f32>(invstd + co);
    const sumDy = channel_dy_sums(x + off, dy + off, N, S, step, <f64>m);
    const dotXhat = dotOut * <f64>is; // sum(dy * xhat)
    if (dbeta) store<f32>(dbeta + co, <f32>(<f64>load<f32>(dbeta + co) + sumDy));
    if (dgamma) store<f32>(dgamma + co, <f32>(<f64>load<f32>(dgamma + co) + dotXhat));
    if (!dx) continue;
    const a: f32 = gamma ? load<f32>(gamma + co) * is : is;
    const km = <f32>(sumDy / M);               // mean of dy
    const kx = <f32>(dotXhat * <f64>is / M);   // multiplies (x - mean): xhat * sum(dy*xhat)/M
    const mv = f32x4.splat(m), av = f32x4.splat(a), kmv = f32x4.splat(km), kxv = f32x4.splat(kx);
    let px = x + off, pg = dy + off, pd = dx + off;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (; s + 4 <= S; s += 4) {
        const o = <usize>s << 2;
        const t = f32x4.mul(f32x4.sub(v128.load(px + o), mv), kxv);
        v128.store(pd + o, f32x4.mul(f32x4.sub(f32x4.sub(v128.load(pg + o), kmv), t), av));
      }
      for (; s < S; s++) {
        const o = <usize>s << 2;
        const t = (load<f32>(px + o) - m) * kx;
        store<f32>(pd + o, (load<f32>(pg + o) - km - t) * a);
      }
      px += step;
      pg += step;
      pd += step;
    }
  }
}

/**
 * Eval-mode backward (mean, invstd: (C,) the running statistics, constants): dx = dy * gamma*invstd
 * written (skipped when dx is 0; may alias dy); dgamma += sum(dy * xhat), dbeta += sum(dy) (each
 * skipped when 0). x, dy, dx: (N, C, S) f32; gamma: (C,) or 0 (ones).
 */
export function batchnorm_f32_bwd_eval(
  x: usize, dy: usize, N: i32, C: i32, S: i32, mean: usize, invstd: usize, gamma: usize,
  dx: usize, dgamma: usize, dbeta: usize,
): void {
  const step = nstride(C, S);
  for (let c = 0; c < C; c++) {
    const co = <usize>c << 2;
    const off = <usize>c * <usize>S << 2;
    const m = load<f32>(mean + co), is = load<f32>(invstd + co);
    if (dgamma || dbeta) {
      const sumDy = channel_dy_sums(x + off, dy + off, N, S, step, <f64>m);
      if (dbeta) store<f32>(dbeta + co, <f32>(<f64>load<f32>(dbeta + co) + sumDy));
      if (dgamma) store<f32>(dgamma + co, <f32>(<f64>load<f32>(dgamma + co) + dotOut * <f64>is));
    }
    if (!dx) continue;
    const a: f32 = gamma ? load<f32>(gamma + co) * is : is;
    const av = f32x4.splat(a);
    let pg = dy + off, pd = dx + off;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (; s + 4 <= S; s += 4) {
        const o = <usize>s << 2;
        v128.store(pd + o, f32x4.mul(v128.load(pg + o), av));
      }
      for (; s < S; s++) {
        const o = <usize>s << 2;
        store<f32>(pd + o, load<f32>(pg + o) * a);
      }
      pg += step;
      pd += step;
    }
  }
}
