// Learning-rate schedulers after torch.optim.lr_scheduler (PyTorch 1.13): StepLR, ExponentialLR,
// CosineAnnealingLR (the recursive, "chainable" get_lr, so successive values equal torch's in
// float64) and ReduceLROnPlateau. Each one sets optimizer.lr. They are also fit() callbacks:
// `fit(x, y, { callbacks: [new StepLR(opt, { stepSize: 5 })] })` steps them once per epoch, at
// the epoch's end, as the PyTorch loop `train(); scheduler.step()` does.

import { Optimizer, checkHyper, checkOptions } from './optimizer.js';
import { ConfigError, InputError } from '../errors.js';
import { LOG_KEYS, type Callback, type EpochLogs, type TrainInfo } from '../model/callbacks.js';

function checkOptimizer(owner: string, optimizer: unknown): asserts optimizer is Optimizer {
  if (!(optimizer instanceof Optimizer)) {
    throw new ConfigError(`${owner}: the first argument must be an Optimizer (e.g. new SGD(model, { lr })), got ${String(optimizer)}`);
  }
}

function checkInteger(owner: string, name: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${owner}: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * torch.optim.lr_scheduler.LRScheduler (1.13's _LRScheduler) with last_epoch = -1: construction
 * counts as step 0 and leaves the rate as it is; each step() advances lastEpoch and sets
 * optimizer.lr from the scheduler's recursive rule.
 */
export abstract class LRScheduler implements Callback {
  /** The learning rate when the scheduler was made (torch: base_lrs[0], from initial_lr). */
  baseLr: number;
  /** Steps taken (torch: last_epoch). */
  lastEpoch = 0;
  private lastLr: number;

  protected constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
    this.lastLr = optimizer.lr;
  }

  /** Advances one epoch and sets optimizer.lr. */
  step(): void {
    // all or nothing: a rate the optimizer refuses (overflow, or a disposed optimizer) leaves the
    // scheduler where it was
    this.lastEpoch++;
    try {
      const lr = this.getLr();
      this.optimizer.lr = lr;
      this.lastLr = lr;
    } catch (e) {
      this.lastEpoch--;
      throw e;
    }
  }

  /** The rate set by the last step (or the starting rate). */
  getLastLr(): number {
    return this.lastLr;
  }

  /** fit() callback: one step per epoch. */
  onEpochEnd(): void {
    this.step();
  }

  /** The constructor's options as JSON, with the type (saved in checkpoints). */
  abstract config(): { type: string; [option: string]: unknown };

  /** What a checkpoint keeps of the scheduler (torch: last_epoch, base_lrs, _last_lr). */
  exportState(): Record<string, number> {
    return { lastEpoch: this.lastEpoch, baseLr: this.baseLr, lastLr: this.lastLr };
  }

  importState(state: Record<string, unknown>): void {
    const { lastEpoch, baseLr, lastLr } = state;
    if (!Number.isSafeInteger(lastEpoch) || (lastEpoch as number) < 0 || !Number.isFinite(baseLr) || !Number.isFinite(lastLr)) {
      throw new ConfigError(`${this.config().type}: invalid scheduler state ${JSON.stringify(state)}`);
    }
    this.lastEpoch = lastEpoch as number;
    this.baseLr = baseLr as number;
    this.lastLr = lastLr as number;
  }

  /** The rate for lastEpoch, from the optimizer's current rate (torch's chainable get_lr). */
  protected abstract getLr(): number;
}

export interface StepLROptions {
  /** Decay every stepSize epochs (a positive integer). */
  stepSize: number;
  /** Multiplicative factor (default 0.1). */
  gamma?: number;
}

/** torch.optim.lr_scheduler.StepLR: lr *= gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    checkOptimizer('StepLR', optimizer);
    checkOptions('StepLR', options, ['stepSize', 'gamma']);
    const { stepSize, gamma = 0.1 } = options ?? ({} as StepLROptions);
    checkInteger('StepLR', 'stepSize', stepSize, 1);
    checkHyper('StepLR', 'gamma', gamma, (v) => v > 0, 'a positive number');
    super(optimizer);
    this.stepSize = stepSize;
    this.gamma = gamma;
  }

  config() { return { type: 'StepLR', stepSize: this.stepSize, gamma: this.gamma }; }

  protected getLr(): number {
    const lr = this.optimizer.lr;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lr;
    return lr * this.gamma;
  }
}

export interface ExponentialLROptions {
  /** Multiplicative factor per epoch. */
  gamma: number;
}

