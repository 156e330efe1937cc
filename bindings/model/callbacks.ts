// Keras-style training callbacks and the per-epoch history.

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
  onTrainBegin?(info: { epochs: number; steps: number; samples: number }): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** Runs inside the hot loop: keep it cheap. */
  onBatchEnd?(batch: number, logs: BatchLogs): void;
  /** Return false to stop training after this epoch. */
  onEpochEnd?(epoch: number, logs: EpochLogs): void | boolean | Promise<void | boolean>;
  onTrainEnd?(history: History): void | Promise<void>;
}

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
    this.stream = options.stream ?? (typeof process !== 'undefined' ? process.stderr : undefined);
    this.width = options.width ?? 30;
    this.intervalMs = options.intervalMs ?? 100;
  }

  onTrainBegin(info: { epochs: number; steps: number }): void {
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
