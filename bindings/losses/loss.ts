// Losses compare model outputs (batch, width) with targets: integer class labels (classification
// losses) or dense float targets of the output's shape (regression and binary losses). Inside
// `fit` the model calls `compute` on its own arena; the explicit loop uses `forward` / `backward`,
// which keep a small buffer of their own.

import { getRuntime, type Runtime } from '../runtime/load.js';
import { ConfigError, InputError, NumericError, ShapeError, StateError, describe } from '../errors.js';
import { privateF32 } from '../memory/view.js';
import { checkOptions } from '../options.js';
import { Tensor, readTensor, trustedTensor, toLabels, toFloat32, formatShape, type Labels } from '../tensor.js';

export type Reduction = 'mean' | 'sum';

export interface LossOptions { reduction?: Reduction }

/** What a loss compares outputs with: one class index per sample, or one float per output. */
export type TargetKind = 'class' | 'dense';

/** Targets as a loss takes them: class labels, or dense values (a Tensor or a flat array). */
export type Targets = Labels | Tensor;

/**
 * How fit / evaluate count a sample as correct: the row's argmax against its class label, a
 * threshold on a single output against a 0/1 target, or not at all (regression).
 */
export type AccuracyRule = { kind: 'argmax' } | { kind: 'threshold'; at: number } | null;

export abstract class Loss {
  readonly reduction: Reduction;
  /** The gradient of the last forward (a JS copy: a loss holds no wasm memory between calls). */
  #last: Tensor | null = null;
  #disposed = false;

  constructor(options: LossOptions = {}, owner = 'Loss', known: readonly string[] = ['reduction']) {
    checkOptions(owner, options, known);
    this.reduction = options?.reduction ?? 'mean';
    if (this.reduction !== 'mean' && this.reduction !== 'sum') {
      throw new ConfigError(`${owner}: reduction must be 'mean' or 'sum', got ${describe(this.reduction)}`);
    }
  }

  abstract toString(): string;

  /** Class labels (one i32 per row) or dense targets (one f32 per output). */
  get targetKind(): TargetKind { return 'class'; }

  /** How accuracy is counted for outputs of `cols` values per sample. */
  accuracyRule(cols: number): AccuracyRule {
    void cols;
    return { kind: 'argmax' };
  }

