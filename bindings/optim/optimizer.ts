// The optimizer base: one update over the whole parameter slab per step.
//
// Ownership: an optimizer owns its state (momentum, Adam's moments), slabs laid out like the
// parameter slab. It frees them in dispose(), and at the latest when its model is disposed or
// rebuilt (a layer added): the ParameterSet detaches it, and it refuses to step from then on with
// a StateError saying why.

import { ConfigError, NumericError, StateError, describe } from '../errors.js';
import { ParameterSet, type SlabClient } from '../model/parameter-set.js';
import { checkHyper } from '../options.js';

export { checkHyper, checkOptions, checkFlag } from '../options.js';

/** Anything that exposes its parameter slab: a model (model.parameters()) or the slab itself. */
export type ParamSource = ParameterSet | { parameters(): ParameterSet };

export abstract class Optimizer implements SlabClient {
  readonly params: ParameterSet;
  readonly #owner: string;
  #lr = 0;
  #stepCount = 0;
  /** Why the optimizer cannot step any more (disposed, or its model was), else null. */
  #retired: string | null = null;
  /** Byte offsets of the state slabs, freed together, and their names (torch.optim's). */
  #state: number[] = [];
  #stateNames: readonly string[] = [];

  protected constructor(owner: string, source: ParamSource) {
    this.#owner = owner;
    let params: unknown;
    try {
      params = source instanceof ParameterSet ? source
        : typeof (source as { parameters?: unknown })?.parameters === 'function' ? (source as { parameters(): ParameterSet }).parameters()
        : undefined;
    } catch (e) {
      if (e instanceof StateError) throw new StateError(`${owner}: ${e.message}`, { cause: e });
      throw e;
    }
    if (!(params instanceof ParameterSet)) {
      throw new ConfigError(`${owner}: the first argument must be a model or model.parameters(), got ${describe(source)}`);
    }
    if (params.disposed) throw new StateError(`${owner}: the model was disposed`);
    if (params.count === 0) throw new ConfigError(`${owner}: the model has no parameters to optimise`);
    this.params = params;
  }

