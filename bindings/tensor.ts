// Plain data in and out: a Float32Array plus a shape. A Tensor is immutable in form: its shape is
// a frozen copy of the caller's (mutating the array passed in changes nothing), its data reference
// cannot be replaced, and the library reads it through a view of its own that the caller cannot
// reach (a caller's array may lie about its length or species; the private view cannot). The
// values are the caller's: a Float32Array is used as given (no copy of a 60,000-image training
// set) unless it lies on a resizable buffer; any other array of numbers is copied into one.

import { ShapeError, InputError, StateError, describe } from './errors.js';
import { isLiveView, privateF32, typedArrayParts } from './memory/view.js';

export type Shape = readonly number[];

/** Passed by trustedTensor: the library's own fresh arrays need no checks. */
const TRUSTED = Symbol('simdnet.trustedTensor');

/** What the library reads of a Tensor (see readTensor). */
export interface TensorParts {
  /** A view of the tensor's values that only the library holds, exactly `size` long. */
  data: Float32Array;
  shape: Shape;
  size: number;
}

export class Tensor {
  /** What `data` returns: the caller's array, or the copy made of it. */
  readonly #public: Float32Array;
  /** The library's own view of the same values. */
  readonly #data: Float32Array;
  readonly #shape: Shape;

  constructor(data: Float32Array | ArrayLike<number>, shape: Shape, trusted?: typeof TRUSTED) {
    if (trusted === TRUSTED) {
      this.#public = data as Float32Array;
      this.#data = privateF32(data)!;
      this.#shape = Object.freeze([...shape]);
      return;
    }
    const frozen = checkShape(shape, 'Tensor');
    const values = toFloat32(data, 'Tensor data');
    const own = privateF32(values)!;
    const size = sizeOf(frozen);
    if (own.length !== size) {
      throw new ShapeError(`data of length ${own.length} does not fit shape ${formatShape(frozen)} (${size} elements)`);
    }
    this.#public = values;
    this.#data = own;
    this.#shape = frozen;
  }

  /** The values (the caller's Float32Array, or the copy made of another array). */
  get data(): Float32Array { return this.#public; }
  set data(_: never) { throw new InputError('a Tensor cannot be re-pointed at other data: make a new Tensor'); }

  /** The shape: a frozen copy of the caller's, so that changing either changes nothing. */
  get shape(): Shape { return this.#shape; }
  set shape(_: never) { throw new InputError('a Tensor cannot be reshaped in place: make a new Tensor'); }

  /** Number of elements, from the shape. */
  get size(): number { return sizeOf(this.#shape); }

  /** True for a real Tensor (made by this constructor), false for look-alikes and proxies. */
  static isTensor(x: unknown): x is Tensor {
    return typeof x === 'object' && x !== null && #data in x;
  }

  /**
   * The library's reading of a tensor: its private view and shape, after checking it is a real
   * Tensor (InputError naming `what` otherwise) whose values are all still there (StateError
   * when the caller's buffer was detached, i.e. transferred, after the tensor was made).
   */
  static read(t: unknown, what: string): TensorParts {
    if (!Tensor.isTensor(t)) throw new InputError(`${what} must be a Tensor, got ${describe(t)}`);
    const size = sizeOf(t.#shape);
    if (t.#data.length !== size) {
      throw new StateError(`${what}: the tensor's data holds ${t.#data.length} values, its shape ${formatShape(t.#shape)} ` +
        `${size}: the array was detached or resized after the tensor was made`);
    }
    return { data: t.#data, shape: t.#shape, size };
  }
}

/** A Tensor over a fresh Float32Array the library made, of exactly sizeOf(shape) values. */
export function trustedTensor(data: Float32Array, shape: Shape): Tensor {
  return new Tensor(data, shape, TRUSTED);
}

/** Tensor.read: the checked private view and shape of a caller's tensor. */
export function readTensor(t: unknown, what: string): TensorParts {
  return Tensor.read(t, what);
}

/** Makes a tensor; `data` may be any array-like of numbers. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

/** A frozen copy of `shape`, checked to be an array of non-negative integers. */
export function checkShape(shape: unknown, what: string): Shape {
  const typed = typedArrayParts(shape) !== null;
  if (!Array.isArray(shape) && !typed) {
    throw new ShapeError(`${what}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  let copy: unknown[];
  try {
    copy = typed ? Array.from(new Float64Array(shape as ArrayLike<number>)) : Array.from(shape as unknown[]);
  } catch (e) {
    throw new ShapeError(`${what}: shape must be an array of non-negative integers, got ${describe(shape)}`, { cause: e });
  }
  for (const d of copy) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${what}: invalid shape [${copy.map(String).join(', ')}]: dimensions must be non-negative integers`);
    }
  }
  return Object.freeze(copy as number[]);
}

/**
 * `data` as a Float32Array: a Float32Array as is (the caller's), copied when it is a live view of
 * wasm memory or lies on a resizable buffer; any other typed array, or array of numbers, copied.
 * The result may still be the caller's object: read it through privateF32, never its methods.
 */
export function toFloat32(data: unknown, what: string): Float32Array {
  if (isLiveView(data)) return Float32Array.from(data as Float32Array);
  if (data instanceof Float32Array) {
    const own = privateF32(data);
    if (!own) throw new InputError(`${what} is not a real Float32Array (${describe(data)})`);
    return own.buffer === typedArrayParts(data)!.buffer ? data : own;
  }
  if (typedArrayParts(data) !== null) {
    try {
      return new Float32Array(data as ArrayLike<number>);   // reads the internal slots: lengths cannot lie here
    } catch (e) {
      throw new InputError(`${what}: cannot convert ${describe(data)} to float32 (${(e as Error).message})`, { cause: e });
    }
  }
  if (!Array.isArray(data)) throw new InputError(`${what} must be a Float32Array or an array of numbers, got ${describe(data)}`);
  const values = data as unknown[];
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') throw new InputError(`${what}: element ${i} is ${describe(values[i])}, not a number`);
  }
  return Float32Array.from(values as number[]);
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Class labels: any integer-valued array. */
export type Labels = Int32Array | Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array |
  Float32Array | Float64Array | readonly number[];

/** Checks labels are integers in [0, classes) and returns them as an Int32Array (copied). */
export function toLabels(input: Labels, expectedLength: number, classes: number): Int32Array {
  let labels: ArrayLike<unknown>;
  if (Array.isArray(input)) labels = input;
  else if (typedArrayParts(input) !== null) {
    try {
      labels = new Float64Array(input as ArrayLike<number>);   // internal slots: the length cannot lie
    } catch (e) {
      throw new InputError(`labels: cannot read ${describe(input)} as numbers (${(e as Error).message})`, { cause: e });
    }
  } else throw new InputError(`labels must be an array of integers, got ${describe(input)}`);
  if (labels.length !== expectedLength) {
    throw new ShapeError(`got ${labels.length} labels for ${expectedLength} samples`);
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new InputError(`label ${i} is ${typeof v === 'number' ? v : describe(v)}: labels must be integers`);
    }
    if (v < 0 || v >= classes) throw new InputError(`label ${i} is ${v}: labels must lie in [0, ${classes - 1}] for ${classes} classes`);
    out[i] = v;
  }
  return out;
}

/** Throws an InputError naming the first NaN or Infinity in `data`. */
export function assertFinite(data: Float32Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) throw new InputError(`${what} contains ${v} at index ${i}: inputs must be finite`);
  }
}