  /**
   * out: (rows, cols) f32; target: (rows,) i32 labels or (rows, cols) f32 values, already
   * validated by toTargets. Returns the reduced loss and, when dOut != 0, writes the gradient of
   * that loss with respect to out into dOut: (rows, cols). aux: cols floats of scratch the loss
   * may use for constants (BCEWithLogitsLoss's posWeight).
   */
  abstract compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number, aux: number): number;

  /**
   * Validates targets for `rows` samples of `cols` outputs and returns them as the 32-bit array
   * the kernels read: Int32Array labels in [0, cols) for class losses, a Float32Array of
   * rows * cols finite values for dense ones (subclasses may narrow the range, e.g. BCE to [0, 1]).
   */
  toTargets(target: Targets, rows: number, cols: number): Int32Array | Float32Array {
    const tensor = Tensor.isTensor(target) ? readTensor(target, `${this} targets`) : null;
    if (this.targetKind === 'class') {
      if (tensor) {
        if (tensor.shape.length !== 1) throw new ShapeError(`${this} expects class labels of shape [${rows}], got ${formatShape(tensor.shape)}`);
        return toLabels(tensor.data, rows, cols);
      }
      return toLabels(target as Labels, rows, cols);
    }
    const data = tensor ? tensor.data : privateF32(toFloat32(target, `${this} targets`))!;
    if (tensor && !(tensor.shape[0] === rows && tensor.size === rows * cols)) {
      throw new ShapeError(`${this} expects targets of shape [${rows}, ${cols}], got ${formatShape(tensor.shape)}`);
    }
    if (data.length !== rows * cols) {
      throw new ShapeError(`${this} expects ${rows * cols} target values (${rows} samples x ${cols} outputs), got ${data.length}`);
    }
    const out = Float32Array.from(data);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) throw new InputError(`${this}: target ${i} is ${data[i]}: targets must be finite`);
    }
    this.checkTargetValues(out);
    return out;
  }

  /** Hook for dense losses whose targets have a narrower valid range. */
  protected checkTargetValues(values: Float32Array): void { void values; }

  /**
   * Refuses outputs the loss is not defined on (InputError naming the first): NaN or Infinity for
   * every loss, and values outside [0, 1] for BCELoss. `values` is (rows, cols) f32; fit, evaluate
   * and forward all run this check before they trust a loss value.
   */
  checkOutputs(values: Float32Array, what = `${this}`): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v - v !== 0) throw new InputError(`${what}: output ${i} is ${v}: the outputs must be finite`);
    }
  }

  protected scale(rows: number): number {
    return this.reduction === 'mean' ? 1 / rows : 1;
  }

  /**
   * Loss of `output` (batch, width) against its targets; keeps the gradient for backward(). The
   * wasm memory it computes in is taken from the default runtime's heap and returned before it
   * returns, so a loss owns no wasm memory and needs no dispose (it has one, which only retires it).
   */
  forward(output: Tensor, target: Targets): number {
    this.assertLive();
    const o = readTensor(output, `${this}.forward: output`);
    if (o.shape.length !== 2) {
      throw new ShapeError(`${this} expects output of shape [batch, ${this.targetKind === 'class' ? 'classes' : 'outputs'}], got ${formatShape(o.shape)}`);
    }
    const [rows, cols] = o.shape;
    if (rows === 0 || cols === 0) throw new InputError(`${this}.forward: the output ${formatShape(o.shape)} is empty`);
    this.checkOutputs(o.data);
    const targets = this.toTargets(target, rows, cols);
    const rt = getRuntime();
    const n = rows * cols;
    const block = rt.heap.alloc((3 * n + cols) * 4, `${this} buffers`);
    try {
      const out = block, grad = out + n * 4, tgt = grad + n * 4, aux = tgt + n * 4;
      rt.heap.f32.set(o.data, out >>> 2);
      (targets instanceof Int32Array ? rt.heap.i32 : rt.heap.f32).set(targets, tgt >>> 2);
      const value = this.compute(rt, out, tgt, grad, rows, cols, aux);
      if (!Number.isFinite(value)) {
        throw new NumericError(`${this}.forward: the loss is ${value} (it overflows float32); backward() still gives the last finite loss's gradient`);
      }
      this.#last = trustedTensor(rt.heap.f32.slice(grad >>> 2, (grad >>> 2) + n), [rows, cols]);
      return value;
    } finally {
      rt.heap.release(block);
    }
  }

  /** Gradient of the last forward's loss with respect to its output (a copy, yours to keep). */
  backward(): Tensor {
    this.assertLive();
    if (!this.#last) throw new StateError(`${this}.backward() called before forward()`);
    return trustedTensor(this.#last.data.slice(), this.#last.shape);
  }

  /** Retires the loss: forward and backward refuse afterwards. (It holds no wasm memory to free.) */
  dispose(): void {
    this.#disposed = true;
    this.#last = null;
  }

  get disposed(): boolean { return this.#disposed; }

  private assertLive(): void {
    if (this.#disposed) throw new StateError(`${this} was disposed`);
  }
}

/** Negative log-likelihood on log-probabilities (use after LogSoftmax), as torch.nn.NLLLoss. */
export class NLLLoss extends Loss {
  override toString(): string { return `NLLLoss(reduction='${this.reduction}')`; }
  constructor(options: LossOptions = {}) { super(options, 'NLLLoss'); }
  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.nll_f32_fwd_bwd(out, target, dOut, rows, cols, this.scale(rows));
  }
}

export interface CrossEntropyLossOptions extends LossOptions {
  /** PyTorch's label_smoothing in [0, 1]: the target mixes (1 - eps) one-hot with eps / classes everywhere. */
  labelSmoothing?: number;
}

/** Cross-entropy on raw logits (log-softmax and NLL fused), as torch.nn.CrossEntropyLoss. */
export class CrossEntropyLoss extends Loss {
  readonly labelSmoothing: number;

  constructor(options: CrossEntropyLossOptions = {}) {
    super(options, 'CrossEntropyLoss', ['reduction', 'labelSmoothing']);
    const labelSmoothing = options?.labelSmoothing ?? 0;
    if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
      throw new ConfigError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${String(labelSmoothing)}`);
    }
    this.labelSmoothing = labelSmoothing;
  }

  override toString(): string {
    const smoothing = this.labelSmoothing !== 0 ? `, label_smoothing=${this.labelSmoothing}` : '';
    return `CrossEntropyLoss(reduction='${this.reduction}'${smoothing})`;
  }

  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.cross_entropy_f32_fwd_bwd(out, target, dOut, rows, cols, this.scale(rows), this.labelSmoothing);
  }
}
