// Optimizer updates: one pass over the whole flat parameter slab, following torch.optim exactly.

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
      const b = first ? g : f32x4.add(f32x4.mul(vmom, v128.load(buf + o)), f32x4.mul(vdamp, g));
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
      const b: f32 = first ? g : momentum * load<f32>(buf + o) + (1 - dampening) * g;
      store<f32>(buf + o, b);
      g = nesterov ? g + momentum * b : b;
    }
    store<f32>(param + o, p - lr * g);
  }
}
