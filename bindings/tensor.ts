// Plain data in and out: a Float32Array plus a shape. A Tensor is immutable in form: its shape is
// a frozen copy of the caller's (mutating the array passed in changes nothing) and its data
// reference cannot be replaced. The values are the caller's: a Float32Array is used as given (no
// copy of a 60,000-image training set); any other array of numbers is copied into one.

import { ShapeError, InputError, StateError, describe } from './errors.js';
import { ownedF32 } from './memory/view.js';

export type Shape = readonly number[];

/** Passed by trustedTensor: the library's own fresh arrays need no checks. */
const TRUSTED = Symbol('simdnet.trustedTensor');

export class Tensor {
  readonly #data: Float32Array;
  readonly #shape: Shape;

  constructor(data: Float32Array | ArrayLike<number>, shape: Shape, trusted?: typeof TRUSTED) {
    if (trusted === TRUSTED) {
      this.#data = data as Float32Array;
      this.#shape = Object.freeze([...shape]);
      return;
    }
    const frozen = checkShape(shape, 'Tensor');
    const values = toFloat32(data, 'Tensor data');
    const size = sizeOf(frozen);
    if (values.length !== size) {
      throw new ShapeError(`data of length ${values.length} does not fit shape ${formatShape(frozen)} (${size} elements)`);
    }
    this.#data = values;
    this.#shape = frozen;
  }

  /** The values (the caller's Float32Array, or the copy made of another array). */
  get data(): Float32Array { return this.#data; }
  set data(_: never) { throw new InputError('a Tensor cannot be re-pointed at other data: make a new Tensor'); }

  /** The shape: a copy, so that changing it changes nothing. */
  get shape(): Shape { return [...this.#shape]; }
  set shape(_: never) { throw new InputError('a Tensor cannot be reshaped in place: make a new Tensor'); }

  /** Number of elements, from the shape. */
  get size(): number { return sizeOf(this.#shape); }
}

/** A Tensor over a fresh Float32Array the library made, of exactly sizeOf(shape) values. */
export function trustedTensor(data: Float32Array, shape: Shape): Tensor {
  return new Tensor(data, shape, TRUSTED);
}

/**
 * t.data, after checking it still holds t.size values: a Float32Array's buffer can be detached
 * (transferred) after the tensor was made, and then it holds none.
 */
export function dataOf(t: Tensor, what: string): Float32Array {
  if (t.data.length !== t.size) {
    throw new StateError(`${what}: the tensor's data holds ${t.data.length} values, its shape ${formatShape(t.shape)} ` +
      `${t.size}: the array was detached or resized after the tensor was made`);
  }
  return t.data;
}

/** Makes a tensor; `data` may be any array-like of numbers. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

/** A frozen copy of `shape`, checked to be an array of non-negative integers. */
export function checkShape(shape: unknown, what: string): Shape {
  if (!Array.isArray(shape) && !(ArrayBuffer.isView(shape) && !(shape instanceof DataView))) {
    throw new ShapeError(`${what}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  const copy = Array.from(shape as ArrayLike<unknown>);
  for (const d of copy) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${what}: invalid shape [${copy.map(String).join(', ')}]: dimensions must be non-negative integers`);
    }
  }
  return Object.freeze(copy as number[]);
}

/**
 * `data` as a Float32Array of fixed length: a Float32Array as is (copied when it is a live view of
 * wasm memory or lies on a resizable buffer), other arrays of numbers copied.
 */
export function toFloat32(data: unknown, what: string): Float32Array {
  if (data instanceof Float32Array) return ownedF32(data);
  const arrayLike = Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView));
  if (!arrayLike) throw new InputError(`${what} must be a Float32Array or an array of numbers, got ${describe(data)}`);
  const values = data as ArrayLike<unknown>;
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') throw new InputError(`${what}: element ${i} is ${describe(values[i])}, not a number`);
  }
  return Float32Array.from(values as ArrayLike<number>);
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
export function toLabels(labels: Labels, expectedLength: number, classes: number): Int32Array {
  const arrayLike = Array.isArray(labels) || (ArrayBuffer.isView(labels) && !(labels instanceof DataView));
  if (!arrayLike) throw new InputError(`labels must be an array of integers, got ${describe(labels)}`);
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
