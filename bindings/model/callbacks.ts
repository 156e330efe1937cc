// Keras-style training callbacks and the per-epoch history.

import { ConfigError, NumericError, describe } from '../errors.js';
import { checkFlag, checkHyper, checkInteger, checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';

/** What callbacks see of the model: enough to save and restore its weights. */
export interface CallbackModel {
  stateDict(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, Tensor>): void;
}

export interface TrainInfo {
  epochs: number;
  steps: number;
  samples: number;
  /** Whether fit has validation data (val_loss and val_accuracy will be in the epoch logs). */
  validation: boolean;
  model: CallbackModel;
}

export interface BatchLogs { batch: number; size: number; loss: number; accuracy: number }

export interface EpochLogs {
  loss: number;
  accuracy: number;
  /** Training time of the epoch in seconds (validation excluded). */
  seconds: number;
  val_loss?: number;
  val_accuracy?: number;
}

export interface Callback {
  onTrainBegin?(info: TrainInfo): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** Runs inside the hot loop: keep it cheap. */
  onBatchEnd?(batch: number, logs: BatchLogs): void;
  /** Return false to stop training after this epoch. */
  onEpochEnd?(epoch: number, logs: EpochLogs): void | boolean | Promise<void | boolean>;
  onTrainEnd?(history: History): void | Promise<void>;
}

/** The keys of EpochLogs, which callbacks may monitor. */
export const LOG_KEYS: readonly string[] = ['loss', 'accuracy', 'seconds', 'val_loss', 'val_accuracy'];

export class History {
  readonly epoch: number[] = [];
  readonly history: { [K in keyof EpochLogs]-?: number[] } = {
    loss: [], accuracy: [], seconds: [], val_loss: [], val_accuracy: [],
  };

  record(epoch: number, logs: EpochLogs): void {
    this.epoch.push(epoch);
    for (const key of Object.keys(this.history) as (keyof EpochLogs)[]) {
      const v = logs[key];
      if (v !== undefined) this.history[key].push(v);
    }
  }
}

export interface ProgressBarOptions {
  /** Where to draw; defaults to process.stderr in Node. */
  stream?: { write(s: string): unknown; isTTY?: boolean };
  width?: number;
  /** Redraw at most this often (ms). */
  intervalMs?: number;
}

/**
 * A per-epoch progress bar with running loss and accuracy. On a terminal it redraws one line;
 * elsewhere (CI logs, pipes) it stays silent, since carriage returns would only fill the log.
 */
export class ProgressBar implements Callback {
  private steps = 0;
  private epochs = 0;
  private epoch = 0;
  private lastDraw = 0;
  private started = 0;
  private readonly stream: ProgressBarOptions['stream'];
  private readonly width: number;
  private readonly intervalMs: number;

  constructor(options: ProgressBarOptions = {}) {
    checkOptions('ProgressBar', options, ['stream', 'width', 'intervalMs']);
    options ??= {};
    if (options.stream !== undefined && (options.stream === null || typeof options.stream.write !== 'function')) {
      throw new ConfigError(`ProgressBar: stream must have a write(string) method, got ${describe(options.stream)}`);
    }
    if (options.width !== undefined) checkInteger('ProgressBar', 'width', options.width, 1, 1000);
    if (options.intervalMs !== undefined) checkHyper('ProgressBar', 'intervalMs', options.intervalMs, (v) => v >= 0, '>= 0');
    this.stream = options.stream ?? (typeof process !== 'undefined' ? process.stderr : undefined);
    this.width = options.width ?? 30;
    this.intervalMs = options.intervalMs ?? 100;
  }

  onTrainBegin(info: TrainInfo): void {
    this.steps = info.steps;
    this.epochs = info.epochs;
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.started = this.lastDraw = performance.now();
  }

  onBatchEnd(batch: number, logs: BatchLogs): void {
    if (!this.stream?.isTTY) return;
    const now = performance.now();
    if (now - this.lastDraw < this.intervalMs && batch + 1 < this.steps) return;
    this.lastDraw = now;
    const done = (batch + 1) / this.steps;
    const filled = Math.round(done * this.width);
    const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled ? '>' : '') + '.'.repeat(this.width - filled);
    const secs = ((now - this.started) / 1000).toFixed(1);
    this.stream.write(`\repoch ${this.epoch + 1}/${this.epochs} [${bar}] ${batch + 1}/${this.steps} ` +
      `loss ${logs.loss.toFixed(4)} acc ${(logs.accuracy * 100).toFixed(2)}% ${secs}s`);
  }

  onEpochEnd(): void {
    if (this.stream?.isTTY) this.stream.write('\r\x1b[2K');
  }
}

