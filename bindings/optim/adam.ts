// torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13: torch/optim/adam.py, adamw.py,
// _single_tensor_adam / _single_tensor_adamw): one adam_f32_step over the whole parameter slab.
// The moments live in slabs laid out like the parameters, allocated and zeroed once here.

import { Optimizer, checkHyper, checkOptions, checkFlag, type ParamSource } from './optimizer.js';
import { ConfigError } from '../errors.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** The AMSGrad variant: normalise by the running maximum of the second moment (default false). */
  amsgrad?: boolean;
}

const OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'] as const;

/** What Adam and AdamW share; they differ only in how weight decay enters. */
export abstract class AdamBase extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly #expAvg: number;
  readonly #expAvgSq: number;
  readonly #maxExpAvgSq: number;
  readonly #decoupled: boolean;

  protected constructor(owner: 'Adam' | 'AdamW', decoupled: boolean,
    params: ParamSource, options: AdamOptions | undefined, defaultWeightDecay: number) {
    super(owner, params);
    this.#decoupled = decoupled;
    checkOptions(owner, options, OPTIONS);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultWeightDecay, amsgrad = false } = options ?? {};
    checkHyper(owner, 'lr', lr, (v) => v > 0, 'a positive number');
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new ConfigError(`${owner}: betas must be a pair [beta1, beta2], got ${JSON.stringify(betas)}`);
    }
    checkHyper(owner, 'betas[0]', betas[0], (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkHyper(owner, 'betas[1]', betas[1], (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkHyper(owner, 'eps', eps, (v) => v >= 0, '>= 0');
    checkHyper(owner, 'weightDecay', weightDecay, (v) => v >= 0, '>= 0');
    checkFlag(owner, 'amsgrad', amsgrad);
    this.lr = lr;
    [this.beta1, this.beta2] = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.amsgrad = amsgrad;
    [this.#expAvg, this.#expAvgSq, this.#maxExpAvgSq = 0] =
      this.allocState(amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq']);
  }

  override config() {
    return { type: this.owner, lr: this.lr, betas: [this.beta1, this.beta2], eps: this.eps, weightDecay: this.weightDecay, amsgrad: this.amsgrad };
  }

  /**
   * Copies of the state buffers under PyTorch's names (exp_avg, exp_avg_sq, and max_exp_avg_sq with
   * amsgrad), each laid out like the parameter slab: parameter i's state starts at
   * (params.params[i].ptr - params.ptr) / 4. The step count is `stepCount`.
   */
  state(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {
      exp_avg: this.copyState(this.#expAvg),
      exp_avg_sq: this.copyState(this.#expAvgSq),
    };
    if (this.amsgrad) out.max_exp_avg_sq = this.copyState(this.#maxExpAvgSq);
    return out;
  }

  protected override update(): void {
    const p = this.params;
    // torch: step counts from 1; the bias corrections are Python floats (f64)
    const t = this.stepCount + 1;
    const biasCorrection1 = 1 - this.beta1 ** t;
    const biasCorrection2 = 1 - this.beta2 ** t;
    p.rt.kernels.adam_f32_step(p.ptr, p.gradPtr, this.#expAvg, this.#expAvgSq, this.#maxExpAvgSq, p.size,
      this.lr, this.beta1, this.beta2, this.eps, this.weightDecay, this.lr / biasCorrection1,
      Math.sqrt(biasCorrection2), this.#decoupled ? 1 : 0);
  }
}

/**
 * torch.optim.Adam: L2 weight decay is added to the gradient (grad += weightDecay * param) before
 * the moment updates. Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, amsgrad false.
 */
export class Adam extends AdamBase {
  constructor(params: ParamSource, options?: AdamOptions) {
    super('Adam', false, params, options, 0);
  }
}

/**
 * torch.optim.AdamW: decoupled weight decay, param *= 1 - lr * weightDecay before the Adam update,
 * the gradient untouched. Defaults as Adam's, except weightDecay 1e-2.
 */
export class AdamW extends AdamBase {
  constructor(params: ParamSource, options?: AdamOptions) {
    super('AdamW', true, params, options, 1e-2);
  }
}
