import { Layer, type ForwardArgs, type BackwardArgs } from './layer.js';
import { Parameter, initialValues } from './parameter.js';
import { lockFields, type LayerConfig } from './layer.js';
import { ConfigError, ShapeError } from '../errors.js';
import { defaultGenerator, checkGenerator } from '../random.js';
import type { Generator } from '../random.js';
import { checkFlag, checkOptions } from '../options.js';
import { formatShape, type Shape } from '../tensor.js';

export interface LinearOptions {
  bias?: boolean;
  /** Generator for the initial weights; the default generator (see manualSeed) otherwise. */
  generator?: Generator;
}

/**
 * y = x . W^T + b, with PyTorch's layout (weight: [out, in]) and default init:
 * kaiming_uniform_(a = sqrt(5)) for the weight and U(-1/sqrt(in), 1/sqrt(in)) for the bias,
 * both of which reduce to U(-1/sqrt(in), 1/sqrt(in)).
 */
export class Linear extends Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`Linear: ${name} must be a positive integer, got ${String(v)}`);
    }
    checkOptions('Linear', options, ['bias', 'generator']);
    const { bias = true, generator } = options ?? {};
    checkFlag('Linear', 'bias', bias);
    const gen = generator === undefined ? defaultGenerator : checkGenerator('Linear', generator);
    const owner = `Linear(${inFeatures}, ${outFeatures})`;
    const weights = initialValues(owner, 'weight', outFeatures * inFeatures);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter('weight', [outFeatures, inFeatures], gen.uniform(weights, -bound, bound));
    this.params.push(this.weight);
    this.bias = null;
    if (bias) {
      this.bias = new Parameter('bias', [outFeatures], gen.uniform(new Float32Array(outFeatures), -bound, bound));
      this.params.push(this.bias);
    }
    lockFields(this, ['inFeatures', 'outFeatures', 'weight', 'bias']);
  }

  override toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'})`;
  }

  override config(): LayerConfig { return { type: 'Linear', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null }; }

  override inputShape(): Shape { return [this.inFeatures]; }

  override outputShape(inShape: Shape): Shape {
    if (inShape.length !== 1 || inShape[0] !== this.inFeatures) {
      throw new ShapeError(`${this} expects per-sample input shape [${this.inFeatures}], got ${formatShape(inShape)}` +
        (inShape.length > 1 ? '; add Flatten() before it' : ''));
    }
    return [this.outFeatures];
  }

  // y: (B, out) = x: (B, in) . W^T: (in, out) + b
  override forward({ rt, batch, x, y }: ForwardArgs): void {
    const k = rt.kernels;
    k.gemm_f32_nt(batch, this.outFeatures, this.inFeatures, x, this.weight.ptr, y, 0, rt.gemmScratch);
    if (this.bias) k.bias_f32_add(y, this.bias.ptr, batch, this.outFeatures);
  }

  // dW: (out, in) += dy^T . x;  db: (out,) += colsum(dy);  dx: (B, in) = dy . W
  override backward({ rt, batch, x, dy, dx }: BackwardArgs): void {
    const k = rt.kernels;
    k.gemm_f32_tn(this.outFeatures, this.inFeatures, batch, dy, x, this.weight.gradPtr, 1, rt.gemmScratch);
    if (this.bias) k.bias_f32_grad(dy, this.bias.gradPtr, batch, this.outFeatures, 1);
    if (dx) k.gemm_f32_nn(batch, this.inFeatures, this.outFeatures, dy, this.weight.ptr, dx, 0, rt.gemmScratch);
  }
}
