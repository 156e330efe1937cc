import { Layer, lockFields, type ForwardArgs, type BackwardArgs, type LayerConfig } from './layer.js';
import { ConfigError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { sizeOf, formatShape, type Shape } from '../tensor.js';

/** A layer applied element by element; its kernels allow y == x, so inference runs it in place. */
abstract class Pointwise extends Layer {
  override outputShape(inShape: Shape): Shape { return inShape; }
  override get inPlace(): boolean { return true; }
}

export class ReLU extends Pointwise {
  override toString(): string { return 'ReLU()'; }
  override config(): LayerConfig { return { type: 'ReLU' }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.relu_f32_fwd(x, y, batch * sizeOf(inShape));
  }
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.relu_f32_bwd(y, dy, dx, batch * sizeOf(inShape));
  }
}

/** Shared by Softmax and LogSoftmax: normalises along the last dimension of each sample. */
abstract class SoftmaxLike extends Layer {
  constructor(owner: string, readonly dim: number = -1) {
    super();
    if (dim !== -1 && dim !== 1) {
      throw new ConfigError(`${owner}: only dim=1 (or -1), the class dimension of (batch, classes), is supported; got ${String(dim)}`);
    }
    lockFields(this, ['dim']);
  }
  override outputShape(inShape: Shape): Shape {
    if (inShape.length !== 1) {
      throw new ShapeError(`${this} expects per-sample input shape [classes], got ${formatShape(inShape)}`);
    }
    return inShape;
  }
}

export class Softmax extends SoftmaxLike {
  constructor(dim = -1) { super('Softmax', dim); }
  override toString(): string { return `Softmax(dim=${this.dim})`; }
  override config(): LayerConfig { return { type: 'Softmax', dim: this.dim }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.softmax_f32_fwd(x, y, batch, inShape[0]);
  }
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.softmax_f32_bwd(y, dy, dx, batch, inShape[0]);
  }
}

export class LogSoftmax extends SoftmaxLike {
  constructor(dim = -1) { super('LogSoftmax', dim); }
  override toString(): string { return `LogSoftmax(dim=${this.dim})`; }
  override config(): LayerConfig { return { type: 'LogSoftmax', dim: this.dim }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.log_softmax_f32_fwd(x, y, batch, inShape[0]);
  }
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.log_softmax_f32_bwd(y, dy, dx, batch, inShape[0]);
  }
}

/** Flattens every dimension after the batch one (PyTorch's Flatten(start_dim=1)); no copy. */
export class Flatten extends Layer {
  override toString(): string { return 'Flatten(start_dim=1, end_dim=-1)'; }
  override config(): LayerConfig { return { type: 'Flatten' }; }
  override outputShape(inShape: Shape): Shape { return [sizeOf(inShape)]; }
  override get aliasesInput(): boolean { return true; }
  override forward(): void { /* the output buffer is the input buffer */ }
  override backward(): void { /* and so are their gradients */ }
}

/** Python's repr of a float (PyTorch's reprs print hyperparameters that way): 0.01, 1.0, 1e-05. */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa, exp] = v.toExponential().split('e');
    const e = Number(exp);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** y = 1 / (1 + exp(-x)) (torch.nn.Sigmoid); saturates to 0 and 1 without overflow. */
export class Sigmoid extends Pointwise {
  override toString(): string { return 'Sigmoid()'; }
  override config(): LayerConfig { return { type: 'Sigmoid' }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.sigmoid_f32_fwd(x, y, batch * sizeOf(inShape));
  }
  // dx = dy * (1 - y) * y
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.sigmoid_f32_bwd(y, dy, dx, batch * sizeOf(inShape));
  }
}

/** y = tanh(x) (torch.nn.Tanh). */
export class Tanh extends Pointwise {
  override toString(): string { return 'Tanh()'; }
  override config(): LayerConfig { return { type: 'Tanh' }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.tanh_f32_fwd(x, y, batch * sizeOf(inShape));
  }
  // dx = dy * (1 - y^2)
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.tanh_f32_bwd(y, dy, dx, batch * sizeOf(inShape));
  }
}

/** y = x > 0 ? x : negativeSlope * x (torch.nn.LeakyReLU); the gradient at x == 0 takes the slope, as PyTorch's. */
export class LeakyReLU extends Pointwise {
  constructor(readonly negativeSlope: number = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new ConfigError(`LeakyReLU: negativeSlope must be a finite number, got ${String(negativeSlope)}`);
    }
    lockFields(this, ['negativeSlope']);
  }
  override toString(): string { return `LeakyReLU(negative_slope=${pyFloat(this.negativeSlope)})`; }
  override config(): LayerConfig { return { type: 'LeakyReLU', negativeSlope: this.negativeSlope }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.leaky_relu_f32_fwd(x, y, batch * sizeOf(inShape), this.negativeSlope);
  }
  override backward({ rt, batch, x, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.leaky_relu_f32_bwd(x, dy, dx, batch * sizeOf(inShape), this.negativeSlope);
  }
}

export interface GELUOptions {
  /** 'none' (default): x * Phi(x) with the exact normal CDF; 'tanh': PyTorch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/** torch.nn.GELU: y = x * Phi(x), or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with approximate: 'tanh'. */
export class GELU extends Pointwise {
  readonly approximate: 'none' | 'tanh';

  constructor(options: GELUOptions = {}) {
    super();
    checkOptions('GELU', options, ['approximate']);
    const approximate = options?.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new ConfigError(`GELU: approximate must be 'none' or 'tanh', got ${typeof approximate === 'string' ? `'${approximate}'` : String(approximate)}`);
    }
    this.approximate = approximate;
    lockFields(this, ['approximate']);
  }
  override toString(): string { return `GELU(approximate='${this.approximate}')`; }
  override config(): LayerConfig { return { type: 'GELU', approximate: this.approximate }; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.gelu_f32_fwd(x, y, batch * sizeOf(inShape), this.approximate === 'tanh' ? 1 : 0);
  }
  override backward({ rt, batch, x, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.gelu_f32_bwd(x, dy, dx, batch * sizeOf(inShape), this.approximate === 'tanh' ? 1 : 0);
  }
}
