// The thread pool: init({ threads: n }) runs the kernels on the calling thread and n - 1 workers
// over one shared WebAssembly.Memory.
//
// Every worker instantiates the same module over that memory and then sleeps in Atomics.wait on
// a small control block (a SharedArrayBuffer of its own). A parallel call writes one task per
// thread into the block (a kernel's index and its arguments), bumps the generation and wakes the
// workers, runs its own share, then waits for the pending count to reach zero. Idle workers
// never spin: on two shared cores a spinning pool slows everything else down.
//
// Work is split by output blocks only (rows or columns of a GEMM's C, ranges of a pointwise
// pass, planes of a pooling), and every element is computed by the same instructions in the same
// order whichever block it falls in, so the results are the same bits for every thread count.
// Small calls are not split: waking a worker costs microseconds.

import { StateError } from '../errors.js';
import type { Kernels } from './kernels.js';

/** A worker as the pool sees it; the package entry that can start threads supplies one (WasmSource.startWorker). */
export interface PoolWorker {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  /** Lets the process exit while the worker sleeps (Node); a no-op where that is the default. */
  unref(): void;
  terminate(): void;
}

/**
 * Starts a worker running `body`, a classic script that expects two functions in scope:
 * `onMessage(f)` (calls f once, with the first message's data) and `post(m)`.
 */
export type StartWorker = (body: string) => PoolWorker;

// Control block layout (Int32 indices); worker w's arguments are the 16 f64 at ARGS_BYTES + w * 128.
const GENERATION = 0, PENDING = 1, STOP = 2, FAILED = 3, TASK = 8;
const MAX_WORKERS = 255;
const ARGS_BYTES = (TASK + MAX_WORKERS + 1) * 4;
const MAX_ARGS = 16;
const CONTROL_BYTES = ARGS_BYTES + MAX_WORKERS * MAX_ARGS * 8;

/** The most threads init accepts (the calling thread plus 255 workers). */
export const MAX_THREADS = MAX_WORKERS + 1;

/** The worker's script (plain JavaScript, so bundlers and minifiers leave it alone). */
const WORKER_BODY = `
const GENERATION = ${GENERATION}, PENDING = ${PENDING}, STOP = ${STOP}, FAILED = ${FAILED}, TASK = ${TASK};
onMessage((msg) => {
  let exports;
  try {
    exports = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } }).exports;
  } catch (e) {
    post({ type: 'error', message: String((e && e.message) || e) });
    return;
  }
  const ctl = new Int32Array(msg.control);
  const a = new Float64Array(msg.control, ${ARGS_BYTES} + msg.index * ${MAX_ARGS * 8}, ${MAX_ARGS});
  const fns = msg.names.map((name) => exports[name]);
  const slot = TASK + msg.index;
  let seen = Atomics.load(ctl, GENERATION);
  post({ type: 'ready' });
  for (;;) {
    Atomics.wait(ctl, GENERATION, seen);
    const generation = Atomics.load(ctl, GENERATION);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(ctl, STOP) !== 0) return;
    const f = Atomics.load(ctl, slot);
    if (f >= 0) {
      try {
        fns[f](a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
      } catch (e) {
        Atomics.store(ctl, FAILED, 1);
      }
    }
    if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
  }
});
`;

/** One thread's share of a call: a kernel (by name) and its arguments. */
export interface Task { kernel: keyof Kernels; args: number[] }

export class WorkerPool {
  /** Threads in all, the calling one included (as started: see stopped). */
  readonly threads: number;
  readonly #workers: PoolWorker[];
  readonly #control: Int32Array;
  readonly #args: Float64Array[];
  readonly #index: Map<string, number>;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
  readonly #canBlock: boolean;
  #stopped = false;

