// Datasets, random splits and a DataLoader, after torch.utils.data. A dataset is samples of one
// per-sample shape plus one target per sample (a class label, or a row of dense values).

import { ConfigError, InputError, ShapeError, describe } from '../errors.js';
import { Generator, defaultGenerator, checkGenerator } from '../random.js';
import { checkFlag, checkInteger, checkOptions } from '../options.js';
import { Tensor, formatShape, sizeOf, type Shape } from '../tensor.js';

/** Targets stored per sample: class labels (width 1) or dense rows of `width` values. */
export type TargetArray = Int32Array | Float32Array;

export interface Batch {
  /** (batch, ...sampleShape) */
  x: Tensor;
  /** (batch,) labels or (batch * width) dense values */
  y: TargetArray;
  /** indices of the samples in the dataset this batch came from */
  indices: Int32Array;
}

export interface Dataset {
  readonly length: number;
  readonly sampleShape: Shape;
  /** Values per target (1 for class labels). */
  readonly targetWidth: number;
  /** Copies samples `indices` (in that order) into a batch. */
  gather(indices: ArrayLike<number>): Batch;
}

/** Samples and targets held in memory, as torch.utils.data.TensorDataset. */
export class TensorDataset implements Dataset {
  readonly sampleShape: Shape;
  readonly targetWidth: number;
  readonly length: number;

  /**
   * x: (N, ...sampleShape); y: N class labels (any integer array) or a Float32Array / Tensor of
   * N rows of dense targets.
   */
  constructor(readonly x: Tensor, y: ArrayLike<number> | Tensor, options: { dense?: boolean } = {}) {
    if (!(x instanceof Tensor)) throw new InputError(`TensorDataset: x must be a Tensor (N, ...sampleShape), got ${describe(x)}`);
    checkOptions('TensorDataset', options, ['dense']);
    options ??= {};
    if (options.dense !== undefined) checkFlag('TensorDataset', 'dense', options.dense);
    if (!(y instanceof Tensor) && !Array.isArray(y) && !(ArrayBuffer.isView(y) && !(y instanceof DataView))) {
      throw new InputError(`TensorDataset: y must be an array of labels or targets, got ${describe(y)}`);
    }
    if (x.shape.length < 2) throw new ShapeError(`TensorDataset: x needs a batch dimension, got shape ${formatShape(x.shape)}`);
    this.length = x.shape[0];
    this.sampleShape = x.shape.slice(1);
    const values = y instanceof Tensor ? y.data : y;
    const dense = options.dense ?? (y instanceof Tensor || y instanceof Float32Array);
    if (dense) {
      if (values.length % Math.max(this.length, 1) !== 0 || (this.length === 0 && values.length !== 0)) {
        throw new ShapeError(`TensorDataset: ${values.length} target values do not divide into ${this.length} samples`);
      }
      this.targetWidth = this.length ? values.length / this.length : 1;
      this.y = Float32Array.from(values as ArrayLike<number>);
    } else {
      if (values.length !== this.length) throw new ShapeError(`TensorDataset: ${values.length} labels for ${this.length} samples`);
      const labels = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] !== 'number' || !Number.isInteger(values[i])) throw new InputError(`TensorDataset: label ${i} is ${values[i]}: labels must be integers`);
        labels[i] = values[i];
      }
      this.targetWidth = 1;
      this.y = labels;
    }
  }

  readonly y: TargetArray;

  gather(indices: ArrayLike<number>): Batch {
    const d = sizeOf(this.sampleShape), w = this.targetWidth;
    const x = new Float32Array(indices.length * d);
    const y = this.y instanceof Int32Array ? new Int32Array(indices.length * w) : new Float32Array(indices.length * w);
    const idx = Int32Array.from(indices);
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r];
      if (!(i >= 0 && i < this.length)) throw new ShapeError(`TensorDataset: index ${i} out of range [0, ${this.length})`);
      x.set(this.x.data.subarray(i * d, i * d + d), r * d);
      y.set(this.y.subarray(i * w, i * w + w), r * w);
    }
    return { x: new Tensor(x, [idx.length, ...this.sampleShape]), y, indices: idx };
  }
}

/** Refuses anything that is not a Dataset (length, sampleShape, gather). */
function checkDataset(owner: string, dataset: unknown): asserts dataset is Dataset {
  const d = dataset as Dataset | null;
  if (d === null || typeof d !== 'object' || typeof d.length !== 'number' || typeof d.gather !== 'function') {
    throw new ConfigError(`${owner}: expected a Dataset (TensorDataset, Subset, ...), got ${describe(dataset)}`);
  }
}