/** torch.optim.lr_scheduler.ExponentialLR: lr *= gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    checkOptimizer('ExponentialLR', optimizer);
    checkOptions('ExponentialLR', options, ['gamma']);
    const { gamma } = options ?? ({} as ExponentialLROptions);
    checkHyper('ExponentialLR', 'gamma', gamma, (v) => v > 0, 'a positive number');
    super(optimizer);
    this.gamma = gamma;
  }

  config() { return { type: 'ExponentialLR', gamma: this.gamma }; }

  protected getLr(): number {
    const lr = this.optimizer.lr;
    return this.lastEpoch === 0 ? lr : lr * this.gamma;
  }
}

export interface CosineAnnealingLROptions {
  /** Half-period in epochs (a positive integer): the rate reaches etaMin after tMax epochs. */
  tMax: number;
  /** Lowest rate (default 0). */
  etaMin?: number;
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR, with torch's recursive rule (not the closed form
 * etaMin + (base - etaMin) (1 + cos(pi t / tMax)) / 2), evaluated in the same order of float64
 * operations, so the sequence matches PyTorch's. Past tMax it climbs back up (no restart).
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    checkOptimizer('CosineAnnealingLR', optimizer);
    checkOptions('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    const { tMax, etaMin = 0 } = options ?? ({} as CosineAnnealingLROptions);
    checkInteger('CosineAnnealingLR', 'tMax', tMax, 1);
    checkHyper('CosineAnnealingLR', 'etaMin', etaMin, (v) => v >= 0, '>= 0');
    super(optimizer);
    this.tMax = tMax;
    this.etaMin = etaMin;
  }

  config() { return { type: 'CosineAnnealingLR', tMax: this.tMax, etaMin: this.etaMin }; }

  protected getLr(): number {
    const lr = this.optimizer.lr, e = this.lastEpoch, T = this.tMax, etaMin = this.etaMin;
    if (e === 0) return lr;
    // The step after each minimum, where the ratio below would divide by 1 + cos(pi) = 0. (Python's %
    // and JavaScript's differ in sign for negative operands, never in whether the result is 0.)
    if ((e - 1 - T) % (2 * T) === 0) return lr + (this.baseLr - etaMin) * (1 - cos(Math.PI / T)) / 2;
    return (1 + cos(Math.PI * e / T)) / (1 + cos(Math.PI * (e - 1) / T)) * (lr - etaMin) + etaMin;
  }
}

// ---------------------------------------------------------------------------------------------
// A correctly rounded cosine. Math.cos is only required to be approximately right: V8 uses
// fdlibm's (< 1 ulp), and differs in the last bit from CPython's libm on about 2.5% of arguments
// of the form pi * e / T (e.g. cos(pi * 12 / 10)); JavaScriptCore and SpiderMonkey differ again.
// Rounding correctly gives the same bits on every runtime, and PyTorch's (Python's math.cos)
// wherever the platform's libm rounds correctly too: glibc 2.28+ does except on about 0.1% of
// such arguments, where it is off by up to 0.56 ulp and we are not.
// Method: double-double arithmetic (Dekker, "A floating-point technique for extending the
// available precision", 1971; the twoSum / twoProd of Shewchuk 1997 and the QD library),
// Cody-Waite reduction by pi/2 split into three doubles (~160 bits), Taylor series of sin and
// cos on |r| <= pi/4 to ~2^-104, one final rounding. Accurate for |x| < 2^30.

const SPLITTER = 134217729; // 2^27 + 1
const PIO2_1 = 1.5707963267948966, PIO2_2 = 6.123233995736766e-17, PIO2_3 = -1.4973849048591698e-33;
type DD = [number, number];

function twoSum(a: number, b: number): DD {
  const s = a + b, bb = s - a;
  return [s, (a - (s - bb)) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b), bl = b - bh;
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}

function ddAdd([ah, al]: DD, [bh, bl]: DD): DD {
  const [s, e0] = twoSum(ah, bh);
  const [t, f] = twoSum(al, bl);
  const [s1, e1] = quickTwoSum(s, e0 + t);
  return quickTwoSum(s1, e1 + f);
}

function ddMul([ah, al]: DD, [bh, bl]: DD): DD {
  const [p, e] = twoProd(ah, bh);
  return quickTwoSum(p, e + (ah * bl + al * bh));
}

function ddDiv([ah, al]: DD, b: number): DD {
  const q = ah / b;
  const [p, pe] = twoProd(q, b);
  const [s, se] = twoSum(ah, -p);
  return quickTwoSum(q, (s + (se - pe + al)) / b);
}

/** cos(x), correctly rounded (see above). Exported for the tests; not part of the public API. */
export function cos(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  x = Math.abs(x);
  if (x < 2 ** -27) return 1; // 1 - x^2/2 rounds to 1
  const k = Math.round(x / PIO2_1);
  let r = ddAdd([x, 0], twoProd(-k, PIO2_1)); // exact products, so r = x - k pi/2 to ~160 bits
  r = ddAdd(r, twoProd(-k, PIO2_2));
  r = ddAdd(r, [-k * PIO2_3, 0]);
  const r2 = ddMul(r, r);
  const series = (first: DD, n0: number): DD => { // sum of (-1)^j r2^j first / ((n0)(n0+1)...)
    let sum = first, term = first;
    for (let n = n0; n < 60; n += 2) {
      term = ddDiv(ddMul(term, r2), -(n - 1) * n);
      sum = ddAdd(sum, term);
      if (Math.abs(term[0]) <= 2 ** -110 * Math.abs(sum[0])) break;
    }
    return sum;
  };
  const quadrant = k % 4;
  const [h, l] = quadrant % 2 === 0 ? series([1, 0], 2) : series(r, 3);
  const v = h + l;
  return quadrant === 0 || quadrant === 3 ? v : -v;
}