  private constructor(workers: PoolWorker[], control: SharedArrayBuffer, names: readonly string[]) {
    this.threads = workers.length + 1;
    this.#workers = workers;
    this.#control = new Int32Array(control);
    this.#args = workers.map((_, w) => new Float64Array(control, ARGS_BYTES + w * MAX_ARGS * 8, MAX_ARGS));
    this.#index = new Map(names.map((name, i) => [name, i]));
    let canBlock = true;
    try { Atomics.wait(this.#control, STOP, 1, 0); } catch { canBlock = false; }
    this.#canBlock = canBlock;
  }

  /**
   * Starts `count` workers, each instantiating `module` (whose memory import is shared) over
   * `memory`; resolves when every one is ready, rejects (with every started worker stopped) if one fails.
   */
  static async start(startWorker: StartWorker, count: number, module: WebAssembly.Module, memory: WebAssembly.Memory,
    names: readonly string[]): Promise<WorkerPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers: PoolWorker[] = [];
    try {
      for (let index = 0; index < count; index++) workers.push(startWorker(WORKER_BODY));
      await Promise.all(workers.map((worker, index) => new Promise<void>((resolve, reject) => {
        worker.onMessage((m) => {
          const message = m as { type?: string; message?: string };
          if (message?.type === 'ready') resolve();
          else reject(new Error(message?.message ?? 'the worker sent an unexpected message'));
        });
        worker.onError((e) => reject(e instanceof Error ? e : new Error(String(e))));
        worker.post({ module, memory, control, index, names });
      })));
    } catch (e) {
      for (const worker of workers) worker.terminate();
      throw e;
    }
    for (const worker of workers) worker.unref();
    return new WorkerPool(workers, control, names);
  }

  /**
   * Runs tasks[0] on this thread with `kernels` and tasks[1..] on workers 0.., and returns when
   * all are done. At most `threads` tasks.
   */
  run(kernels: Kernels, tasks: Task[]): void {
    if (this.#stopped) { // every share in turn on this thread: the same bits, one thread's speed
      for (const task of tasks) (kernels[task.kernel] as (...args: number[]) => void)(...task.args);
      return;
    }
    const ctl = this.#control;
    const workers = this.#workers.length;
    for (let w = 0; w < workers; w++) {
      const task = tasks[w + 1];
      if (task) {
        const args = this.#args[w];
        for (let i = 0; i < task.args.length; i++) args[i] = task.args[i];
        ctl[TASK + w] = this.#index.get(task.kernel)!;
      } else {
        ctl[TASK + w] = -1;
      }
    }
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, PENDING, workers);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    const own = tasks[0];
    try {
      if (own) (kernels[own.kernel] as (...args: number[]) => void)(...own.args);
    } finally {
      this.#join();
    }
    if (Atomics.load(ctl, FAILED) !== 0) throw new StateError('a kernel failed on a worker thread (a trap in the wasm)');
  }

  /**
   * Waits for every worker's share. The calling thread has nothing else to do meanwhile, so it
   * polls for up to half a millisecond (shares end close together, and waking from a sleep costs
   * about 10 us on a VM), then sleeps.
   */
  #join(): void {
    const ctl = this.#control;
    const started = performance.now();
    for (let polls = 1; ; polls++) {
      const pending = Atomics.load(ctl, PENDING);
      if (pending === 0) return;
      if ((polls & 1023) !== 0) continue;
      const waited = performance.now() - started;
      if (waited < 0.5) continue;
      if (this.#canBlock) Atomics.wait(ctl, PENDING, pending, 50);
      if (waited > 60_000) {
        throw new StateError(`${pending} worker thread(s) did not finish a kernel within 60 s; the pool is broken`);
      }
    }
  }

