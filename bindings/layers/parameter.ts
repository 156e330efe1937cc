// A named parameter (or buffer). Before its model is built it holds its initial values on the JS
// side; once bound, its values live in the model's parameter slab and its gradient in the
// gradient slab. Every access to bound memory checks that the slab is alive, so a handle kept
// after model.dispose() throws a StateError instead of writing into another model's memory.

import { sizeOf, formatShape, toFloat32, type Shape } from '../tensor.js';
import { InputError, MemoryError, ShapeError, StateError, describe } from '../errors.js';
import { liveF32, privateF32 } from '../memory/view.js';
import type { Heap } from '../memory/heap.js';
import { WASM32_MAX_BYTES } from '../memory/heap.js';

/** What a bound parameter needs of its slab: the heap, and whether it is still alive. */
export interface ParameterOwner {
  readonly heap: Heap;
  readonly disposed: boolean;
}

/**
 * A zero-filled Float32Array of `count` values for a layer's initial weights; a MemoryError naming
 * the layer when they could never fit in wasm32's 4 GiB (or the JS engine refuses the array).
 */
export function initialValues(owner: string, what: string, count: number): Float32Array {
  if (!(count * 4 <= WASM32_MAX_BYTES)) {
    throw new MemoryError(`${owner}: its ${what} has ${count} values (${(count * 4 / 2 ** 30).toFixed(1)} GiB), ` +
      'more than the 4 GiB a wasm32 memory can hold');
  }
  try {
    return new Float32Array(count);
  } catch (e) {
    throw new MemoryError(`${owner}: could not allocate ${count} values for its ${what}`, { cause: e });
  }
}

/**
 * Passed by ParameterSet to bind(): the library's own key (index.ts does not export it, and the
 * package exports map hides this module), so user code cannot point a parameter at memory.
 */
export const BIND_KEY: unique symbol = Symbol('simdnet.bind');

export class Parameter {
  readonly name: string;
  readonly shape: Shape;
  readonly size: number;
  #owner: ParameterOwner | null = null;
  #ptr = -1;
  #gradPtr = 0;
  #initial: Float32Array | null;
  #data: Float32Array | null = null;
  #grad: Float32Array | null = null;

  /** Buffers only: false for per-batch state that stateDict leaves out (PyTorch's persistent=False). */
  persistent = true;

  constructor(name: string, shape: Shape, initial: Float32Array) {
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    if (!(initial instanceof Float32Array) || initial.length !== this.size) {
      throw new ShapeError(`parameter ${name} ${formatShape(shape)} needs ${this.size} initial values, got ${describe(initial)}`);
    }
    this.#initial = initial;
  }

  /** True once the parameter lives in a model's slab (also after that model was disposed). */
  get bound(): boolean { return this.#owner !== null; }

  /** True when the model owning this parameter was disposed: every access then throws. */
  get disposed(): boolean { return this.#owner !== null && this.#owner.disposed; }

  /** Byte offset of the values in wasm memory (checked: throws after the model was disposed). */
  get ptr(): number {
    this.assertLive();
    return this.#ptr;
  }

  /** Byte offset of the gradient in wasm memory, 0 for buffers (which have none). */
  get gradPtr(): number {
    this.assertLive();
    return this.#gradPtr;
  }

  /**
   * The values, as a live view: into the JS array of initial values before the parameter joins a
   * model, into wasm memory after. It stays valid when the memory grows and throws a StateError
   * after the model is disposed. Writes go straight to the model.
   */
  get data(): Float32Array {
    // live from the start: a view taken before the layer joins a model follows its values there
    return this.#data ??= liveF32(() => this.view());
  }

  /** The accumulated gradient as a live view (see data), or null before binding and for buffers. */
  get grad(): Float32Array | null {
    if (!this.#owner || !this.#gradPtr) return null;
    return this.#grad ??= liveF32(() => this.gradView());
  }

  /** Overwrites the values (e.g. from a PyTorch state_dict); refuses wrong lengths and NaN / Infinity. */
  set(values: ArrayLike<number>): void {
    if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
      throw new InputError(`parameter ${this.name}: set() takes an array of ${this.size} numbers, got ${describe(values)}`);
    }
    // read through a private view: the caller's array may lie about its length or species
    const converted = privateF32(toFloat32(values, `parameter ${this.name}: set()`))!.slice();
    if (converted.length !== this.size) {
      throw new ShapeError(`parameter ${this.name} ${formatShape(this.shape)} needs ${this.size} values, got ${converted.length}`);
    }
    for (let i = 0; i < converted.length; i++) {
      if (!Number.isFinite(converted[i])) {
        throw new InputError(`parameter ${this.name}: value ${i} is ${values[i]}` +
          `${Number.isFinite(values[i]) ? ' (which overflows float32)' : ''}: parameters must be finite`);
      }
    }
    this.view().set(converted);
  }

  /** The values as a plain view (bound: valid until the memory grows). For the library's own use. */
  view(): Float32Array {
    if (!this.#owner) return this.#initial!;
    this.assertLive();
    const at = this.#ptr >>> 2;
    return this.#owner.heap.f32.subarray(at, at + this.size);
  }

  /** The gradient as a plain view (valid until the memory grows). */
  gradView(): Float32Array {
    this.assertLive();
    if (!this.#gradPtr) throw new StateError(`${this.name} has no gradient`);
    const at = this.#gradPtr >>> 2;
    return this.#owner!.heap.f32.subarray(at, at + this.size);
  }

  /** Moves the values into wasm memory at ptr; the gradient (0: none) lives at gradPtr. ParameterSet's only. */
  bind(owner: ParameterOwner, ptr: number, gradPtr: number, key?: typeof BIND_KEY): void {
    if (key !== BIND_KEY) throw new StateError(`parameter ${this.name}: only a ParameterSet binds parameters (see ParameterSet.rebuild)`);
    if (this.#owner && this.#owner !== owner && !this.#owner.disposed) {
      throw new StateError(`parameter ${this.name} already lives in another set of parameters`);
    }
    const values = this.view().slice();
    this.#owner = owner;
    this.#ptr = ptr;
    this.#gradPtr = gradPtr;
    this.#initial = null;
    this.view().set(values);
  }

  private assertLive(): void {
    if (!this.#owner) throw new StateError(`parameter ${this.name} is not in a model yet`);
    if (this.#owner.disposed) throw new StateError(`parameter ${this.name} belongs to a disposed model`);
  }
}
