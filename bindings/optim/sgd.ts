import { Optimizer, checkHyper, checkOptions, checkFlag, type ParamSource } from './optimizer.js';
import { ConfigError } from '../errors.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

const OPTIONS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'] as const;

/** torch.optim.SGD: momentum, dampening, Nesterov and (L2) weight decay, one pass over the slab. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly #momentumBuffer: number;

  constructor(params: ParamSource, options: SGDOptions) {
    super('SGD', params);
    if (options === undefined) throw new ConfigError('SGD: options { lr } are required (torch.optim.SGD has no default rate)');
    checkOptions('SGD', options, OPTIONS);
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    checkHyper('SGD', 'lr', lr, (v) => v > 0, 'a positive number');
    checkHyper('SGD', 'momentum', momentum, (v) => v >= 0, '>= 0');
    checkHyper('SGD', 'dampening', dampening, (v) => v >= 0 && v <= 1, 'in [0, 1]');
    checkHyper('SGD', 'weightDecay', weightDecay, (v) => v >= 0, '>= 0');
    checkFlag('SGD', 'nesterov', nesterov);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new ConfigError('SGD: Nesterov momentum requires momentum > 0 and zero dampening');
    }
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    // torch initialises the buffer from the first gradient (the kernel's `first` flag), so no fill is needed
    [this.#momentumBuffer = 0] = this.allocState(momentum !== 0 ? ['momentum_buffer'] : []);
  }

  override config() {
    return { type: 'SGD', lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  /** A copy of the momentum buffer (slab layout), or null without momentum. */
  state(): Record<string, Float32Array> {
    this.assertLive();
    return this.#momentumBuffer ? { momentum_buffer: this.copyState(this.#momentumBuffer) } : {};
  }

  protected override update(): void {
    const p = this.params;
    p.rt.kernels.sgd_f32_step(p.ptr, p.gradPtr, this.#momentumBuffer, p.size, this.lr, this.momentum,
      this.dampening, this.weightDecay, this.nesterov ? 1 : 0, this.stepCount === 0 ? 1 : 0);
  }
}