  /** The learning rate: a number >= 0 that float32 holds (schedulers may anneal it to 0). */
  get lr(): number { return this.#lr; }
  set lr(value: number) {
    if (this.#retired !== null) throw new StateError(`${this.#owner}: cannot set lr: ${this.#retired}`);
    // the kernels take it as a float32
    checkHyper(this.#owner, 'lr', value, (v) => v >= 0 && Number.isFinite(Math.fround(v)), 'a number >= 0 that float32 holds (< 3.4e38)');
    this.#lr = value;
  }

  /** Steps taken. */
  get stepCount(): number { return this.#stepCount; }

  /** Bytes of wasm memory this optimizer's state holds. */
  get memoryBytes(): number { return this.#state.length * this.params.size * 4; }

  /** Applies one update over the whole slab. Refuses (weights untouched) on NaN/Inf gradients. */
  step(): void {
    this.assertLive();
    const bad = this.params.nonFiniteGrad();
    if (bad) {
      throw new NumericError(`${this.#owner}.step(): the gradient of parameter '${bad.name}' contains NaN ` +
        'or Infinity; the step was not applied');
    }
    this.update();
    this.#stepCount++;
    // Finite gradients can still overflow float32 in the update (a rate near 1e38). That cannot be
    // seen before the update without a second pass over the slab, so it is reported right after:
    // the one NumericError that comes after its step was applied.
    const overflowed = this.params.nonFiniteValue();
    if (overflowed) {
      throw new NumericError(`${this.#owner}.step(): the update overflowed float32: parameter '${overflowed.name}' now holds ` +
        'NaN or Infinity (lower the learning rate, and load the last good state)');
    }
  }

  zeroGrad(): void {
    this.assertLive();
    this.params.zeroGrad();
  }

  /** Returns the optimizer's state buffers to the heap; it cannot step afterwards. */
  dispose(): void {
    if (this.#retired !== null) return;
    this.params.forget(this);
    this.detach('used after dispose()');
  }

  /** Called by the ParameterSet when its layout changes or it is disposed: frees the state. */
  detach(reason: string): void {
    if (this.#retired !== null) return;
    this.#retired = reason;
    const heap = this.params.heap;
    for (const ptr of this.#state) heap.release(ptr);
    this.#state = [];
  }

  /** Whether step() would refuse for lack of state (disposed, or the model was disposed or rebuilt). */
  get disposed(): boolean { return this.#retired !== null; }

  /** Throws the StateError step() would throw when the optimizer can no longer step. */
  assertLive(): void {
    if (this.#retired !== null) throw new StateError(`${this.#owner}: ${this.#retired}`);
    if (this.params.disposed) throw new StateError(`${this.#owner}: its model was disposed`);
  }

  protected abstract update(): void;

  /** The name the optimizer gives in its messages (Adam, SGD, ...). */
  protected get owner(): string { return this.#owner; }

  /**
   * Allocates one zero-filled state slab (params.size floats, slab layout) per name, all or
   * none, and registers the optimizer with its parameters. Call once, at the end of the constructor.
   */
  protected allocState(names: readonly string[]): number[] {
    const p = this.params;
    const ptrs = p.heap.transaction(() => names.map((n) => p.heap.alloc(p.size * 4, `${this.#owner} ${n} (optimizer state)`)));
    for (const ptr of ptrs) p.rt.kernels.fill_f32(ptr, p.size, 0);
    this.#state = ptrs;
    this.#stateNames = Object.freeze([...names]);
    p.attach(this);
    return ptrs;
  }

  /** The constructor's options, as JSON (saved in checkpoints; see io/checkpoint.ts). */
  abstract config(): { type: string; [option: string]: unknown };

  /**
   * The state per parameter under torch.optim's names, in the parameters' order:
   * [ { exp_avg: Float32Array, ... } for parameter 0, ... ] (copies), and the step count.
   */
  exportState(): { step: number; params: Record<string, Float32Array>[] } {
    this.assertLive();
    const p = this.params, f32 = p.heap.f32;
    const params = p.params.map((param) => {
      const offset = (param.ptr - p.ptr) >>> 2;
      const record: Record<string, Float32Array> = {};
      this.#stateNames.forEach((name, k) => {
        const at = (this.#state[k] >>> 2) + offset;
        record[name] = f32.slice(at, at + param.size);
      });
      return record;
    });
    return { step: this.#stepCount, params };
  }

  /**
   * Loads what exportState gave (or torch.optim's state of the same model), all or nothing: every
   * name this optimizer keeps must be there for every parameter, with its length and finite values.
   */
  importState(state: { step: number; params: Record<string, ArrayLike<number>>[] }): void {
    this.assertLive();
    const p = this.params;
    if (!Number.isSafeInteger(state.step) || state.step < 0) throw new ConfigError(`${this.#owner}: the step count must be an integer >= 0, got ${describe(state.step)}`);
    if (state.params.length !== p.params.length) {
      throw new ConfigError(`${this.#owner}: the state is for ${state.params.length} parameters, the model has ${p.params.length}`);
    }
    const checked = p.params.map((param, i) => this.#stateNames.map((name) => {
      const v = state.params[i][name];
      if (!v || v.length !== param.size) {
        throw new ConfigError(`${this.#owner}: the state '${name}' of parameter ${i} (${param.name}) has ${v ? v.length : 'no'} values, it needs ${param.size}`);
      }
      const f = Float32Array.from(v);
      if (!f.every(Number.isFinite)) throw new ConfigError(`${this.#owner}: the state '${name}' of parameter ${i} is not finite`);
      return f;
    }));
    const f32 = p.heap.f32;
    p.params.forEach((param, i) => {
      const offset = (param.ptr - p.ptr) >>> 2;
      this.#stateNames.forEach((_, k) => f32.set(checked[i][k], (this.#state[k] >>> 2) + offset));
    });
    this.#stepCount = state.step;
  }

  /** A copy of a state buffer from allocState (params.size floats, slab layout). */
  protected copyState(ptr: number): Float32Array {
    this.assertLive();
    return this.params.heap.f32.slice(ptr >>> 2, (ptr >>> 2) + this.params.size);
  }
}
