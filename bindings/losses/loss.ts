// Losses compare model outputs (batch, classes) with integer class labels. Inside `fit` the model
// calls `compute` on its own arena; the explicit loop uses `forward` / `backward`, which keep a
// small buffer of their own.

import { getRuntime, type Runtime } from '../runtime/load.js';
import { ConfigError, ShapeError } from '../errors.js';
import { Tensor, toLabels, formatShape, type Labels } from '../tensor.js';

export type Reduction = 'mean' | 'sum';

export interface LossOptions { reduction?: Reduction }

export abstract class Loss {
  readonly reduction: Reduction;
  private rt: Runtime | null = null;
  private buf = 0;
  private capacity = 0;    // floats per buffer region
  private last: { rows: number; cols: number } | null = null;

  constructor(options: LossOptions = {}) {
    this.reduction = options.reduction ?? 'mean';
    if (this.reduction !== 'mean' && this.reduction !== 'sum') {
      throw new ConfigError(`${this.constructor.name}: reduction must be 'mean' or 'sum', got '${this.reduction}'`);
    }
  }

  abstract toString(): string;

  /**
   * out: (rows, cols) f32, labels: (rows,) i32 already validated. Returns the reduced loss and,
   * when dOut != 0, writes the gradient of that loss with respect to out into dOut: (rows, cols).
   */
  abstract compute(rt: Runtime, out: number, labels: number, dOut: number, rows: number, cols: number): number;

  protected scale(rows: number): number {
    return this.reduction === 'mean' ? 1 / rows : 1;
  }

  /** Loss of `output` (batch, classes) against integer labels; keeps the gradient for backward(). */
  forward(output: Tensor, target: Labels): number {
    if (output.shape.length !== 2) {
      throw new ShapeError(`${this} expects output of shape [batch, classes], got ${formatShape(output.shape)}`);
    }
    const [rows, cols] = output.shape;
    const labels = toLabels(target, rows, cols);
    const rt = this.rt ?? (this.rt = getRuntime());
    const n = rows * cols;
    if (n + rows > this.capacity) {
      if (this.buf) rt.heap.release(this.buf);
      this.capacity = n + rows;
      this.buf = rt.heap.alloc(this.capacity * 3 * 4, `${this} buffers`);
    }
    const out = this.buf, grad = out + this.capacity * 4, lab = grad + this.capacity * 4;
    rt.heap.f32.set(output.data, out >> 2);
    rt.heap.i32.set(labels, lab >> 2);
    this.last = { rows, cols };
    return this.compute(rt, out, lab, grad, rows, cols);
  }

  /** Gradient of the last forward's loss with respect to its output. */
  backward(): Tensor {
    if (!this.last || !this.rt) throw new ShapeError(`${this}.backward() called before forward()`);
    const { rows, cols } = this.last;
    const grad = this.buf + this.capacity * 4;
    return new Tensor(this.rt.heap.f32.slice(grad >> 2, (grad >> 2) + rows * cols), [rows, cols]);
  }
}

/** Negative log-likelihood on log-probabilities (use after LogSoftmax), as torch.nn.NLLLoss. */
export class NLLLoss extends Loss {
  override toString(): string { return `NLLLoss(reduction='${this.reduction}')`; }
  override compute(rt: Runtime, out: number, labels: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.nll_f32_fwd_bwd(out, labels, dOut, rows, cols, this.scale(rows));
  }
}

/** Cross-entropy on raw logits (log-softmax and NLL fused), as torch.nn.CrossEntropyLoss. */
export class CrossEntropyLoss extends Loss {
  override toString(): string { return `CrossEntropyLoss(reduction='${this.reduction}')`; }
  override compute(rt: Runtime, out: number, labels: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.cross_entropy_f32_fwd_bwd(out, labels, dOut, rows, cols, this.scale(rows));
  }
}
