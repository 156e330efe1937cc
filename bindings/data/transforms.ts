// Image transforms in the manner of torchvision.transforms: each maps a Tensor to a new Tensor,
// and Compose chains them. Images enter as bytes through toTensor.

import { ConfigError, InputError, ShapeError, StateError, describe } from '../errors.js';
import { privateU8 } from '../memory/view.js';
import { Tensor, checkShape, formatShape, readTensor, sizeOf, trustedTensor, type Shape } from '../tensor.js';

export interface Transform {
  apply(t: Tensor): Tensor;
  toString(): string;
}

/**
 * Bytes to floats: pixel * scale (1/255 by default, i.e. torchvision's ToTensor range [0, 1];
 * scale 1 keeps [0, 255]). shape: the images' shape, e.g. [N, 28, 28].
 */
export function toTensor(images: Uint8Array, shape: Shape, scale = 1 / 255): Tensor {
  let pixels: Uint8Array | null = null;
  try {
    pixels = images instanceof Uint8Array ? privateU8(images) : null;
  } catch (e) {
    throw new StateError(`toTensor: cannot read the pixels (${(e as Error).message}): the buffer was detached`, { cause: e });
  }
  if (!pixels) throw new InputError(`toTensor: images must be a Uint8Array of pixels, got ${describe(images)}`);
  images = pixels;
  shape = checkShape(shape, 'toTensor');
  if (sizeOf(shape) !== images.length) throw new ShapeError(`toTensor: ${images.length} bytes do not fit shape ${formatShape(shape)}`);
  if (!Number.isFinite(scale) || !Number.isFinite(Math.fround(255 * scale))) {
    throw new ConfigError(`toTensor: scale must be finite, and 255 * scale too in float32, got ${scale}`);
  }
  const table = new Float32Array(256); // one lookup per pixel instead of a conversion and a multiply
  for (let v = 0; v < 256; v++) table[v] = v * scale;
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = table[images[i]];
  return new Tensor(out, shape);
}

/** x * factor: e.g. Scale(255) turns [0, 1] images back into [0, 255]. */
export class Scale implements Transform {
  constructor(readonly factor: number) {
    if (!Number.isFinite(factor)) throw new ConfigError(`Scale: factor must be finite, got ${factor}`);
  }
  apply(t: Tensor): Tensor { return map(t, (v) => v * this.factor); }
  toString(): string { return `Scale(${this.factor})`; }
}

/** (x - mean) / std, one value for all channels or one per channel of (N, C, ...) data (torchvision's Normalize). */
export class Normalize implements Transform {
  readonly mean: number[];
  readonly std: number[];
  constructor(mean: number | number[], std: number | number[]) {
    this.mean = Array.isArray(mean) ? [...mean] : [mean];
    this.std = Array.isArray(std) ? [...std] : [std];
    if (![...this.mean, ...this.std].every((v) => typeof v === 'number')) {
      throw new ConfigError(`Normalize: mean and std must be numbers or arrays of numbers, got ${describe(mean)}, ${describe(std)}`);
    }
    if (this.mean.length !== this.std.length) throw new ConfigError(`Normalize: ${this.mean.length} means but ${this.std.length} stds`);
    if (this.std.some((s) => !(s > 0) || !Number.isFinite(s))) throw new ConfigError(`Normalize: std must be positive and finite, got [${this.std}]`);
    if (this.mean.some((m) => !Number.isFinite(m))) throw new ConfigError(`Normalize: mean must be finite, got [${this.mean}]`);
  }
  apply(t: Tensor): Tensor {
    const channels = this.mean.length;
    if (channels === 1) return map(t, (v) => (v - this.mean[0]) / this.std[0]);
    const { data, shape, size } = readTensor(t, 'Normalize');
    if (shape.length < 2 || shape[1] !== channels) {
      throw new ShapeError(`Normalize with ${channels} channels needs data of shape [N, ${channels}, ...], got ${formatShape(shape)}`);
    }
    const plane = sizeOf(shape.slice(2));
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const c = Math.floor(i / plane) % channels;
      out[i] = (data[i] - this.mean[c]) / this.std[c];
    }
    return trustedTensor(out, shape);
  }
  toString(): string { return `Normalize(mean=[${this.mean}], std=[${this.std}])`; }
}

/** 1 where x > threshold, else 0 (binarized MNIST: threshold 0 keeps every inked pixel). */
export class Binarize implements Transform {
  constructor(readonly threshold = 0) {
    if (!Number.isFinite(threshold)) throw new ConfigError(`Binarize: threshold must be finite, got ${threshold}`);
  }
  apply(t: Tensor): Tensor { return map(t, (v) => (v > this.threshold ? 1 : 0)); }
  toString(): string { return `Binarize(threshold=${this.threshold})`; }
}

/** (N, d1, d2, ...) -> (N, d1*d2*...): no copy of the values. */
export class Flatten implements Transform {
  apply(t: Tensor): Tensor {
    const { data, shape } = readTensor(t, 'Flatten');
    if (shape.length < 1) throw new ShapeError('Flatten: a scalar has no batch dimension');
    return new Tensor(data, [shape[0], sizeOf(shape.slice(1))]);
  }
  toString(): string { return 'Flatten()'; }
}

/** Applies transforms in order. */
export class Compose implements Transform {
  readonly transforms: readonly Transform[];
  constructor(transforms: Transform[]) {
    if (!Array.isArray(transforms) || !transforms.every((tr) => tr !== null && typeof tr === 'object' && typeof tr.apply === 'function')) {
      throw new ConfigError(`Compose: expects an array of transforms (objects with apply), got ${describe(transforms)}`);
    }
    this.transforms = Object.freeze([...transforms]);   // a copy: changing the caller's list changes nothing
  }
  apply(t: Tensor): Tensor { return this.transforms.reduce((acc, tr) => tr.apply(acc), t); }
  toString(): string { return `Compose([${this.transforms.join(', ')}])`; }
}

function map(t: Tensor, f: (v: number) => number): Tensor {
  const { data, shape, size } = readTensor(t, 'a transform');
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = f(data[i]);
  return trustedTensor(out, shape);
}
