import { Layer, lockFields, type ForwardArgs, type BackwardArgs, type LayerConfig } from './layer.js';
import { Parameter, initialValues } from './parameter.js';
import { ConfigError } from '../errors.js';
import { defaultGenerator, checkGenerator, type Generator } from '../random.js';
import { checkFlag, checkOptions } from '../options.js';
import type { Shape } from '../tensor.js';
import { chw, fmt, outSize, pair, type Pair } from './spatial.js';
import { getRuntime, type Runtime } from '../runtime/load.js';

const WINOGRAD_MAX_BATCH = 1 << 16;

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  bias?: boolean;
  /** Generator for the initial weights; the default generator (see manualSeed) otherwise. */
  generator?: Generator;
}

/**
 * torch.nn.Conv2d (groups = 1, zero padding) on NCHW input, weight [out, in, kh, kw].
 *
 * Lowered onto the SIMD GEMM one sample at a time: im2col unfolds the sample into
 * col: [in*kh*kw, oh*ow] (in the shared scratch, which stays in cache), then
 *   forward   y_n: [out, oh*ow]        = W: [out, in*kh*kw] . col
 *   backward  dW                      += dy_n . col^T
 *             dx_n                     = col2im(W^T . dy_n)
 * so the output lands in NCHW with no transposition. Default init as PyTorch's:
 * kaiming_uniform_(a = sqrt(5)) for the weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the
 * bias, both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in*kh*kw.
 */
