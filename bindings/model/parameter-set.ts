// All parameters of a model in one contiguous slab, their gradients in a second slab of the same
// layout, so zeroing gradients and an optimizer step are each one kernel call over the slab.

import type { Runtime } from '../runtime/load.js';
import type { Parameter } from '../layers/parameter.js';

const FLOAT_ALIGN = 16; // each parameter starts on a 64-byte boundary

export class ParameterSet {
  /** Byte offsets of the two slabs and their length in floats (including alignment padding). */
  ptr = 0;
  gradPtr = 0;
  size = 0;
  /** Bumped whenever the slab is rebuilt; optimizers made for an older layout refuse to step. */
  version = 0;
  params: Parameter[] = [];
  /** Set by dispose: the slabs are gone and nothing may read or write them. */
  disposed = false;

  constructor(readonly rt: Runtime) {}

  /** Lays out `params` in fresh slabs, keeping their current values; gradients start at zero. */
  rebuild(params: Parameter[]): void {
    let size = 0;
    const offsets = params.map((p) => {
      const at = size;
      size += Math.ceil(p.size / FLOAT_ALIGN) * FLOAT_ALIGN;
      return at;
    });
    const heap = this.rt.heap;
    const bytes = Math.max(size, 1) * 4;
    const ptr = heap.alloc(bytes, 'parameter slab');
    const gradPtr = heap.alloc(bytes, 'gradient slab');
    this.rt.kernels.fill_f32(ptr, size, 0);
    this.rt.kernels.fill_f32(gradPtr, size, 0);
    params.forEach((p, i) => p.bind(heap, ptr + offsets[i] * 4, gradPtr + offsets[i] * 4));
    this.releaseSlabs();
    Object.assign(this, { ptr, gradPtr, size, params, version: this.version + 1 });
  }

  /** Number of parameter values (without padding). */
  get count(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  zeroGrad(): void {
    if (this.size) this.rt.kernels.fill_f32(this.gradPtr, this.size, 0);
  }

  /** The parameter whose gradient holds the first NaN or Infinity, or null if all are finite. */
  nonFiniteGrad(): Parameter | null {
    const at = this.size ? this.rt.kernels.find_nonfinite_f32(this.gradPtr, this.size) : -1;
    if (at < 0) return null;
    const byte = this.gradPtr + at * 4;
    return this.params.find((p) => byte >= p.gradPtr && byte < p.gradPtr + p.size * 4) ?? this.params[0];
  }

  dispose(): void {
    this.releaseSlabs();
    this.size = 0;
    this.params = [];
    this.disposed = true;
  }

  private releaseSlabs(): void {
    if (this.ptr) this.rt.heap.release(this.ptr);
    if (this.gradPtr) this.rt.heap.release(this.gradPtr);
    this.ptr = this.gradPtr = 0;
  }
}