/** A view of some samples of another dataset, as torch.utils.data.Subset. */
export class Subset implements Dataset {
  readonly indices: Int32Array;
  constructor(readonly dataset: Dataset, indices: ArrayLike<number>) {
    checkDataset('Subset', dataset);
    if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
      throw new ConfigError(`Subset: indices must be an array of integers, got ${describe(indices)}`);
    }
    this.indices = Int32Array.from(indices);
    for (const i of this.indices) {
      if (!(i >= 0 && i < dataset.length)) throw new ShapeError(`Subset: index ${i} out of range [0, ${dataset.length})`);
    }
  }
  get length(): number { return this.indices.length; }
  get sampleShape(): Shape { return this.dataset.sampleShape; }
  get targetWidth(): number { return this.dataset.targetWidth; }
  gather(indices: ArrayLike<number>): Batch {
    const mapped = Int32Array.from(indices, (i) => {
      if (!(i >= 0 && i < this.indices.length)) throw new ShapeError(`Subset: index ${i} out of range [0, ${this.indices.length})`);
      return this.indices[i];
    });
    return { ...this.dataset.gather(mapped), indices: Int32Array.from(indices) };
  }
}

/** All samples of a dataset as one batch: what model.fit / evaluate / predict take. */
export function toArrays(dataset: Dataset): { x: Tensor; y: TargetArray } {
  checkDataset('toArrays', dataset);
  const { x, y } = dataset.gather(Array.from({ length: dataset.length }, (_, i) => i));
  return { x, y };
}

/**
 * Splits a dataset into non-overlapping random subsets, as torch.utils.data.random_split:
 * `lengths` are counts summing to the dataset's length, or fractions summing to 1 (the
 * remainder of flooring goes to the first parts, one each, as PyTorch does).
 */
export function randomSplit(dataset: Dataset, lengths: number[], options: { generator?: Generator; seed?: number } = {}): Subset[] {
  checkDataset('randomSplit', dataset);
  checkOptions('randomSplit', options, ['generator', 'seed']);
  options ??= {};
  if (!Array.isArray(lengths) || !lengths.every((l) => typeof l === 'number' && Number.isFinite(l))) {
    throw new ConfigError(`randomSplit: lengths must be an array of numbers, got ${describe(lengths)}`);
  }
  if (lengths.length === 0) throw new ConfigError('randomSplit: lengths is empty');
  let counts = lengths;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.every((l) => l >= 0 && l <= 1) && Math.abs(total - 1) < 1e-9 && total !== dataset.length) {
    counts = lengths.map((f) => Math.floor(dataset.length * f));
    let remainder = dataset.length - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; remainder > 0; i = (i + 1) % counts.length, remainder--) counts[i]++;
  }
  if (counts.some((c) => !Number.isInteger(c) || c < 0) || counts.reduce((a, b) => a + b, 0) !== dataset.length) {
    throw new ConfigError(`randomSplit: lengths [${lengths.join(', ')}] must be non-negative counts summing to ` +
      `${dataset.length} or fractions summing to 1`);
  }
  const gen = options.generator !== undefined ? checkGenerator('randomSplit', options.generator)
    : options.seed !== undefined ? new Generator(options.seed) : defaultGenerator;
  const order = gen.permutation(dataset.length);
  const parts: Subset[] = [];
  let at = 0;
  for (const c of counts) {
    parts.push(new Subset(dataset, order.subarray(at, at + c)));
    at += c;
  }
  return parts;
}

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  /** Seeds the shuffling; otherwise `generator`, otherwise the default generator. */
  seed?: number;
  generator?: Generator;
}

/** Batches of a dataset, reshuffled on every iteration when shuffle is on (torch.utils.data.DataLoader). */
export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly generator: Generator;

  constructor(readonly dataset: Dataset, options: DataLoaderOptions = {}) {
    checkDataset('DataLoader', dataset);
    checkOptions('DataLoader', options, ['batchSize', 'shuffle', 'dropLast', 'seed', 'generator']);
    options ??= {};
    this.batchSize = options.batchSize ?? 1;
    checkInteger('DataLoader', 'batchSize', this.batchSize, 1);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    checkFlag('DataLoader', 'shuffle', this.shuffle);
    checkFlag('DataLoader', 'dropLast', this.dropLast);
    this.generator = options.generator !== undefined ? checkGenerator('DataLoader', options.generator)
      : options.seed !== undefined ? new Generator(options.seed) : defaultGenerator;
  }

  /** Number of batches per iteration. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const n = this.dataset.length;
    const order = this.shuffle ? this.generator.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    for (let begin = 0; begin < n; begin += this.batchSize) {
      const end = Math.min(begin + this.batchSize, n);
      if (this.dropLast && end - begin < this.batchSize) break;
      yield this.dataset.gather(order.subarray(begin, end));
    }
  }
}
