// Datasets, random splits and a DataLoader, after torch.utils.data. A dataset is samples of one
// per-sample shape plus one target per sample (a class label, or a row of dense values).

import { ConfigError, InputError, ShapeError, describe } from '../errors.js';
import { Generator, defaultGenerator, checkGenerator } from '../random.js';
import { checkFlag, checkInteger, checkOptions } from '../options.js';
import { Tensor, formatShape, readTensor, sizeOf, toFloat32, trustedTensor, type Shape } from '../tensor.js';
import { typedArrayParts } from '../memory/view.js';

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
    const xs = readTensor(x, 'TensorDataset: x');
    checkOptions('TensorDataset', options, ['dense']);
    options ??= {};
    if (options.dense !== undefined) checkFlag('TensorDataset', 'dense', options.dense);
    const yTensor = Tensor.isTensor(y);
    if (!yTensor && !Array.isArray(y) && typedArrayParts(y) === null) {
      throw new InputError(`TensorDataset: y must be an array of labels or targets, got ${describe(y)}`);
    }
    if (xs.shape.length < 2) throw new ShapeError(`TensorDataset: x needs a batch dimension, got shape ${formatShape(xs.shape)}`);
    this.length = xs.shape[0];
    this.sampleShape = xs.shape.slice(1);
    const values: ArrayLike<unknown> = yTensor ? readTensor(y, 'TensorDataset: y').data
      : Array.isArray(y) ? y : toFloat64(y, 'TensorDataset: y');
    const dense = options.dense ?? (yTensor || y instanceof Float32Array);
    if (dense) {
      if (values.length % Math.max(this.length, 1) !== 0 || (this.length === 0 && values.length !== 0)) {
        throw new ShapeError(`TensorDataset: ${values.length} target values do not divide into ${this.length} samples`);
      }
      this.targetWidth = this.length ? values.length / this.length : 1;
      this.y = toFloat32(values, 'TensorDataset: y').slice();
    } else {
      if (values.length !== this.length) throw new ShapeError(`TensorDataset: ${values.length} labels for ${this.length} samples`);
      const labels = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
          throw new InputError(`TensorDataset: label ${i} is ${describe(v)}: labels must be integers in [0, 2^31)`);
        }
        labels[i] = v;
      }
      this.targetWidth = 1;
      this.y = labels;
    }
  }

  readonly y: TargetArray;

  gather(indices: ArrayLike<number>): Batch {
    const d = sizeOf(this.sampleShape), w = this.targetWidth;
    const idx = toIndices(indices, this.length, 'TensorDataset.gather');
    const source = readTensor(this.x, 'TensorDataset: x').data;
    const x = new Float32Array(idx.length * d);
    const y = this.y instanceof Int32Array ? new Int32Array(idx.length * w) : new Float32Array(idx.length * w);
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r];
      x.set(source.subarray(i * d, i * d + d), r * d);
      y.set(this.y.subarray(i * w, i * w + w), r * w);
    }
    return { x: trustedTensor(x, [idx.length, ...this.sampleShape]), y, indices: idx };
  }
}

/**
 * Sample indices as an Int32Array, each checked to be an integer in [0, length): InputError for
 * what is not an integer (1.5, '1', true), ShapeError for what is out of range.
 */
function toIndices(indices: unknown, length: number, owner: string): Int32Array {
  const values: ArrayLike<unknown> | null = Array.isArray(indices) ? indices
    : typedArrayParts(indices) !== null ? toFloat64(indices, `${owner}: indices`) : null;
  if (!values) throw new ConfigError(`${owner}: indices must be an array of integers, got ${describe(indices)}`);
  const out = new Int32Array(values.length);
  for (let k = 0; k < values.length; k++) {
    const i = values[k];
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new InputError(`${owner}: index ${k} is ${describe(i)}: indices must be integers`);
    if (!(i >= 0 && i < length)) throw new ShapeError(`${owner}: index ${i} out of range [0, ${length})`);
    out[k] = i;
  }
  return out;
}

/** Any typed array's values as doubles, read through its internal slots (its length cannot lie). */
function toFloat64(x: unknown, what: string): Float64Array {
  try {
    return new Float64Array(x as ArrayLike<number>);
  } catch (e) {
    throw new InputError(`${what}: cannot read ${describe(x)} as numbers (${(e as Error).message})`, { cause: e });
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
    this.indices = toIndices(indices, dataset.length, 'Subset');
  }
  get length(): number { return this.indices.length; }
  get sampleShape(): Shape { return this.dataset.sampleShape; }
  get targetWidth(): number { return this.dataset.targetWidth; }
  gather(indices: ArrayLike<number>): Batch {
    const mapped = Int32Array.from(toIndices(indices, this.indices.length, 'Subset.gather'), (i) => {
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