  /** Whether stop() was called. */
  get stopped(): boolean { return this.#stopped; }

  /** Stops and terminates every worker; run() then runs every share on the calling thread. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#control, STOP, 1);
    Atomics.add(this.#control, GENERATION, 1);
    Atomics.notify(this.#control, GENERATION);
    for (const worker of this.#workers) worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Splitting kernels by output blocks.

/**
 * Below these sizes a call runs on one thread: waking a worker and waiting for it costs 10-20 us
 * (measured on 2-vCPU VMs), about a megaflop of GEMM or 64k floats of a pointwise pass.
 */
const DEFAULT_SPLIT = { gemmFlopsPerThread: 1 << 20, pointwisePerThread: 1 << 16 };
const split = { ...DEFAULT_SPLIT };

/** @internal Tests lower the thresholds to 1 so that every call that can split does; no argument restores them. */
export function setSplitThresholds(thresholds: Partial<typeof DEFAULT_SPLIT> = DEFAULT_SPLIT): void {
  Object.assign(split, DEFAULT_SPLIT, thresholds);
}
/**
 * Kernels whose output is a run of independent items (elements, planes, samples), split into
 * ranges of items. `count` is the argument that counts the items; `ptrs` are the pointer
 * arguments, each with the floats one item spans there (a pointer of 0 means absent and is left as
 * is); `align` items per range start; `work` the cost of one item in pointwise elements, for the
 * threshold. Nothing here is reduced across items.
 */
interface ItemSplit {
  count: number;
  ptrs: [arg: number, floatsPerItem: (args: number[]) => number][];
  align: number;
  work: (args: number[]) => number;
}
const one = (): number => 1;
/** An element-by-element pass: ranges start on 64-byte boundaries, so no two threads write one cache line. */
const elementwise = (count: number, ...ptrs: number[]): ItemSplit => ({ count, ptrs: ptrs.map((p) => [p, one]), align: 16, work: one });

const ITEM_SPLITS: Partial<Record<keyof Kernels, ItemSplit>> = {
  fill_f32: elementwise(1, 0),                    // (p, n, value)
  copy_f32: elementwise(2, 0, 1),                 // (dst, src, n)
  relu_f32_fwd: elementwise(2, 0, 1),             // (x, y, n)
  relu_f32_bwd: elementwise(3, 0, 1, 2),          // (y, dy, dx, n)
  sigmoid_f32_fwd: elementwise(2, 0, 1),
  sigmoid_f32_bwd: elementwise(3, 0, 1, 2),
  tanh_f32_fwd: elementwise(2, 0, 1),
  tanh_f32_bwd: elementwise(3, 0, 1, 2),
  leaky_relu_f32_fwd: elementwise(2, 0, 1),       // (x, y, n, slope)
  leaky_relu_f32_bwd: elementwise(3, 0, 1, 2),    // (x, dy, dx, n, slope)
  gelu_f32_fwd: elementwise(2, 0, 1),             // (x, y, n, approximate)
  gelu_f32_bwd: elementwise(3, 0, 1, 2),
  dropout_f32_bwd: elementwise(3, 0, 1, 2),       // (dy, mask, dx, n)
  sgd_f32_step: elementwise(3, 0, 1, 2),          // (param, grad, buf, n, ...)
  adam_f32_step: elementwise(5, 0, 1, 2, 3, 4),   // (param, grad, m, v, vmax, n, ...)
  rmsprop_f32_step: elementwise(5, 0, 1, 2, 3, 4), // (param, grad, sq, ga, buf, n, ...)
  // (x, P, H, W, KH, KW, SH, SW, PH, PW, OH, OW, y, arg): P planes
  maxpool2d_f32_fwd: {
    count: 1, ptrs: [[0, (a) => a[2] * a[3]], [12, (a) => a[10] * a[11]], [13, (a) => a[10] * a[11]]], align: 1,
    work: (a) => a[10] * a[11] * a[4] * a[5],
  },
  // (dy, arg, P, H, W, OH, OW, dx): P planes
  maxpool2d_f32_bwd: {
    count: 2, ptrs: [[0, (a) => a[5] * a[6]], [1, (a) => a[5] * a[6]], [7, (a) => a[3] * a[4]]], align: 1,
    work: (a) => a[3] * a[4],
  },
  // (y, b, N, C, S): N samples
  bias_f32_add_channels: { count: 2, ptrs: [[0, (a) => a[3] * a[4]]], align: 1, work: (a) => a[3] * a[4] },
};

/** [start, end) of part i of `parts` over [0, length), each start a multiple of `unit`. */
function part(length: number, parts: number, i: number, unit: number): [number, number] {
  const blocks = Math.ceil(length / unit);
  return [Math.floor(i * blocks / parts) * unit, Math.min(length, Math.floor((i + 1) * blocks / parts) * unit)];
}

/**
 * The kernels with the big ones split across the pool. `scratch[t]` is thread t's GEMM packing
 * scratch (thread 0 is the calling one); `mr` is the build's microkernel height.
 */
export function parallelKernels(base: Kernels, pool: WorkerPool, scratch: readonly number[], mr: number): Kernels {
  const threads = pool.threads;
  const k: Record<string, unknown> = {};
  for (const name of Object.keys(base) as (keyof Kernels)[]) k[name] = base[name];
  Object.defineProperty(k, 'memory', { value: base.memory, enumerable: true });

  const gemm = (M: number, N: number, K: number, a: number, lda: number, ta: number, b: number, ldb: number, tb: number,
    c: number, ldc: number, accumulate: number, ownScratch: number): void => {
    const parts = Math.min(threads, Math.floor((2 * M * N * K) / split.gemmFlopsPerThread));
    // split the longer side of C: each thread packs all of the other operand's panel, so this
    // duplicates the smaller of the two packings
    const canRows = M >= 2 * mr, canColumns = N >= 16;
    const byRows = canRows && (M >= N || !canColumns);
    if (parts < 2 || !(canRows || canColumns)) {
      base.gemm_f32_strided(M, N, K, a, lda, ta, b, ldb, tb, c, ldc, accumulate, ownScratch);
      return;
    }
    const tasks: Task[] = [];
    for (let t = 0; t < parts; t++) {
      const [start, end] = part(byRows ? M : N, parts, t, byRows ? mr : 8);
      if (end <= start) continue;
      const s = tasks.length === 0 ? ownScratch : scratch[tasks.length]; // the scratch of the thread that runs it
      tasks.push({
        kernel: 'gemm_f32_strided', args: byRows
          ? [end - start, N, K, a + 4 * (ta ? start : start * lda), lda, ta, b, ldb, tb, c + 4 * start * ldc, ldc, accumulate, s]
          : [M, end - start, K, a, lda, ta, b + 4 * (tb ? start * ldb : start), ldb, tb, c + 4 * start, ldc, accumulate, s],
      });
    }
    pool.run(base, tasks);
  };
  k.gemm_f32_nn = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, K, 0, b, N, 0, c, N, acc, s);
  k.gemm_f32_nt = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, K, 0, b, K, 1, c, N, acc, s);
  k.gemm_f32_tn = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, M, 1, b, N, 0, c, N, acc, s);
  k.gemm_f32_strided = gemm;

  for (const [name, how] of Object.entries(ITEM_SPLITS) as [keyof Kernels, ItemSplit][]) {
    const kernel = base[name] as (...args: number[]) => void;
    k[name] = (...args: number[]): void => {
      const count = args[how.count];
      const parts = Math.min(threads, count, Math.floor((count * how.work(args)) / split.pointwisePerThread));
      if (parts < 2) { kernel(...args); return; }
      const strides = how.ptrs.map(([p, floatsPerItem]) => [p, 4 * floatsPerItem(args)]);
      const tasks: Task[] = [];
      for (let t = 0; t < parts; t++) {
        const [start, end] = part(count, parts, t, how.align);
        if (end <= start) continue;
        const own = args.slice();
        own[how.count] = end - start;
        for (const [p, bytes] of strides) if (args[p] !== 0) own[p] = args[p] + bytes * start;
        tasks.push({ kernel: name, args: own });
      }
      pool.run(base, tasks);
    };
  }
  return Object.freeze(k) as unknown as Kernels;
}
