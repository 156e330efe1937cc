import { Layer, lockFields, type ForwardArgs, type BackwardArgs, type LayerConfig } from './layer.js';
import { Parameter } from './parameter.js';
import { ConfigError, InputError, NumericError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { formatShape, type Shape } from '../tensor.js';
import type { Runtime } from '../runtime/load.js';

export interface BatchNormOptions {
  eps?: number;
  /**
   * Weight of the new batch in the running statistics (PyTorch's convention: running =
   * (1 - momentum) running + momentum batch); null for a cumulative average over all batches.
   */
  momentum?: number | null;
  /** Learnable weight (gamma, init 1) and bias (beta, init 0). */
  affine?: boolean;
  /** Keep running statistics and use them in eval mode (else eval mode uses batch statistics). */
  trackRunningStats?: boolean;
}

/**
 * torch.nn.BatchNorm1d / BatchNorm2d over x viewed as [N, C, S]: per channel, normalise by the
 * batch's mean and biased variance in training mode and fold them into the running statistics
 * (the variance unbiased, as PyTorch does); in eval mode use the running statistics.
 */
abstract class BatchNorm extends Layer {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null = null;
  readonly bias: Parameter | null = null;
  private readonly runningMeanBuf: Parameter | null = null;
  private readonly runningVarBuf: Parameter | null = null;
  private readonly batchesTracked: Parameter | null = null;
  /** The statistics the last recorded forward normalised with (mean, 1/sqrt(var + eps)), for backward. */
  private readonly savedMean: Parameter;
  private readonly savedInvstd: Parameter;
  /** The last training batch's biased variance, for a running-statistics update deferred to commit(). */
  private readonly savedVar: Parameter;
  /** Whether the last recorded forward used batch statistics (backward must differentiate through them). */
  private usedBatchStats = true;
  /** Values per channel of a training forward whose running-statistics update awaits commit(), else 0. */
  private pendingCount = 0;

  constructor(private readonly owner: string, readonly numFeatures: number, options: BatchNormOptions) {
    super();
    if (typeof numFeatures !== 'number' || !Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new ConfigError(`${owner}: numFeatures must be a positive integer, got ${String(numFeatures)}`);
    }
    checkOptions(owner, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    options ??= {};
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== 'number' || !(this.eps > 0) || !Number.isFinite(this.eps)) {
      throw new ConfigError(`${owner}: eps must be a positive number, got ${options.eps}`);
    }
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (this.momentum !== null && !(typeof this.momentum === 'number' && this.momentum >= 0 && this.momentum <= 1)) {
      throw new ConfigError(`${owner}: momentum must be in [0, 1] or null, got ${options.momentum}`);
    }
    for (const name of ['affine', 'trackRunningStats'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') {
        throw new ConfigError(`${owner}: ${name} must be true or false, got ${String(options[name])}`);
      }
    }
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const C = numFeatures;
    if (this.affine) {
      this.weight = new Parameter('weight', [C], new Float32Array(C).fill(1));
      this.bias = new Parameter('bias', [C], new Float32Array(C));
      this.params.push(this.weight, this.bias);
    }
    if (this.trackRunningStats) {
      this.runningMeanBuf = new Parameter('running_mean', [C], new Float32Array(C));
      this.runningVarBuf = new Parameter('running_var', [C], new Float32Array(C).fill(1));
      this.batchesTracked = new Parameter('num_batches_tracked', [], new Float32Array(1));
      this.buffers.push(this.runningMeanBuf, this.runningVarBuf, this.batchesTracked);
    }
    this.savedMean = new Parameter('saved_mean', [C], new Float32Array(C));
    this.savedInvstd = new Parameter('saved_invstd', [C], new Float32Array(C));
    this.savedVar = new Parameter('saved_var', [C], new Float32Array(C));
    this.savedMean.persistent = this.savedInvstd.persistent = this.savedVar.persistent = false;
    this.buffers.push(this.savedMean, this.savedInvstd, this.savedVar);
    lockFields(this, ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'weight', 'bias']);
  }

  /** Copies of the running mean and variance (null without trackRunningStats). */
  get runningMean(): Float32Array | null { return this.runningMeanBuf?.view().slice() ?? null; }
  get runningVar(): Float32Array | null { return this.runningVarBuf?.view().slice() ?? null; }
  get numBatchesTracked(): number { return this.batchesTracked?.view()[0] ?? 0; }

  override toString(): string {
    return `${this.owner}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum === null ? 'None' : this.momentum}, ` +
      `affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'})`;
  }

  override config(): LayerConfig {
    return { type: this.owner, numFeatures: this.numFeatures, eps: this.eps, momentum: this.momentum, affine: this.affine,
      trackRunningStats: this.trackRunningStats };
  }

  /** Channels and the per-channel size S of a per-sample input (checked). */
  protected abstract channelsAndSpatial(inShape: Shape): [number, number];

  override outputShape(inShape: Shape): Shape {
    this.channelsAndSpatial(inShape);
    return inShape;
  }

  protected checkChannels(inShape: Shape, dims: string): void {
    if (inShape[0] !== this.numFeatures) {
      throw new ShapeError(`${this} expects ${this.numFeatures} channels, got input ${formatShape(inShape)} (per sample ${dims})`);
    }
  }

  /** Inference keeps its statistics (mean, invstd) in the shared scratch, leaving the saved ones to backward. */
  override scratch(inShape: Shape): number { return 2 * this.channelsAndSpatial(inShape)[0]; }

  override get inPlace(): boolean { return true; }

  override checkTrainingBatch(batch: number, inShape: Shape): void {
    const [, S] = this.channelsAndSpatial(inShape);
    if (batch * S < 2) {
      throw new InputError(`${this}: training needs more than 1 value per channel, got input [${batch}, ${inShape.join(', ')}]`);
    }
  }

  override forward({ rt, batch, x, y, inShape, training, scratch, record = true, commit = true }: ForwardArgs): void {
    const k = rt.kernels;
    const [C, S] = this.channelsAndSpatial(inShape);
    const useBatch = training || !this.trackRunningStats;
    if (training) this.checkTrainingBatch(batch, inShape);
    // a recorded forward keeps its statistics for backward; inference uses the scratch
    const mean = record ? this.savedMean.ptr : scratch;
    const invstd = record ? this.savedInvstd.ptr : scratch + C * 4;
    const f32 = rt.heap.f32;
    const m = mean >>> 2, v = invstd >>> 2;
    this.pendingCount = 0;
    if (useBatch) {
      // the batch variance goes to the invstd buffer first, then becomes 1/sqrt(var + eps) in place
      k.batchnorm_f32_stats(x, batch, C, S, mean, invstd);
      if (training && this.trackRunningStats) {
        f32.copyWithin(this.savedVar.ptr >>> 2, v, v + C);
        this.pendingCount = batch * S;
        if (commit) this.commit(rt);
      }
      for (let c = 0; c < C; c++) f32[v + c] = 1 / Math.sqrt(f32[v + c] + this.eps);
    } else {
      const rm = this.runningMeanBuf!.ptr >>> 2, rv = this.runningVarBuf!.ptr >>> 2;
      for (let c = 0; c < C; c++) {
        f32[m + c] = f32[rm + c];
        f32[v + c] = 1 / Math.sqrt(f32[rv + c] + this.eps);
      }
    }
    if (record) this.usedBatchStats = useBatch;
    k.batchnorm_f32_fwd(x, batch, C, S, mean, invstd, this.weight?.ptr ?? 0, this.bias?.ptr ?? 0, y);
  }

  /**
   * Folds the last training batch's statistics into the running ones (PyTorch does this in the
   * forward; fit defers it until the step is known to succeed).
   */
  override commit(rt: Runtime): void {
    const next = this.nextRunningStats(rt);
    if (!next) return;
    this.pendingCount = 0;
    const f32 = rt.heap.f32;
    f32.set(next.mean, this.runningMeanBuf!.ptr >>> 2);
    f32.set(next.variance, this.runningVarBuf!.ptr >>> 2);
    f32[this.batchesTracked!.ptr >>> 2] = next.tracked;
  }

  /** A NumericError, before anything changes, when the pending update would store NaN or Infinity. */
  override checkStep(rt: Runtime): void {
    this.nextRunningStats(rt);
  }

  /**
   * The running statistics the pending batch leads to (null when none is pending), rounded to
   * float32 as they will be stored; a NumericError when any is not finite (a batch whose variance
   * overflows float32), so that the update is refused whole.
   */
  private nextRunningStats(rt: Runtime): { mean: Float32Array; variance: Float32Array; tracked: number } | null {
    const count = this.pendingCount;
    if (!count) return null;
    const f32 = rt.heap.f32, C = this.numFeatures;
    const m = this.savedMean.ptr >>> 2, v = this.savedVar.ptr >>> 2;
    const rm = this.runningMeanBuf!.ptr >>> 2, rv = this.runningVarBuf!.ptr >>> 2;
    const tracked = f32[this.batchesTracked!.ptr >>> 2] + 1;
    const factor = this.momentum === null ? 1 / tracked : this.momentum;
    const unbias = count / (count - 1);
    const mean = new Float32Array(C), variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      mean[c] = (1 - factor) * f32[rm + c] + factor * f32[m + c];
      variance[c] = (1 - factor) * f32[rv + c] + factor * f32[v + c] * unbias;
      if (!Number.isFinite(mean[c]) || !Number.isFinite(variance[c])) {
        throw new NumericError(`${this}: the batch statistics of channel ${c} overflow float32 (mean ${f32[m + c]}, ` +
          `variance ${f32[v + c]}); the running statistics were not updated`);
      }
    }
    return { mean, variance, tracked };
  }

  override backward({ rt, batch, x, dy, dx, inShape }: BackwardArgs): void {
    const [C, S] = this.channelsAndSpatial(inShape);
    const args = [x, dy, batch, C, S, this.savedMean.ptr, this.savedInvstd.ptr, this.weight?.ptr ?? 0, dx,
      this.weight?.gradPtr ?? 0, this.bias?.gradPtr ?? 0] as const;
    if (this.usedBatchStats) rt.kernels.batchnorm_f32_bwd_train(...args);
    else rt.kernels.batchnorm_f32_bwd_eval(...args);
  }
}

/** torch.nn.BatchNorm2d: per-sample input [C, H, W], statistics per channel over N, H and W. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) { super('BatchNorm2d', numFeatures, options); }

  protected override channelsAndSpatial(inShape: Shape): [number, number] {
    if (inShape.length !== 3) throw new ShapeError(`${this} expects a per-sample input [C, H, W], got ${formatShape(inShape)}`);
    this.checkChannels(inShape, '[C, H, W]');
    return [inShape[0], inShape[1] * inShape[2]];
  }
}

/** torch.nn.BatchNorm1d: per-sample input [C] or [C, L], statistics per channel over N (and L). */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) { super('BatchNorm1d', numFeatures, options); }

  protected override channelsAndSpatial(inShape: Shape): [number, number] {
    if (inShape.length !== 1 && inShape.length !== 2) {
      throw new ShapeError(`${this} expects a per-sample input [C] or [C, L], got ${formatShape(inShape)}`);
    }
    this.checkChannels(inShape, inShape.length === 1 ? '[C]' : '[C, L]');
    return [inShape[0], inShape.length === 2 ? inShape[1] : 1];
  }
}
