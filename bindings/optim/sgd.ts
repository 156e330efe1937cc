import { Optimizer, checkHyper, type ParamSource } from './optimizer.js';
import { ConfigError } from '../errors.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD: momentum, dampening, Nesterov and (L2) weight decay, one pass over the slab. */
export class SGD extends Optimizer {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private momentumBuffer = 0;

  constructor(params: ParamSource, options: SGDOptions) {
    super(params);
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options ?? ({} as SGDOptions);
    checkHyper('SGD', 'lr', lr, (v) => v > 0, 'a positive number');
    checkHyper('SGD', 'momentum', momentum, (v) => v >= 0, '>= 0');
    checkHyper('SGD', 'dampening', dampening, (v) => v >= 0 && v <= 1, 'in [0, 1]');
    checkHyper('SGD', 'weightDecay', weightDecay, (v) => v >= 0, '>= 0');
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new ConfigError('SGD: Nesterov momentum requires momentum > 0 and zero dampening');
    }
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    if (momentum !== 0) {
      this.momentumBuffer = this.params.rt.heap.alloc(this.params.size * 4, 'SGD momentum buffer');
    }
  }

  protected override releaseState(): void {
    if (this.momentumBuffer) this.params.rt.heap.release(this.momentumBuffer);
    this.momentumBuffer = 0;
  }

  protected override update(): void {
    const p = this.params;
    p.rt.kernels.sgd_f32_step(p.ptr, p.gradPtr, this.momentumBuffer, p.size, this.lr, this.momentum,
      this.dampening, this.weightDecay, this.nesterov ? 1 : 0, this.stepCount === 0 ? 1 : 0);
  }
}
