// All parameters of a model in one contiguous slab, their gradients in a second slab of the same
// layout, so zeroing gradients and an optimizer step are each one kernel call over the slab.
//
// Ownership: the model owns its ParameterSets; a ParameterSet also knows the optimizers made over
// it, because their state is laid out like the slab. When the slab is rebuilt (a layer was added)
// or disposed (the model was), those optimizers are detached: their state is freed and they
// refuse to step with a StateError that says why.

import type { Runtime } from '../runtime/load.js';
import type { Heap } from '../memory/heap.js';
import { BIND_KEY, type Parameter } from '../layers/parameter.js';
import { StateError } from '../errors.js';

const FLOAT_ALIGN = 16; // each parameter starts on a 64-byte boundary

/** What a ParameterSet needs of an optimizer made over it. */
export interface SlabClient {
  /** Frees the client's state; `reason` is what it says when used afterwards. */
  detach(reason: string): void;
}

/** Slabs allocated by prepare() and not yet committed. */
export interface PreparedSlab {
  readonly params: readonly Parameter[];
  readonly offsets: readonly number[];
  readonly size: number;
  readonly ptr: number;
  readonly gradPtr: number;
}

export class ParameterSet {
  readonly rt: Runtime;
  /** Whether the set has a gradient slab (a model's parameters do; its buffers do not). */
  readonly hasGradients: boolean;
  #ptr = 0;
  #gradPtr = 0;
  #size = 0;
  #version = 0;
  #params: readonly Parameter[] = Object.freeze([]);
  #disposed = false;
  #clients = new Set<SlabClient>();
  /** Set for a model's own sets: the key its owner passes to change the layout (or dispose). */
  readonly #key: object | undefined;

  /**
   * A standalone set (for layer-level use: new ParameterSet(rt).rebuild(layer.params)), or, with
   * `owner`, a model's: then only calls that pass the same object may change or free it.
   */
  constructor(rt: Runtime, options: { gradients?: boolean; owner?: object } = {}) {
    this.rt = rt;
    this.hasGradients = options.gradients ?? true;
    this.#key = options.owner;
  }

  get heap(): Heap { return this.rt.heap; }

