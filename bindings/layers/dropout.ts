import { Layer, lockFields, type ForwardArgs, type BackwardArgs, type LayerConfig } from './layer.js';
import { ConfigError, StateError } from '../errors.js';
import { defaultGenerator, checkGenerator, type Generator } from '../random.js';
import { checkOptions } from '../options.js';
import { sizeOf, type Shape } from '../tensor.js';
import { pyFloat } from './activations.js';

export interface DropoutOptions {
  /** Draws the per-step mask seeds; the default generator (see manualSeed) otherwise. */
  generator?: Generator;
}

/**
 * torch.nn.Dropout: in training mode each element is zeroed with probability p and the others are
 * scaled by 1 / (1 - p) (inverted dropout); in eval mode it is the identity.
 *
 * Each training forward draws one 32-bit seed from the generator; the kernel expands it with
 * xoshiro128** into the mask, kept in the layer's arena workspace for backward (dx = dy * mask).
 * So one seed (manualSeed, or the generator option) fixes every mask, on every runtime.
 */
export class Dropout extends Layer {
  private readonly generator: Generator;
  /** Whether the last forward applied a mask (training mode and p > 0); backward follows it. */
  private masked = false;

  constructor(readonly p: number = 0.5, options: DropoutOptions = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
      throw new ConfigError(`Dropout: p must be a number in [0, 1), got ${String(p)}` +
        (p === 1 ? ' (p = 1 would drop every element)' : ''));
    }
    checkOptions('Dropout', options, ['generator']);
    const generator = options?.generator;
    this.generator = generator === undefined ? defaultGenerator : checkGenerator('Dropout', generator);
    lockFields(this, ['p']);
  }

  override toString(): string { return `Dropout(p=${pyFloat(this.p)}, inplace=False)`; }
  override config(): LayerConfig { return { type: 'Dropout', p: this.p }; }

  /** The generator that draws the masks (a checkpoint saves its state when it is not the default one). */
  get maskGenerator(): Generator { return this.generator; }
  override outputShape(inShape: Shape): Shape { return inShape; }

  /** One mask value per element of the sample; none when p = 0 (always the identity). */
  override workspace(inShape: Shape): number { return this.p > 0 ? sizeOf(inShape) : 0; }

  /** In inference Dropout is the identity, so its output may be its input. */
  override get inPlace(): boolean { return true; }

  override forward({ rt, batch, x, y, ws, inShape, training, record = true }: ForwardArgs): void {
    const n = batch * sizeOf(inShape);
    const mask = training && this.p > 0;
    if (mask && !ws) throw new StateError(`${this}: no workspace for the mask (plan workspace(inShape) floats per sample)`);
    if (record) this.masked = mask;
    if (mask) rt.kernels.dropout_f32_fwd(x, y, ws, n, this.p, this.generator.nextUint32());
    else if (x !== y) rt.kernels.copy_f32(y, x, n);
  }

  override backward({ rt, batch, ws, dy, dx, inShape }: BackwardArgs): void {
    if (!dx) return;
    const n = batch * sizeOf(inShape);
    if (this.masked) rt.kernels.dropout_f32_bwd(dy, ws, dx, n);
    else if (dx !== dy) rt.kernels.copy_f32(dx, dy, n);
  }
}
