// Binary (and multi-label) cross-entropy over dense 0..1 targets, as torch.nn.BCELoss (on
// probabilities, after a Sigmoid) and torch.nn.BCEWithLogitsLoss (on logits, sigmoid fused in,
// numerically stable). 'mean' averages over every element, as PyTorch does.

import type { Runtime } from '../runtime/load.js';
import { ConfigError, InputError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import type { AccuracyRule, LossOptions, Targets } from './loss.js';
import { DenseLoss } from './regression.js';

/** Refuses targets outside [0, 1], naming the first one. */
function checkUnitInterval(loss: DenseLoss, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) throw new InputError(`${loss}: target ${i} is ${v}: targets must lie in [0, 1]`);
  }
}

/**
 * Binary cross-entropy on probabilities, as torch.nn.BCELoss: -(t log(o) + (1 - t) log(1 - o)),
 * each log clamped at -100 as PyTorch does (so o = 0 or 1 gives a finite loss). Outputs must lie
 * in [0, 1] (put a Sigmoid before it, or better use BCEWithLogitsLoss on the logits).
 * Accuracy (one output per sample): output > 0.5 against target > 0.5.
 */
export class BCELoss extends DenseLoss {
  constructor(options: LossOptions = {}) { super(options, 'BCELoss'); }

  override toString(): string { return `BCELoss(reduction='${this.reduction}')`; }

  override accuracyRule(cols: number): AccuracyRule {
    return cols === 1 ? { kind: 'threshold', at: 0.5 } : null;
  }

  protected override checkTargetValues(values: Float32Array): void { checkUnitInterval(this, values); }

  /** Like PyTorch, refuses outputs outside [0, 1] (InputError naming the first): BCELoss takes probabilities. */
  override checkOutputs(values: Float32Array, what = `${this}`): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 1)) {
        throw new InputError(`${what}: output ${i} is ${v}: BCELoss takes probabilities in [0, 1] (use BCEWithLogitsLoss on logits)`);
      }
    }
  }

  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.bce_f32_fwd_bwd(out, target, dOut, rows * cols, this.elementScale(rows, cols));
  }
}

export interface BCEWithLogitsLossOptions extends LossOptions {
  /**
   * PyTorch's pos_weight: one weight per output column for the positive term
   * (-pw * t * log(sigmoid(x))); its length must equal the output width.
   */
  posWeight?: ArrayLike<number>;
}

/**
 * Binary cross-entropy on logits, as torch.nn.BCEWithLogitsLoss: the sigmoid and the loss fused in
 * the stable form max(x, 0) - x t + log1p(exp(-|x|)), with optional per-column posWeight.
 * Targets lie in [0, 1]. Accuracy (one output per sample): logit > 0 against target > 0.5.
 */
export class BCEWithLogitsLoss extends DenseLoss {
  /** A copy of the options' posWeight, or null. */
  readonly #posWeight: Float32Array | null;

  constructor(options: BCEWithLogitsLossOptions = {}) {
    super(options, 'BCEWithLogitsLoss', ['reduction', 'posWeight']);
    const pw = options?.posWeight;
    let posWeight: Float32Array | null = null;
    if (pw !== undefined && pw !== null) {
      if (typeof pw !== 'object' || typeof pw.length !== 'number' || pw.length < 1) {
        throw new ConfigError(`BCEWithLogitsLoss: posWeight must be a non-empty array of numbers, got ${String(pw)}`);
      }
      for (let i = 0; i < pw.length; i++) {
        const v = pw[i];
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
          throw new ConfigError(`BCEWithLogitsLoss: posWeight[${i}] is ${String(v)}: weights must be finite and >= 0`);
        }
      }
      posWeight = Float32Array.from(pw);
    }
    this.#posWeight = posWeight;
  }

  /** A copy of the options' posWeight, or null. */
  get posWeight(): Float32Array | null { return this.#posWeight?.slice() ?? null; }

  override toString(): string {
    const pw = this.#posWeight;
    if (!pw) return `BCEWithLogitsLoss(reduction='${this.reduction}')`;
    const shown = Array.from(pw.subarray(0, 6), (v) => String(v)).join(', ') + (pw.length > 6 ? `, ... (${pw.length} values)` : '');
    return `BCEWithLogitsLoss(reduction='${this.reduction}', pos_weight=[${shown}])`;
  }

  override accuracyRule(cols: number): AccuracyRule {
    return cols === 1 ? { kind: 'threshold', at: 0 } : null;
  }

  /** As Loss.toTargets, after checking that posWeight has one weight per output column. */
  override toTargets(target: Targets, rows: number, cols: number): Int32Array | Float32Array {
    this.checkWidth(cols);
    return super.toTargets(target, rows, cols);
  }

  protected override checkTargetValues(values: Float32Array): void { checkUnitInterval(this, values); }

  /** posWeight goes into aux (cols floats the caller provides) on every call: the loss owns no wasm memory. */
  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number, aux: number): number {
    this.checkWidth(cols);
    const pw = this.#posWeight;
    if (pw) rt.heap.f32.set(pw, aux >>> 2);
    return rt.kernels.bce_with_logits_f32_fwd_bwd(out, target, pw ? aux : 0, dOut, rows * cols, cols, this.elementScale(rows, cols));
  }

  private checkWidth(cols: number): void {
    const pw = this.#posWeight;
    if (pw && pw.length !== cols) {
      throw new ShapeError(`${this}: posWeight has ${pw.length} values, the output has ${cols} columns per sample`);
    }
  }

}