  /** Byte offset of the value slab (0 before the first build). */
  get ptr(): number { this.assertLive(); return this.#ptr; }
  /** Byte offset of the gradient slab (0 without gradients). */
  get gradPtr(): number { this.assertLive(); return this.#gradPtr; }
  /** Length of each slab in floats, alignment padding included. */
  get size(): number { return this.#size; }
  /** Bumped whenever the slab is rebuilt; optimizers made for an older layout refuse to step. */
  get version(): number { return this.#version; }
  /** The parameters in slab order. */
  get params(): readonly Parameter[] { return this.#params; }
  /** Set by dispose: the slabs are gone and nothing may read or write them. */
  get disposed(): boolean { return this.#disposed; }

  /** Bytes of wasm memory a set of these parameters takes (both slabs). */
  static bytesFor(params: readonly Parameter[], gradients: boolean): number {
    const floats = params.reduce((n, p) => n + Math.ceil(p.size / FLOAT_ALIGN) * FLOAT_ALIGN, 0);
    return Math.max(floats, 1) * 4 * (gradients ? 2 : 1);
  }

  /**
   * Allocates slabs for `params` without touching the current ones (MemoryError when they do not
   * fit). Pass the result to commit(), or to abandon() to give it back. Run several prepares in one
   * heap.transaction() to make them all-or-nothing.
   */
  prepare(params: readonly Parameter[], key?: object): PreparedSlab {
    this.assertLive();
    this.assertOwner(key);
    let size = 0;
    const offsets = params.map((p) => {
      const at = size;
      size += Math.ceil(p.size / FLOAT_ALIGN) * FLOAT_ALIGN;
      return at;
    });
    const heap = this.rt.heap;
    const bytes = Math.max(size, 1) * 4;
    const [ptr, gradPtr] = heap.transaction(() => [
      heap.alloc(bytes, 'parameter slab'),
      this.hasGradients ? heap.alloc(bytes, 'gradient slab') : 0,
    ]);
    return { params: Object.freeze([...params]), offsets, size, ptr, gradPtr };
  }

  /**
   * Moves the parameters into prepared slabs, keeping their values (gradients start at zero), and
   * frees the old slabs. Cannot fail. Optimizers made over the old layout are detached.
   */
  commit(prepared: PreparedSlab, key?: object): void {
    this.assertLive();
    this.assertOwner(key);
    const { params, offsets, size, ptr, gradPtr } = prepared;
    this.rt.kernels.fill_f32(ptr, size, 0);
    if (gradPtr) this.rt.kernels.fill_f32(gradPtr, size, 0);
    params.forEach((p, i) => p.bind(this, ptr + offsets[i] * 4, gradPtr ? gradPtr + offsets[i] * 4 : 0, BIND_KEY));
    this.releaseSlabs();
    this.#ptr = ptr;
    this.#gradPtr = gradPtr;
    this.#size = size;
    this.#params = params;
    this.#version++;
    this.detachClients('the model\'s parameters changed (a layer was added) after this optimizer was created; create a new optimizer');
  }

  /** Gives back what prepare() allocated, unused. */
  abandon(prepared: PreparedSlab, key?: object): void {
    this.assertOwner(key);
    this.rt.heap.release(prepared.ptr);
    if (prepared.gradPtr) this.rt.heap.release(prepared.gradPtr);
  }

  /** prepare() then commit(): all-or-nothing. */
  rebuild(params: readonly Parameter[], key?: object): void {
    this.commit(this.prepare(params, key), key);
  }

  /** Registers an optimizer whose state follows this slab's layout. */
  attach(client: SlabClient): void {
    this.assertLive();
    this.#clients.add(client);
  }

  /** Forgets an optimizer (it freed its state itself). */
  forget(client: SlabClient): void {
    this.#clients.delete(client);
  }

  /** Number of parameter values (without padding). */
  get count(): number {
    return this.#params.reduce((n, p) => n + p.size, 0);
  }

  zeroGrad(): void {
    this.assertLive();
    if (this.#size && this.#gradPtr) this.rt.kernels.fill_f32(this.#gradPtr, this.#size, 0);
  }

  /** The parameter whose gradient holds the first NaN or Infinity, or null if all are finite. */
  nonFiniteGrad(): Parameter | null {
    this.assertLive();
    const at = this.#size && this.#gradPtr ? this.rt.kernels.find_nonfinite_f32(this.#gradPtr, this.#size) : -1;
    if (at < 0) return null;
    const byte = this.#gradPtr + at * 4;
    return this.#params.find((p) => byte >= p.gradPtr && byte < p.gradPtr + p.size * 4) ?? this.#params[0];
  }

  /** The parameter whose value holds the first NaN or Infinity, or null if all are finite. */
  nonFiniteValue(): Parameter | null {
    this.assertLive();
    const at = this.#size ? this.rt.kernels.find_nonfinite_f32(this.#ptr, this.#size) : -1;
    if (at < 0) return null;
    const byte = this.#ptr + at * 4;
    return this.#params.find((p) => byte >= p.ptr && byte < p.ptr + p.size * 4) ?? this.#params[0];
  }

  /** Frees both slabs and the state of every optimizer made over them. */
  dispose(key?: object): void {
    if (this.#disposed) return;
    this.assertOwner(key);
    this.detachClients('its model was disposed');
    this.releaseSlabs();
    this.#size = 0;
    this.#disposed = true;
  }

  private detachClients(reason: string): void {
    const clients = [...this.#clients];
    this.#clients.clear();
    for (const c of clients) c.detach(reason);
  }

  private releaseSlabs(): void {
    if (this.#ptr) this.rt.heap.release(this.#ptr);
    if (this.#gradPtr) this.rt.heap.release(this.#gradPtr);
    this.#ptr = this.#gradPtr = 0;
  }

  private assertOwner(key: object | undefined): void {
    if (this.#key !== undefined && key !== this.#key) {
      throw new StateError('these parameters belong to a model: change them through the model (add, loadStateDict, dispose)');
    }
  }

  private assertLive(): void {
    if (this.#disposed) throw new StateError('the parameters belong to a disposed model');
  }
}
