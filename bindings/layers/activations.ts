import { Layer, type ForwardArgs, type BackwardArgs } from './layer.js';
import { ConfigError, ShapeError } from '../errors.js';
import { sizeOf, formatShape, type Shape } from '../tensor.js';

export class ReLU extends Layer {
  override toString(): string { return 'ReLU()'; }
  override outputShape(inShape: Shape): Shape { return inShape; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.relu_f32_fwd(x, y, batch * sizeOf(inShape));
  }
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.relu_f32_bwd(y, dy, dx, batch * sizeOf(inShape));
  }
}

/** Shared by Softmax and LogSoftmax: normalises along the last dimension of each sample. */
abstract class SoftmaxLike extends Layer {
  constructor(readonly dim: number = -1) {
    super();
    if (dim !== -1 && dim !== 1) {
      throw new ConfigError(`${this.constructor.name}: only dim=1 (or -1), the class dimension of (batch, classes), is supported; got ${dim}`);
    }
  }
  override outputShape(inShape: Shape): Shape {
    if (inShape.length !== 1) {
      throw new ShapeError(`${this} expects per-sample input shape [classes], got ${formatShape(inShape)}`);
    }
    return inShape;
  }
}

export class Softmax extends SoftmaxLike {
  override toString(): string { return `Softmax(dim=${this.dim})`; }
  override forward({ rt, batch, x, y, inShape }: ForwardArgs): void {
    rt.kernels.softmax_f32_fwd(x, y, batch, inShape[0]);
  }
  override backward({ rt, batch, y, dy, dx, inShape }: BackwardArgs): void {
    if (dx) rt.kernels.softmax_f32_bwd(y, dy, dx, batch, inShape[0]);
  }
}

export class LogSoftmax extends SoftmaxLike {
  override toString(): string { return `LogSoftmax(dim=${this.dim})`; }
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
  override outputShape(inShape: Shape): Shape { return [sizeOf(inShape)]; }
  override get aliasesInput(): boolean { return true; }
  override forward(): void { /* the output buffer is the input buffer */ }
  override backward(): void { /* and so are their gradients */ }
}
