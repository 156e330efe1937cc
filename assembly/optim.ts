// Optimizer updates: one pass over the whole flat parameter slab, following torch.optim exactly.
//
// Subnormals. The state these kernels keep (momentum buffers, Adam's exp_avg and exp_avg_sq,
// RMSprop's averages) decays geometrically wherever the gradient is zero (a dead ReLU unit) and so
// passes through the float32 subnormals, below 2^-126. x86 handles those in microcode, tens of
// times slower (Adam's step on a slab of subnormal exp_avg: 39x here), and wasm has no
// flush-to-zero mode to turn on. So the state is stored flushed: a value below 2^-126 in magnitude
// becomes zero, once, and the next steps multiply zeros. The update itself reads the
// flushed value: its contribution below 2^-126 * lr / eps is lost, far under float32 resolution of
// any weight. Both tiers and every engine flush alike, so results stay bit-identical across them.

/** 2^-126, the smallest normal float32. */
const FLT_MIN: f32 = reinterpret<f32>(0x00800000);

/** x with each lane of magnitude below 2^-126 replaced by +0 (the sign of a zero moves nothing here). */
@inline function flush4(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(f32x4.abs(x), f32x4.splat(FLT_MIN)));
}

/** flush4 of x >= 0 (a mean of squares): one comparison fewer. */
@inline function flushNonNegative4(x: v128): v128 {
  return v128.andnot(x, f32x4.lt(x, f32x4.splat(FLT_MIN)));
}

/** The scalar flush4. */
@inline function flush(x: f32): f32 {
  return Mathf.abs(x) < FLT_MIN ? 0 : x;
}

/**
 * torch.optim.SGD, one step over n parameters.
 * param, grad, buf: (n,) f32. buf is the momentum buffer (unused when momentum == 0).
 * first: 1 on the first step, when PyTorch sets buf = grad instead of applying dampening.
 *   g = grad + weight_decay * param
 *   buf = first ? g : momentum * buf + (1 - dampening) * g
 *   g = nesterov ? g + momentum * buf : buf        (when momentum != 0)
 *   param -= lr * g
 */
export function sgd_f32_step(param: usize, grad: usize, buf: usize, n: i32,
  lr: f32, momentum: f32, dampening: f32, weight_decay: f32, nesterov: i32, first: i32): void {
  const vlr = f32x4.splat(lr), vwd = f32x4.splat(weight_decay);
  const vmom = f32x4.splat(momentum), vdamp = f32x4.splat(1 - dampening);
  const useMomentum = momentum != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let g = v128.load(grad + o);
    if (weight_decay != 0) g = f32x4.add(g, f32x4.mul(vwd, p));
    if (useMomentum) {
      const b = flush4(first ? g : f32x4.add(f32x4.mul(vmom, v128.load(buf + o)), f32x4.mul(vdamp, g)));
      v128.store(buf + o, b);
      g = nesterov ? f32x4.add(g, f32x4.mul(vmom, b)) : b;
    }
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vlr, g)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (weight_decay != 0) g += weight_decay * p;
    if (useMomentum) {
      const b: f32 = flush(first ? g : momentum * load<f32>(buf + o) + (1 - dampening) * g);
      store<f32>(buf + o, b);
      g = nesterov ? g + momentum * b : b;
    }
    store<f32>(param + o, p - lr * g);
  }
}

/**
 * torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13: torch/optim/adam.py _single_tensor_adam,
 * torch/optim/adamw.py _single_tensor_adamw), one step over n parameters.
 * param, grad, m (exp_avg), v (exp_avg_sq): (n,) f32.
 * vmax (max_exp_avg_sq): (n,) f32 with amsgrad, else 0 (then never touched).
 * The scalars are f64, as the Python floats torch starts from: the coefficients torch derives
 * from them in double precision (1 - beta1, 1 - beta2, 1 - lr * weight_decay) are formed here in
 * f64 and rounded to f32 once, as torch does when it hands them to its f32 kernels.
 * step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t) come from the caller, in f64.
 *   Adam  (decoupled = 0): g = grad + weight_decay * param
 *   AdamW (decoupled = 1): param *= 1 - lr * weight_decay;  g = grad
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   vmax = max(vmax, v)                                   (amsgrad)
 *   denom = sqrt(amsgrad ? vmax : v) / bc2_sqrt + eps
 *   param -= step_size * (m / denom)
 */
