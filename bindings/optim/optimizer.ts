import { ConfigError, NumericError, StateError } from '../errors.js';
import type { ParameterSet } from '../model/parameter-set.js';

/** Anything that exposes its parameter slab: a model (model.parameters()) or the slab itself. */
export type ParamSource = ParameterSet | { parameters(): ParameterSet };

export abstract class Optimizer {
  readonly params: ParameterSet;
  private readonly version: number;
  /** Steps taken. */
  stepCount = 0;
  private disposed = false;

  constructor(source: ParamSource) {
    this.params = 'parameters' in source ? source.parameters() : source;
    this.version = this.params.version;
    if (this.params.count === 0) throw new ConfigError(`${this.constructor.name}: the model has no parameters to optimise`);
  }

  abstract lr: number;

  /** Applies one update over the whole slab. Refuses (weights untouched) on NaN/Inf gradients. */
  step(): void {
    this.assertLive();
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

  /** Returns the optimizer's state buffers to the heap; it cannot step afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.releaseState();
    this.disposed = true;
  }

  protected abstract update(): void;

  /** Frees what allocState handed out (called once, by dispose). */
  protected releaseState(): void {}

  /** Refuses to touch freed memory: this optimizer's state or its model's slabs. */
  protected assertLive(): void {
    if (this.disposed) throw new StateError(`${this.constructor.name}: used after dispose()`);
    if (this.params.disposed) throw new StateError(`${this.constructor.name}: its model was disposed`);
  }

  /** A zero-filled buffer of params.size floats laid out like the parameter slab (optimizer state). */
  protected allocState(what: string): number {
    const p = this.params;
    const ptr = p.rt.heap.alloc(p.size * 4, `${what} (optimizer state)`);
    p.rt.kernels.fill_f32(ptr, p.size, 0);
    return ptr;
  }

  /** A copy of a state buffer from allocState (params.size floats, slab layout). */
  protected copyState(ptr: number): Float32Array {
    return this.params.rt.heap.f32.slice(ptr >> 2, (ptr >> 2) + this.params.size);
  }
}

export function checkHyper(owner: string, name: string, value: number, ok: (v: number) => boolean, range: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`${owner}: ${name} must be ${range}, got ${value}`);
  }
}

/** Rejects options objects that are not plain objects and option names `owner` does not know. */
export function checkOptions(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`${owner}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ConfigError(`${owner}: unknown option '${key}' (options: ${known.join(', ')})`);
  }
}

export function checkFlag(owner: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new ConfigError(`${owner}: ${name} must be true or false, got ${String(value)}`);
}
