// Plain data in and out: a Float32Array plus a shape, which the caller owns.

import { ShapeError, InputError } from './errors.js';

export type Shape = readonly number[];

export class Tensor {
  constructor(readonly data: Float32Array, readonly shape: Shape) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    }
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new ShapeError(`data of length ${data.length} does not fit shape [${shape.join(', ')}] (${size} elements)`);
    }
  }

  get size(): number { return this.data.length; }
}

/** Makes a tensor; `data` may be any array-like of numbers. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: Shape): Tensor {
  return new Tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape);
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
  if (labels.length !== expectedLength) {
    throw new ShapeError(`got ${labels.length} labels for ${expectedLength} samples`);
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v)) throw new InputError(`label ${i} is ${v}: labels must be integers`);
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
