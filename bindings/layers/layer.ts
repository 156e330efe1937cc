// The layer contract. A layer maps a per-sample input shape to a per-sample output shape, owns its
// parameters, and runs forward and backward as kernel calls on pointers the model planned.

import type { Runtime } from '../runtime/load.js';
import type { Shape } from '../tensor.js';
import type { Parameter } from './parameter.js';

export interface ForwardArgs {
  rt: Runtime;
  batch: number;
  /** x: (batch, ...inShape) f32, y: (batch, ...outShape) f32; y == x for in-place inference (see inPlace). */
  x: number;
  y: number;
  /** The layer's workspace in the arena (workspace(inShape) floats per sample), 0 if none. */
  ws: number;
  /**
   * Transient scratch of at least scratch(inShape) floats, shared by all layers (contents do not
   * survive from forward to backward), 0 if the layer asked for none.
   */
  scratch: number;
  inShape: Shape;
  outShape: Shape;
  training: boolean;
  /**
   * Whether a backward pass may follow (default true): keep what it needs (masks, indices, batch
   * statistics). predict / evaluate pass false and must leave no trace in the layer, so that a
   * backward after them still differentiates the last training forward. No workspace then.
   */
  record?: boolean;
  /**
   * Whether to apply side effects on non-trained state now (default true): BatchNorm's running
   * statistics. fit passes false and calls commit() once the step succeeded, so a step refused
   * for a non-finite loss or gradient leaves that state as it was.
   */
  commit?: boolean;
}

export interface BackwardArgs extends ForwardArgs {
  /** dy: gradient of the output; dx: where the input gradient goes, 0 when nobody needs it. */
  dy: number;
  dx: number;
}

/** A layer's constructor arguments as JSON (the architecture saved with a model): its type and options. */
export interface LayerConfig {
  type: string;
  [option: string]: unknown;
}

export abstract class Layer {
  readonly params: Parameter[] = [];
  /**
   * State that is not trained (BatchNorm's running statistics): bound into the model's buffer
   * slab, saved by stateDict when persistent, never touched by optimizers.
   */
  readonly buffers: Parameter[] = [];
  /** Set by model.train() / model.eval(). */
  training = true;

  /** PyTorch-style description, e.g. "Linear(in_features=784, out_features=64, bias=True)". */
  abstract toString(): string;

  /** Per-sample output shape for a per-sample input shape; throws ShapeError naming both. */
  abstract outputShape(inShape: Shape): Shape;

  /**
   * The constructor arguments that rebuild this layer (saved with a model; see io/architecture.ts),
   * or null for a layer the formats do not know (a custom layer: such a model cannot be saved whole,
   * only its weights).
   */
  config(): LayerConfig | null { return null; }

  /** Per-sample input shape this layer requires, when it fixes one (Linear does). */
  inputShape(): Shape | null { return null; }

  /** Floats of arena workspace this layer needs per sample in training (kept from forward to backward). */
  workspace(inShape: Shape): number { void inShape; return 0; }

  /** Floats of transient scratch (an im2col buffer) this layer needs, independent of the batch. */
  scratch(inShape: Shape, rt?: Runtime): number { void inShape; void rt; return 0; }

  /** True for pure reshapes: the output buffer is the input buffer, and so are their gradients. */
  get aliasesInput(): boolean { return false; }

  /** True when an inference forward may write its output over its input (y == x): pointwise layers. */
  get inPlace(): boolean { return false; }

  /**
   * Refuses (InputError) a training batch the layer cannot take, e.g. BatchNorm with one value per
   * channel: fit checks every batch size of the epoch before its first step.
   */
  checkTrainingBatch(batch: number, inShape: Shape): void { void batch; void inShape; }

  /**
   * Throws a NumericError when the side effects a forward with commit: false deferred would store
   * NaN or Infinity; fit calls it before backward, so a refused step changes nothing.
   */
  checkStep(rt: Runtime): void { void rt; }

  /** Applies the side effects a forward with commit: false deferred (see ForwardArgs.commit). */
  commit(rt: Runtime): void { void rt; }

  abstract forward(a: ForwardArgs): void;

  /** Accumulates parameter gradients and writes the input gradient to a.dx when a.dx != 0. */
  abstract backward(a: BackwardArgs): void;
}

/**
 * Makes the named own properties read-only, so that a built-in layer's sizes (which its kernels
 * trust) cannot be changed once it has been built.
 */
export function lockFields(obj: object, names: readonly string[]): void {
  for (const name of names) Object.defineProperty(obj, name, { writable: false, configurable: false });
}
