// Regression and binary-classification losses over dense targets, forward and backward fused.
//
// Every kernel reads out: (n,) f32 and target: (n,) f32 (n = rows * cols, one target per output),
// returns the reduced loss (summed in f64, then times `scale`) and, when dout != 0, writes the
// gradient of that loss with respect to out into dout: (n,) f32. `scale` carries PyTorch's
// reduction: 1/n for 'mean' (these losses average over every element, not over rows) or 1 for
// 'sum'. Formulas follow PyTorch 1.13, aten/src/ATen/native/Loss.cpp (mse_loss, l1_loss,
// binary_cross_entropy, binary_cross_entropy_with_logits and their *_backward); each kernel below
// says which lines it mirrors. Each element is read before its gradient is written, so dout may
// alias out or target.

/**
 * Mean squared error, torch.nn.MSELoss. out, target, dout: (n,) f32. dout may alias out.
 * loss = scale * sum (o - t)^2; dout = 2 * scale * (o - t)   (mse_loss_backward: norm = 2 / numel)
 */
export function mse_f32_fwd_bwd(out: usize, target: usize, dout: usize, n: i32, scale: f32): f32 {
  const g2: f32 = 2 * scale;
  const g = f32x4.splat(g2);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(out + o), v128.load(target + o));
    const sq = f32x4.mul(d, d);
    // f64 accumulation: promote both halves of the four squares
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(sq), f64x2.promote_low_f32x4(f32x4.shuffle(sq, sq, 2, 3, 0, 1))));
    if (dout) v128.store(dout + o, f32x4.mul(d, g));
  }
  let total: f64 = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const d = load<f32>(out + o) - load<f32>(target + o);
    total += <f64>(d * d);
    if (dout) store<f32>(dout + o, d * g2);
  }
  return <f32>(total * <f64>scale);
}

/**
 * Mean absolute error, torch.nn.L1Loss. out, target, dout: (n,) f32. dout may alias out.
 * loss = scale * sum |o - t|; dout = scale * sign(o - t) with sign(0) = 0
 * (l1_loss_backward: (input - target).sgn_() * norm). A NaN difference gets gradient 0 (its loss
 * is NaN, which training refuses before any step).
 */
export function l1_f32_fwd_bwd(out: usize, target: usize, dout: usize, n: i32, scale: f32): f32 {
  const s = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(out + o), v128.load(target + o));
    const a = f32x4.abs(d);
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(f32x4.shuffle(a, a, 2, 3, 0, 1))));
    // scale where d > 0, minus scale where d < 0: 0 where d == 0 (or NaN)
    if (dout) v128.store(dout + o, f32x4.sub(v128.and(f32x4.gt(d, zero), s), v128.and(f32x4.lt(d, zero), s)));
  }
  let total: f64 = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const d = load<f32>(out + o) - load<f32>(target + o);
    total += <f64>Mathf.abs(d);
    if (dout) store<f32>(dout + o, d > 0 ? scale : d < 0 ? -scale : 0);
  }
  return <f32>(total * <f64>scale);
}

/** PyTorch's EPSILON in binary_cross_entropy_backward: the floor of o * (1 - o). */
const BCE_EPSILON: f32 = 1e-12;

/**
 * Binary cross-entropy on probabilities, torch.nn.BCELoss. out: (n,) f32 in [0, 1] (the bindings
 * refuse others), target: (n,) f32 in [0, 1], dout: (n,) f32, may alias out.
 * loss = scale * sum (t - 1) * max(log(1 - o), -100) - t * max(log(o), -100)
 *   (binary_cross_entropy_out_cpu: each log clamped at -100, so o = 0 or 1 stays finite)
 * dout = scale * (o - t) / max((1 - o) * o, 1e-12)   (binary_cross_entropy_backward_out_cpu)
 * Transcendental per element: a scalar loop (wasm SIMD has no log).
 */
export function bce_f32_fwd_bwd(out: usize, target: usize, dout: usize, n: i32, scale: f32): f32 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const k = <usize>i << 2;
    const o = load<f32>(out + k);
    const t = load<f32>(target + k);
    const logO = max<f32>(Mathf.log(o), -100);
    const log1mO = max<f32>(Mathf.log(1 - o), -100);
    total += <f64>((t - 1) * log1mO - t * logO);
    if (dout) store<f32>(dout + k, (o - t) / max<f32>((1 - o) * o, BCE_EPSILON) * scale);
  }
  return <f32>(total * <f64>scale);
}

/**
 * Binary cross-entropy on logits (sigmoid fused), torch.nn.BCEWithLogitsLoss.
 * x: (rows, cols) f32 logits, target: (rows, cols) f32, pos_weight: (cols,) f32 or 0 for none,
 * dout: (rows, cols) f32 or 0, may alias x; n = rows * cols.
 * With sp = log1p(exp(-|x|)) + max(-x, 0) = -log(sigmoid(x)), computed without overflow:
 *   loss = scale * sum (1 - t) * x + (1 + (pw - 1) * t) * sp    (pw = 1 without pos_weight)
 *   dout = scale * ((pw * t + 1 - t) * sigmoid(x) - pw * t)     (sigmoid(x) - t without)
 * PyTorch (binary_cross_entropy_with_logits) writes sp as log(exp(-m) + exp(-x - m)) + m with
 * m = max(-x, 0); that is the same value, and log1p keeps it exact for large |x|.
 */
export function bce_with_logits_f32_fwd_bwd(x: usize, target: usize, pos_weight: usize, dout: usize, n: i32, cols: i32, scale: f32): f32 {
  let total: f64 = 0;
  if (cols <= 0) return 0;
  const rows = n / cols;
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * <usize>cols << 2;
    for (let c = 0; c < cols; c++) {
      const k = row + (<usize>c << 2);
      const xv = load<f32>(x + k);
      const t = load<f32>(target + k);
      const e = Mathf.exp(-Mathf.abs(xv));             // in (0, 1]: no overflow
      const sp = Mathf.log1p(e) + max<f32>(-xv, 0);    // -log(sigmoid(x))
      const sig: f32 = xv >= 0 ? 1 / (1 + e) : e / (1 + e);
      if (pos_weight) {
        const w = load<f32>(pos_weight + (<usize>c << 2));
        total += <f64>((1 - t) * xv + (1 + (w - 1) * t) * sp);
        if (dout) {
          const wt = w * t;
          store<f32>(dout + k, ((wt + 1 - t) * sig - wt) * scale);
        }
      } else {
        total += <f64>((1 - t) * xv + sp);
        if (dout) store<f32>(dout + k, (sig - t) * scale);
      }
    }
  }
  return <f32>(total * <f64>scale);
}