export interface ReduceLROnPlateauOptions {
  /** 'min': reduce when the metric stops falling; 'max': when it stops rising (default 'min'). */
  mode?: 'min' | 'max';
  /** new lr = lr * factor, in [0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Improvement needed to count as one (default 1e-4). */
  threshold?: number;
  /** 'rel': best * (1 -/+ threshold); 'abs': best -/+ threshold (default 'rel'). */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound on the rate (default 0). */
  minLr?: number;
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
  /**
   * As a fit() callback: the epoch log to watch. Default: 'val_loss' when fit has validation data,
   * else 'loss'. A monitor given explicitly must be in the logs.
   */
  monitor?: keyof EpochLogs;
}

const PLATEAU_OPTIONS = ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'monitor'];

/** torch.optim.lr_scheduler.ReduceLROnPlateau: lr *= factor once a metric stops improving. */
export class ReduceLROnPlateau implements Callback {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  readonly monitor: keyof EpochLogs | undefined;
  /** Best metric so far (Infinity / -Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number;

  constructor(readonly optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    const owner = 'ReduceLROnPlateau';
    checkOptimizer(owner, optimizer);
    checkOptions(owner, options, PLATEAU_OPTIONS);
    const {
      mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0,
      minLr = 0, eps = 1e-8, monitor,
    } = options;
    if (mode !== 'min' && mode !== 'max') throw new ConfigError(`${owner}: mode must be 'min' or 'max', got '${mode}'`);
    checkHyper(owner, 'factor', factor, (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkInteger(owner, 'patience', patience, 0);
    checkHyper(owner, 'threshold', threshold, (v) => v >= 0, '>= 0');
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new ConfigError(`${owner}: thresholdMode must be 'rel' or 'abs', got '${thresholdMode}'`);
    }
    checkInteger(owner, 'cooldown', cooldown, 0);
    checkHyper(owner, 'minLr', minLr, (v) => v >= 0, '>= 0');
    checkHyper(owner, 'eps', eps, (v) => v >= 0, '>= 0');
    if (monitor !== undefined && !LOG_KEYS.includes(monitor)) {
      throw new ConfigError(`${owner}: monitor must be one of ${LOG_KEYS.join(', ')}, got '${String(monitor)}'`);
    }
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLr = minLr;
    this.eps = eps;
    this.monitor = monitor;
    this.best = mode === 'min' ? Infinity : -Infinity;
    this.lastLr = optimizer.lr;
  }

  /** fit() callback: an explicit val_* monitor needs validation data, checked before the first step. */
  onTrainBegin(info: TrainInfo): void {
    if (this.monitor !== undefined && String(this.monitor).startsWith('val_') && !info.validation) {
      throw new ConfigError(`ReduceLROnPlateau: it monitors '${String(this.monitor)}', but fit has no validation data`);
    }
  }

  /** Takes one epoch's metric; reduces optimizer.lr after more than `patience` bad epochs. */
  step(metric: number): void {
    if (typeof metric !== 'number') {
      throw new InputError(`ReduceLROnPlateau.step(): the metric must be a number, got ${String(metric)}`);
    }
    this.optimizer.assertLive();
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      const oldLr = this.optimizer.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLr);
      if (oldLr - newLr > this.eps) this.optimizer.lr = newLr;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.lr;
  }

  getLastLr(): number {
    return this.lastLr;
  }

  config() {
    return { type: 'ReduceLROnPlateau', mode: this.mode, factor: this.factor, patience: this.patience, threshold: this.threshold,
      thresholdMode: this.thresholdMode, cooldown: this.cooldown, minLr: this.minLr, eps: this.eps, ...(this.monitor ? { monitor: this.monitor } : {}) };
  }

  exportState(): Record<string, number> {
    return { lastEpoch: this.lastEpoch, lastLr: this.lastLr, best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter };
  }

  importState(state: Record<string, unknown>): void {
    const { lastEpoch, lastLr, best, numBadEpochs, cooldownCounter } = state as Record<string, number>;
    const ints = [lastEpoch, numBadEpochs, cooldownCounter];
    if (!ints.every((v) => Number.isSafeInteger(v) && v >= 0) || !Number.isFinite(lastLr) || typeof best !== 'number' || Number.isNaN(best)) {
      throw new ConfigError(`ReduceLROnPlateau: invalid scheduler state ${JSON.stringify(state)}`);
    }
    Object.assign(this, { lastEpoch, best, numBadEpochs, cooldownCounter });
    this.lastLr = lastLr;
  }

  /** fit() callback: steps with logs[monitor] (default val_loss, or loss without validation). */
  onEpochEnd(_epoch: number, logs: EpochLogs): void {
    const key = this.monitor ?? (logs.val_loss !== undefined ? 'val_loss' : 'loss');
    const value = logs[key];
    if (value === undefined) {
      throw new ConfigError(`ReduceLROnPlateau: the epoch logs have no '${key}'` +
        (key.startsWith('val_') ? ' (give fit a validationSplit or validationData)' : ''));
    }
    this.step(value);
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') {
      return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    }
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }
}
