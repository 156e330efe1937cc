// A named parameter. Before its model is built it holds its initial values on the JS side; once
// bound, its values live in the model's parameter slab and its gradient in the gradient slab.

import type { Heap } from '../memory/heap.js';
import { sizeOf, formatShape, type Shape } from '../tensor.js';
import { ShapeError } from '../errors.js';

export class Parameter {
  readonly size: number;
  /** Byte offsets into wasm memory once bound, else -1. */
  ptr = -1;
  gradPtr = -1;
  private heap: Heap | null = null;
  private initial: Float32Array | null;

  /** Buffers only: false for per-batch state that stateDict leaves out (PyTorch's persistent=False). */
  persistent = true;

  constructor(readonly name: string, readonly shape: Shape, initial: Float32Array) {
    this.size = sizeOf(shape);
    this.initial = initial;
  }

  get bound(): boolean { return this.heap !== null; }

  /** The values, as a live view into wasm memory once bound (valid until the memory grows). */
  get data(): Float32Array {
    if (!this.heap) return this.initial!;
    return this.heap.f32.subarray(this.ptr >> 2, (this.ptr >> 2) + this.size);
  }

  /** The accumulated gradient (a live view), or null before the parameter is bound. */
  get grad(): Float32Array | null {
    if (!this.heap) return null;
    return this.heap.f32.subarray(this.gradPtr >> 2, (this.gradPtr >> 2) + this.size);
  }

  /** Overwrites the values (e.g. from a PyTorch state_dict). */
  set(values: ArrayLike<number>): void {
    if (values.length !== this.size) {
      throw new ShapeError(`parameter ${this.name} ${formatShape(this.shape)} needs ${this.size} values, got ${values.length}`);
    }
    this.data.set(values);
  }

  /** Moves the values into wasm memory at ptr; the gradient lives at gradPtr. */
  bind(heap: Heap, ptr: number, gradPtr: number): void {
    const values = this.data.slice();
    this.heap = heap;
    this.ptr = ptr;
    this.gradPtr = gradPtr;
    this.initial = null;
    this.data.set(values);
  }
}