export class Conv2d extends Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  /** W rotated 180 degrees with in and out swapped, [in, out, 5, 5]: dx by Winograd (see backward). */
  private readonly flippedWeight: Parameter | null = null;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`Conv2d: ${name} must be a positive integer, got ${String(v)}`);
    }
    checkOptions('Conv2d', options, ['stride', 'padding', 'dilation', 'bias', 'generator']);
    options ??= {};
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.padding = pair('Conv2d', 'padding', options.padding ?? 0, 0);
    this.dilation = pair('Conv2d', 'dilation', options.dilation ?? 1, 1);
    checkFlag('Conv2d', 'bias', options.bias ?? true);
    const [kh, kw] = this.kernelSize;
    const fanIn = inChannels * kh * kw;
    const gen = options.generator === undefined ? defaultGenerator : checkGenerator('Conv2d', options.generator);
    const bound = 1 / Math.sqrt(fanIn);
    const owner = `Conv2d(${inChannels}, ${outChannels}, kernel_size=${fmt(this.kernelSize)})`;
    this.weight = new Parameter('weight', [outChannels, inChannels, kh, kw],
      gen.uniform(initialValues(owner, 'weight', outChannels * fanIn), -bound, bound));
    this.params.push(this.weight);
    this.bias = null;
    if (options.bias ?? true) {
      this.bias = new Parameter('bias', [outChannels], gen.uniform(new Float32Array(outChannels), -bound, bound));
      this.params.push(this.bias);
    }
    if (this.winogradInputGradient()) {
      this.flippedWeight = new Parameter('flipped_weight', [inChannels, outChannels, kh, kw], new Float32Array(outChannels * fanIn));
      this.flippedWeight.persistent = false;
      this.buffers.push(this.flippedWeight);
    }
    lockFields(this, ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'weight', 'bias']);
  }

  override toString(): string {
    let s = `Conv2d(${this.inChannels}, ${this.outChannels}, kernel_size=${fmt(this.kernelSize)}, stride=${fmt(this.stride)}`;
    if (this.padding[0] || this.padding[1]) s += `, padding=${fmt(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${fmt(this.dilation)}`;
    return s + (this.bias ? ')' : ', bias=False)');
  }

  override config(): LayerConfig {
    return { type: 'Conv2d', inChannels: this.inChannels, outChannels: this.outChannels, kernelSize: [...this.kernelSize],
      stride: [...this.stride], padding: [...this.padding], dilation: [...this.dilation], bias: this.bias !== null };
  }

  override outputShape(inShape: Shape): Shape {
    const [, h, w] = chw(String(this), inShape, this.inChannels);
    return [this.outChannels,
      outSize(String(this), inShape, 'height', h, this.kernelSize[0], this.stride[0], this.padding[0], this.dilation[0]),
      outSize(String(this), inShape, 'width', w, this.kernelSize[1], this.stride[1], this.padding[1], this.dilation[1])];
  }

  /** A 1x1 convolution with stride 1 and no padding reads its input as the col matrix directly. */
  private isPointwise(): boolean {
    return this.kernelSize.every((k) => k === 1) && this.stride.every((s) => s === 1) && this.padding.every((p) => p === 0);
  }

  /**
   * 5x5, stride 1, dilation 1 with at least 8 input channels: the forward uses Winograd
   * F(2x2, 5x5) (2.8x fewer multiplications; about 2x faster than im2col + GEMM on the MNIST
   * CNN's second convolution). With fewer channels its GEMMs are too thin to win.
   */
  private usesWinograd(): boolean {
    return this.isDense5x5() && this.inChannels >= 8;
  }

  /** 5x5, stride 1, dilation 1: the shape winograd5_f32_fwd computes. */
  private isDense5x5(): boolean {
    return this.kernelSize.every((k) => k === 5) && this.stride.every((s) => s === 1) && this.dilation.every((d) => d === 1);
  }

  /**
   * With stride 1, the input gradient is a convolution too: dy padded by 4 - padding, correlated
   * with the rotated, transposed kernel. Winograd pays off when it has >= 8 input (= out) channels.
   */
  private winogradInputGradient(): boolean {
    return this.isDense5x5() && this.padding.every((p) => p <= 4) && this.outChannels >= 8;
  }

  override scratch(inShape: Shape, rt: Runtime = getRuntime()): number {
    if (this.isPointwise()) return 0;
    const [, oh, ow] = this.outputShape(inShape);
    let floats = this.inChannels * this.kernelSize[0] * this.kernelSize[1] * oh * ow;
    // the Winograd scratch stops growing once a chunk of tile rows is full: a large N bounds it
    const k = rt.kernels;
    if (this.usesWinograd()) {
      floats = Math.max(floats, k.winograd5_f32_scratch_floats(WINOGRAD_MAX_BATCH, this.inChannels, this.outChannels,
        inShape[1], inShape[2], this.padding[0], this.padding[1]));
    }
    if (this.winogradInputGradient()) {
      floats = Math.max(floats, k.winograd5_f32_scratch_floats(WINOGRAD_MAX_BATCH, this.outChannels, this.inChannels,
        oh, ow, 4 - this.padding[0], 4 - this.padding[1]));
    }
    return floats;
  }

  /** Unfolds sample x (byte offset) into the scratch and returns where its col matrix is. */
  private unfold(a: ForwardArgs, x: number): number {
    if (this.isPointwise()) return x;
    const [c, h, w] = a.inShape, [, oh, ow] = a.outShape;
    a.rt.kernels.im2col_f32(x, c, h, w, this.kernelSize[0], this.kernelSize[1], this.stride[0], this.stride[1],
      this.padding[0], this.padding[1], this.dilation[0], this.dilation[1], oh, ow, a.scratch);
    return a.scratch;
  }

  override forward(a: ForwardArgs): void {
    const { rt, batch, x, y, inShape, outShape } = a;
    const k = rt.kernels;
    if (this.usesWinograd()) {
      k.winograd5_f32_fwd(x, batch, inShape[0], inShape[1], inShape[2], this.weight.ptr, this.bias ? this.bias.ptr : 0,
        this.outChannels, this.padding[0], this.padding[1], outShape[1], outShape[2], y, a.scratch);
      return;
    }
    const inSize = inShape[0] * inShape[1] * inShape[2], spatial = outShape[1] * outShape[2];
    const K = this.inChannels * this.kernelSize[0] * this.kernelSize[1];
    for (let n = 0; n < batch; n++) {
      const col = this.unfold(a, x + n * inSize * 4);
      k.gemm_f32_nn(this.outChannels, spatial, K, this.weight.ptr, col, y + n * this.outChannels * spatial * 4, 0, rt.gemmScratch);
    }
    if (this.bias) k.bias_f32_add_channels(y, this.bias.ptr, batch, this.outChannels, spatial);
  }

  override backward(a: BackwardArgs): void {
    const { rt, batch, x, dy, dx, inShape, outShape } = a;
    const k = rt.kernels;
    const [c, h, w] = inShape;
    const inSize = c * h * w, spatial = outShape[1] * outShape[2], outSize = this.outChannels * spatial;
    const K = this.inChannels * this.kernelSize[0] * this.kernelSize[1];
    if (this.bias) k.bias_f32_grad_channels(dy, this.bias.gradPtr, batch, this.outChannels, spatial, 1);
    const winogradDx = dx !== 0 && this.winogradInputGradient();
    for (let n = 0; n < batch; n++) {
      const dyn = dy + n * outSize * 4;
      const col = this.unfold(a, x + n * inSize * 4);
      // dW: (out, K) += dy_n: (out, spatial) . col^T, col: (K, spatial)
      k.gemm_f32_nt(this.outChannels, K, spatial, dyn, col, this.weight.gradPtr, 1, rt.gemmScratch);
      if (!dx || winogradDx) continue;
      const dxn = dx + n * inSize * 4;
      if (this.isPointwise()) {
        // dx_n: (in, spatial) = W^T . dy_n
        k.gemm_f32_tn(K, spatial, this.outChannels, this.weight.ptr, dyn, dxn, 0, rt.gemmScratch);
        continue;
      }
      // dcol: (K, spatial) = W^T . dy_n, into the scratch col no longer needs; folded back into dx_n
      k.gemm_f32_tn(K, spatial, this.outChannels, this.weight.ptr, dyn, a.scratch, 0, rt.gemmScratch);
      k.fill_f32(dxn, inSize, 0);
      k.col2im_f32(a.scratch, c, h, w, this.kernelSize[0], this.kernelSize[1], this.stride[0], this.stride[1],
        this.padding[0], this.padding[1], this.dilation[0], this.dilation[1], outShape[1], outShape[2], dxn);
    }
    if (winogradDx) {
      // dx = dy (padded by 4 - p) correlated with W rotated 180 degrees, in and out swapped
      this.flipWeight(rt.heap.f32);
      k.winograd5_f32_fwd(dy, batch, this.outChannels, outShape[1], outShape[2], this.flippedWeight!.ptr, 0, c,
        4 - this.padding[0], 4 - this.padding[1], h, w, dx, a.scratch);
    }
  }

  /** flipped[c, o, 4 - i, 4 - j] = W[o, c, i, j] */
  private flipWeight(f32: Float32Array): void {
    const O = this.outChannels, C = this.inChannels;
    const src = this.weight.ptr >>> 2, dst = this.flippedWeight!.ptr >>> 2;
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        const from = src + (o * C + c) * 25, to = dst + (c * O + o) * 25 + 24;
        for (let t = 0; t < 25; t++) f32[to - t] = f32[from + t];
      }
    }
  }
}
