import { Layer, lockFields, type ForwardArgs, type BackwardArgs, type LayerConfig } from './layer.js';
import { ConfigError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { Shape } from '../tensor.js';
import { chw, fmt, outSize, pair, type Pair } from './spatial.js';

export interface PoolOptions {
  /** Defaults to the kernel size, as PyTorch's. */
  stride?: Pair;
  /** Implicit padding on both sides: -Infinity for max pooling, zeros for average pooling. */
  padding?: Pair;
}

export interface AvgPoolOptions extends PoolOptions {
  /** Whether padded zeros count in the divisor (PyTorch's default: true). */
  countIncludePad?: boolean;
}

/** Kernel, stride and padding of a 2-d pooling layer, checked as PyTorch checks them. */
abstract class Pool2d extends Layer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(owner: string, kernelSize: Pair, options: PoolOptions, known: readonly string[]) {
    super();
    checkOptions(owner, options, known);
    options ??= {};
    this.kernelSize = pair(owner, 'kernelSize', kernelSize, 1);
    this.stride = pair(owner, 'stride', options.stride ?? this.kernelSize, 1);
    this.padding = pair(owner, 'padding', options.padding ?? 0, 0);
    if (this.padding[0] > this.kernelSize[0] / 2 || this.padding[1] > this.kernelSize[1] / 2) {
      throw new ConfigError(`${owner}: padding ${fmt(this.padding)} must be at most half the kernel size ${fmt(this.kernelSize)}`);
    }
    lockFields(this, ['kernelSize', 'stride', 'padding']);
  }

  override outputShape(inShape: Shape): Shape {
    const [c, h, w] = chw(String(this), inShape);
    return [c, outSize(String(this), inShape, 'height', h, this.kernelSize[0], this.stride[0], this.padding[0]),
      outSize(String(this), inShape, 'width', w, this.kernelSize[1], this.stride[1], this.padding[1])];
  }

  protected describe(name: string, extra = ''): string {
    const k = this.kernelSize, s = this.stride, p = this.padding;
    const one = (v: [number, number]) => (v[0] === v[1] ? String(v[0]) : fmt(v));
    return `${name}(kernel_size=${one(k)}, stride=${one(s)}, padding=${one(p)}${extra})`;
  }
}

/**
 * torch.nn.MaxPool2d (dilation 1, floor mode). The forward records, per output, the index of the
 * maximum within its plane (the per-sample workspace), so backward routes each gradient there.
 */
export class MaxPool2d extends Pool2d {
  /** Whether the workspace holds the indices of the last forward (inference skips them). */
  private indicesFresh = false;

  constructor(kernelSize: Pair, options: PoolOptions = {}) {
    super('MaxPool2d', kernelSize, options, ['stride', 'padding']);
  }

  override toString(): string { return this.describe('MaxPool2d', ', dilation=1, ceil_mode=False'); }

  override config(): LayerConfig { return { type: 'MaxPool2d', kernelSize: [...this.kernelSize], stride: [...this.stride], padding: [...this.padding] }; }

  /** One i32 argmax index per output value. */
  override workspace(inShape: Shape): number {
    const [c, oh, ow] = this.outputShape(inShape);
    return c * oh * ow;
  }

  override forward(a: ForwardArgs): void {
    // inference needs only the maxima; backward after an eval-mode forward recomputes the indices
    const record = a.record ?? true;
    this.pool(a, record && a.training ? a.ws : 0);
    if (record) this.indicesFresh = a.training;
  }

  private pool({ rt, batch, x, y, inShape, outShape }: ForwardArgs, arg: number): void {
    rt.kernels.maxpool2d_f32_fwd(x, batch * inShape[0], inShape[1], inShape[2], this.kernelSize[0], this.kernelSize[1],
      this.stride[0], this.stride[1], this.padding[0], this.padding[1], outShape[1], outShape[2], y, arg);
  }

  override backward(a: BackwardArgs): void {
    const { rt, batch, dy, dx, ws, inShape, outShape } = a;
    if (!dx) return;
    if (!this.indicesFresh) { this.pool(a, ws); this.indicesFresh = true; }
    rt.kernels.maxpool2d_f32_bwd(dy, ws, batch * inShape[0], inShape[1], inShape[2], outShape[1], outShape[2], dx);
  }
}

/** torch.nn.AvgPool2d (floor mode, no divisor override). */
export class AvgPool2d extends Pool2d {
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, options: AvgPoolOptions = {}) {
    super('AvgPool2d', kernelSize, options, ['stride', 'padding', 'countIncludePad']);
    const cip = options?.countIncludePad ?? true;
    if (typeof cip !== 'boolean') throw new ConfigError(`AvgPool2d: countIncludePad must be true or false, got ${String(cip)}`);
    this.countIncludePad = cip;
    lockFields(this, ['countIncludePad']);
  }

  override config(): LayerConfig {
    return { type: 'AvgPool2d', kernelSize: [...this.kernelSize], stride: [...this.stride], padding: [...this.padding], countIncludePad: this.countIncludePad };
  }

  override toString(): string {
    return this.describe('AvgPool2d', this.countIncludePad ? '' : ', count_include_pad=False');
  }

  override forward({ rt, batch, x, y, inShape, outShape }: ForwardArgs): void {
    rt.kernels.avgpool2d_f32_fwd(x, batch * inShape[0], inShape[1], inShape[2], this.kernelSize[0], this.kernelSize[1],
      this.stride[0], this.stride[1], this.padding[0], this.padding[1], outShape[1], outShape[2], this.countIncludePad ? 1 : 0, y);
  }

  override backward({ rt, batch, dy, dx, inShape, outShape }: BackwardArgs): void {
    if (!dx) return;
    rt.kernels.avgpool2d_f32_bwd(dy, batch * inShape[0], inShape[1], inShape[2], this.kernelSize[0], this.kernelSize[1],
      this.stride[0], this.stride[1], this.padding[0], this.padding[1], outShape[1], outShape[2], this.countIncludePad ? 1 : 0, dx);
  }
}