export function adam_f32_step(param: usize, grad: usize, m: usize, v: usize, vmax: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step_size: f64, bc2_sqrt: f64,
  decoupled: i32): void {
  const b1 = <f32>beta1, c1 = <f32>(1 - beta1), b2 = <f32>beta2, c2 = <f32>(1 - beta2);
  const e = <f32>eps, wd = <f32>weight_decay, decay = <f32>(1 - lr * weight_decay);
  const s = <f32>step_size, bc = <f32>bc2_sqrt;
  const l2 = !decoupled && weight_decay != 0;     // Adam: L2 penalty added to the gradient
  const shrink = decoupled && weight_decay != 0;  // AdamW: decoupled decay of the weights
  const amsgrad = vmax != 0;
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(c1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(c2);
  const ve = f32x4.splat(e), vwd = f32x4.splat(wd), vdecay = f32x4.splat(decay);
  const vs = f32x4.splat(s), vbc = f32x4.splat(bc);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let p = v128.load(param + o);
    let g = v128.load(grad + o);
    if (l2) g = f32x4.add(g, f32x4.mul(vwd, p));
    if (shrink) p = f32x4.mul(p, vdecay);
    const mt = flush4(f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(vc1, g)));
    let vt = flushNonNegative4(f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(vc2, f32x4.mul(g, g))));
    v128.store(m + o, mt);
    v128.store(v + o, vt);
    if (amsgrad) {
      vt = f32x4.max(v128.load(vmax + o), vt);
      v128.store(vmax + o, vt);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vt), vbc), ve);
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vs, f32x4.div(mt, denom))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let p = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (l2) g += wd * p;
    if (shrink) p *= decay;
    const mt: f32 = flush(load<f32>(m + o) * b1 + c1 * g);
    let vt: f32 = flush(load<f32>(v + o) * b2 + c2 * (g * g));
    store<f32>(m + o, mt);
    store<f32>(v + o, vt);
    if (amsgrad) {
      vt = max<f32>(load<f32>(vmax + o), vt);
      store<f32>(vmax + o, vt);
    }
    const denom: f32 = Mathf.sqrt(vt) / bc + e;
    store<f32>(param + o, p - s * (mt / denom));
  }
}

/**
 * torch.optim.RMSprop (PyTorch 1.13: torch/optim/rmsprop.py _single_tensor_rmsprop), one step
 * over n parameters.
 * param, grad, sq (square_avg): (n,) f32.
 * ga (grad_avg): (n,) f32 when centered, else 0 (then never touched).
 * buf (momentum_buffer, zero-initialised): (n,) f32 when momentum > 0, else 0 (never touched).
 * Scalars are f64 as in adam_f32_step (1 - alpha is formed in f64, then rounded to f32).
 *   g = grad + weight_decay * param
 *   sq = alpha * sq + (1 - alpha) * g * g
 *   centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(sq - ga * ga) + eps
 *   else:     avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum * buf + g / avg;  param -= lr * buf
 *   else:         param -= lr * (g / avg)
 */
export function rmsprop_f32_step(param: usize, grad: usize, sq: usize, ga: usize, buf: usize, n: i32,
  lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64): void {
  const a = <f32>alpha, c = <f32>(1 - alpha), e = <f32>eps, wd = <f32>weight_decay;
  const l = <f32>lr, mom = <f32>momentum;
  const centered = ga != 0, useMomentum = momentum > 0, l2 = weight_decay != 0;
  const va = f32x4.splat(a), vc = f32x4.splat(c), ve = f32x4.splat(e), vwd = f32x4.splat(wd);
  const vl = f32x4.splat(l), vmom = f32x4.splat(mom);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let g = v128.load(grad + o);
    if (l2) g = f32x4.add(g, f32x4.mul(vwd, p));
    const st = flushNonNegative4(f32x4.add(f32x4.mul(v128.load(sq + o), va), f32x4.mul(vc, f32x4.mul(g, g))));
    v128.store(sq + o, st);
    let avg: v128;
    if (centered) {
      const gt = flush4(f32x4.add(f32x4.mul(v128.load(ga + o), va), f32x4.mul(vc, g)));
      v128.store(ga + o, gt);
      avg = f32x4.sqrt(f32x4.sub(st, f32x4.mul(gt, gt)));
    } else {
      avg = f32x4.sqrt(st);
    }
    avg = f32x4.add(avg, ve);
    let step = f32x4.div(g, avg);
    if (useMomentum) {
      step = flush4(f32x4.add(f32x4.mul(v128.load(buf + o), vmom), step));
      v128.store(buf + o, step);
    }
    v128.store(param + o, f32x4.sub(p, f32x4.mul(vl, step)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (l2) g += wd * p;
    const st: f32 = flush(load<f32>(sq + o) * a + c * (g * g));
    store<f32>(sq + o, st);
    let avg: f32;
    if (centered) {
      const gt: f32 = flush(load<f32>(ga + o) * a + c * g);
      store<f32>(ga + o, gt);
      avg = Mathf.sqrt(st - gt * gt);
    } else {
      avg = Mathf.sqrt(st);
    }
    avg += e;
    let step: f32 = g / avg;
    if (useMomentum) {
      step = flush(load<f32>(buf + o) * mom + step);
      store<f32>(buf + o, step);
    }
    store<f32>(param + o, p - l * step);
  }
}
