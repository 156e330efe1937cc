// Shared by the 2-d layers (Conv2d, MaxPool2d, AvgPool2d): PyTorch's int-or-pair arguments and
// output-size arithmetic, with errors that name the layer and the shapes.

import { ConfigError, ShapeError, describe as describeValue } from '../errors.js';
import { formatShape, type Shape } from '../tensor.js';

export type Pair = number | [number, number];

/** Expands `v` (n or [h, w]) to [h, w], checking each is an integer >= min. */
export function pair(owner: string, name: string, v: Pair, min: number): [number, number] {
  const p: unknown[] = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min)) {
    throw new ConfigError(`${owner}: ${name} must be an integer >= ${min} or a pair of them, got ${jsonOr(v)}`);
  }
  // a frozen copy: the caller's array can change later, the layer's sizes cannot
  return Object.freeze([p[0], p[1]]) as unknown as [number, number];
}

function jsonOr(v: unknown): string {
  try { return JSON.stringify(v) ?? describeValue(v); } catch { return describeValue(v); }
}

/** Formats [h, w] the way PyTorch's repr does: (5, 5). */
export function fmt(p: [number, number]): string { return `(${p[0]}, ${p[1]})`; }

/** Checks a per-sample [C, H, W] input and returns its sizes. */
export function chw(layer: string, inShape: Shape, channels?: number): [number, number, number] {
  if (inShape.length !== 3) {
    throw new ShapeError(`${layer} expects a per-sample input [channels, height, width], got ${formatShape(inShape)}` +
      (inShape.length === 1 ? ' (give the model inputShape [C, H, W], e.g. [1, 28, 28])' : ''));
  }
  if (!inShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`${layer}: input shape ${formatShape(inShape)} has a size that is not a positive integer`);
  }
  if (channels !== undefined && inShape[0] !== channels) {
    throw new ShapeError(`${layer} expects ${channels} input channel${channels === 1 ? '' : 's'}, ` +
      `got ${inShape[0]} (input shape ${formatShape(inShape)})`);
  }
  return [inShape[0], inShape[1], inShape[2]];
}

/**
 * Output size along one axis: floor((in + 2 pad - dilation (kernel - 1) - 1) / stride) + 1, as
 * PyTorch computes it (a window that would run past the padded input is dropped). Throws when
 * the padded input is smaller than the dilated kernel.
 */
export function outSize(layer: string, inShape: Shape, axis: 'height' | 'width', size: number,
  kernel: number, stride: number, pad: number, dilation = 1): number {
  const span = dilation * (kernel - 1) + 1;
  if (size + 2 * pad < span) {
    throw new ShapeError(`${layer}: input ${formatShape(inShape)} is too small: its ${axis} ${size}` +
      `${pad ? ` padded by ${pad} on each side (${size + 2 * pad})` : ''} is less than the ` +
      `${dilation > 1 ? `dilated kernel's span ${span}` : `kernel size ${kernel}`}`);
  }
  return Math.floor((size + 2 * pad - span) / stride) + 1;
}
