// Regression losses over dense targets (one float per output), as torch.nn.MSELoss and
// torch.nn.L1Loss. PyTorch's 'mean' averages over every element (rows * cols), not over rows.

import type { Runtime } from '../runtime/load.js';
import { Loss, type AccuracyRule, type LossOptions, type TargetKind } from './loss.js';

/**
 * A loss whose targets have the output's shape. 'mean' divides by the number of elements, as
 * PyTorch does for its elementwise losses; there is no accuracy rule unless a subclass gives one.
 */
export abstract class DenseLoss extends Loss {
  override get targetKind(): TargetKind { return 'dense'; }

  override accuracyRule(cols: number): AccuracyRule {
    void cols;
    return null;
  }

  /** 1 / (rows * cols) for 'mean', 1 for 'sum'. */
  protected elementScale(rows: number, cols: number): number {
    return this.reduction === 'mean' ? 1 / (rows * cols) : 1;
  }
}

/** Mean squared error (squared L2 norm), as torch.nn.MSELoss: mean or sum of (out - target)^2. */
export class MSELoss extends DenseLoss {
  constructor(options: LossOptions = {}) { super(options, 'MSELoss'); }

  override toString(): string { return `MSELoss(reduction='${this.reduction}')`; }

  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.mse_f32_fwd_bwd(out, target, dOut, rows * cols, this.elementScale(rows, cols));
  }
}

/** Mean absolute error, as torch.nn.L1Loss: mean or sum of |out - target| (gradient sign(out - target), 0 at a tie). */
export class L1Loss extends DenseLoss {
  constructor(options: LossOptions = {}) { super(options, 'L1Loss'); }

  override toString(): string { return `L1Loss(reduction='${this.reduction}')`; }

  override compute(rt: Runtime, out: number, target: number, dOut: number, rows: number, cols: number): number {
    return rt.kernels.l1_f32_fwd_bwd(out, target, dOut, rows * cols, this.elementScale(rows, cols));
  }
}