export interface EarlyStoppingOptions {
  /** The epoch log to watch: 'val_loss' (default), 'val_accuracy', 'loss', 'accuracy'. */
  monitor?: keyof EpochLogs;
  /** Stop after this many epochs in a row without improvement (Keras's count). */
  patience?: number;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** 'min' for losses, 'max' for accuracies; 'auto' picks by the name. */
  mode?: 'auto' | 'min' | 'max';
  /** When training ends, put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
}

/** Stops training when the monitored value stops improving (Keras's EarlyStopping). */
export class EarlyStopping implements Callback {
  readonly monitor: keyof EpochLogs;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'min' | 'max';
  readonly restoreBestWeights: boolean;
  /** Epoch (0-based) with the best value, and that value. */
  bestEpoch = -1;
  best = NaN;
  /** Epoch after which training stopped, or -1 if it ran to the end. */
  stoppedEpoch = -1;
  private wait = 0;
  private model: CallbackModel | null = null;
  private bestWeights: Record<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    checkOptions('EarlyStopping', options, ['monitor', 'patience', 'minDelta', 'mode', 'restoreBestWeights']);
    options ??= {};
    if (options.monitor !== undefined && !LOG_KEYS.includes(options.monitor as string)) {
      throw new ConfigError(`EarlyStopping: monitor must be one of ${LOG_KEYS.join(', ')}, got ${describe(options.monitor)}`);
    }
    if (options.restoreBestWeights !== undefined) checkFlag('EarlyStopping', 'restoreBestWeights', options.restoreBestWeights);
    if (options.minDelta !== undefined) checkHyper('EarlyStopping', 'minDelta', options.minDelta, () => true, 'a finite number');
    this.monitor = options.monitor ?? 'val_loss';
    this.patience = options.patience ?? 0;
    this.minDelta = Math.abs(options.minDelta ?? 0);
    const mode = options.mode ?? 'auto';
    if (!['auto', 'min', 'max'].includes(mode)) throw new ConfigError(`EarlyStopping: mode must be 'auto', 'min' or 'max', got '${mode}'`);
    this.mode = mode === 'auto' ? (String(this.monitor).includes('acc') ? 'max' : 'min') : mode;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new ConfigError(`EarlyStopping: patience must be an integer >= 0, got ${this.patience}`);
    if (!Number.isFinite(this.minDelta)) throw new ConfigError(`EarlyStopping: minDelta must be finite, got ${options.minDelta}`);
    this.restoreBestWeights = options.restoreBestWeights ?? false;
  }

  onTrainBegin(info: TrainInfo): void {
    if (String(this.monitor).startsWith('val_') && !info.validation) {
      throw new ConfigError(`EarlyStopping: it monitors '${String(this.monitor)}', but fit has no validation data ` +
        '(give fit a validationSplit or validationData, or monitor loss)');
    }
    this.model = info.model;
    this.wait = 0;
    this.bestEpoch = this.stoppedEpoch = -1;
    this.best = NaN;
    this.bestWeights = null;
  }

  onEpochEnd(epoch: number, logs: EpochLogs): boolean {
    const value = logs[this.monitor];
    if (value === undefined) {
      throw new ConfigError(`EarlyStopping: the epoch logs have no '${String(this.monitor)}'` +
        (String(this.monitor).startsWith('val_') ? ' (give fit a validationSplit or validationData)' : ''));
    }
    if (Number.isNaN(value)) {
      throw new NumericError(`EarlyStopping: '${String(this.monitor)}' is NaN at epoch ${epoch + 1}` +
        (String(this.monitor).endsWith('accuracy') ? ' (the loss has no accuracy rule; monitor a loss)' : ''));
    }
    const improved = this.bestEpoch < 0 ||
      (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = this.model!.stateDict();
      return true;
    }
    // Keras and Lightning count the same way: the patience-th epoch without improvement stops
    // (patience 0 stops at the first one).
    this.wait++;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      return false;
    }
    return true;
  }

  onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights) this.model!.loadStateDict(this.bestWeights);
  }
}
