// torch.optim.RMSprop (PyTorch 1.13: torch/optim/rmsprop.py, _single_tensor_rmsprop): one
// rmsprop_f32_step over the whole parameter slab. square_avg, and grad_avg (centered) and the
// momentum buffer (momentum > 0) when used, live in slabs laid out like the parameters,
// allocated and zeroed once here.

import { Optimizer, checkHyper, checkOptions, checkFlag, type ParamSource } from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment (default false). */
  centered?: boolean;
}

const OPTIONS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'] as const;

/**
 * torch.optim.RMSprop. Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weightDecay 0, momentum 0,
 * centered false.
 *   g = grad + weightDecay * param
 *   square_avg = alpha * square_avg + (1 - alpha) * g^2
 *   centered: grad_avg = alpha * grad_avg + (1 - alpha) * g;  avg = sqrt(square_avg - grad_avg^2) + eps
 *   else:     avg = sqrt(square_avg) + eps
 *   momentum > 0: buf = momentum * buf + g / avg;  param -= lr * buf
 *   else:         param -= lr * g / avg
 */
export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;
  readonly #squareAvg: number;
  readonly #gradAvg: number;
  readonly #momentumBuffer: number;

  constructor(params: ParamSource, options?: RMSpropOptions) {
    super('RMSprop', params);
    checkOptions('RMSprop', options, OPTIONS);
    const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false } = options ?? {};
    checkHyper('RMSprop', 'lr', lr, (v) => v > 0, 'a positive number');
    checkHyper('RMSprop', 'alpha', alpha, (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkHyper('RMSprop', 'eps', eps, (v) => v >= 0, '>= 0');
    checkHyper('RMSprop', 'weightDecay', weightDecay, (v) => v >= 0, '>= 0');
    checkHyper('RMSprop', 'momentum', momentum, (v) => v >= 0, '>= 0');
    checkFlag('RMSprop', 'centered', centered);
    this.lr = lr;
    this.alpha = alpha;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.momentum = momentum;
    this.centered = centered;
    const names = ['square_avg', ...(centered ? ['grad_avg'] : []), ...(momentum > 0 ? ['momentum_buffer'] : [])];
    const ptrs = this.allocState(names);
    const at = (name: string) => (names.includes(name) ? ptrs[names.indexOf(name)] : 0);
    this.#squareAvg = at('square_avg');
    this.#gradAvg = at('grad_avg');
    this.#momentumBuffer = at('momentum_buffer');
  }

  override config() {
    return { type: 'RMSprop', lr: this.lr, alpha: this.alpha, eps: this.eps, weightDecay: this.weightDecay, momentum: this.momentum, centered: this.centered };
  }

  /**
   * Copies of the state buffers under PyTorch's names (square_avg; grad_avg when centered;
   * momentum_buffer when momentum > 0), each laid out like the parameter slab.
   */
  state(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = { square_avg: this.copyState(this.#squareAvg) };
    if (this.#gradAvg) out.grad_avg = this.copyState(this.#gradAvg);
    if (this.#momentumBuffer) out.momentum_buffer = this.copyState(this.#momentumBuffer);
    return out;
  }

  protected override update(): void {
    const p = this.params;
    p.rt.kernels.rmsprop_f32_step(p.ptr, p.gradPtr, this.#squareAvg, this.#gradAvg, this.#momentumBuffer, p.size,
      this.lr, this.alpha, this.eps, this.weightDecay, this.momentum);
  }
}
