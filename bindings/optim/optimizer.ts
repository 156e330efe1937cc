import { ConfigError, NumericError, StateError } from '../errors.js';
import type { ParameterSet } from '../model/parameter-set.js';

/** Anything that exposes its parameter slab: a model (model.parameters()) or the slab itself. */
export type ParamSource = ParameterSet | { parameters(): ParameterSet };

export abstract class Optimizer {
  readonly params: ParameterSet;
  private readonly version: number;
  /** Steps taken. */
  stepCount = 0;

  constructor(source: ParamSource) {
    this.params = 'parameters' in source ? source.parameters() : source;
    this.version = this.params.version;
    if (this.params.count === 0) throw new ConfigError(`${this.constructor.name}: the model has no parameters to optimise`);
  }

  abstract lr: number;

  /** Applies one update over the whole slab. Refuses (weights untouched) on NaN/Inf gradients. */
  step(): void {
    if (this.params.version !== this.version) {
      throw new StateError(`${this.constructor.name}: the model's parameters changed (a layer was added) after ` +
        'this optimizer was created; create a new optimizer');
    }
    const bad = this.params.nonFiniteGrad();
    if (bad) {
      throw new NumericError(`${this.constructor.name}.step(): the gradient of parameter '${bad.name}' contains NaN ` +
        'or Infinity; the step was not applied');
    }
    this.update();
    this.stepCount++;
  }

  zeroGrad(): void {
    this.params.zeroGrad();
  }

  protected abstract update(): void;
}

export function checkHyper(owner: string, name: string, value: number, ok: (v: number) => boolean, range: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`${owner}: ${name} must be ${range}, got ${value}`);
  }
}
