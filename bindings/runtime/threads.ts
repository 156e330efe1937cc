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
/** Pointwise ranges start on 64-byte boundaries, so no two threads write one cache line. */
const POINTWISE_ALIGN = 16;

/**
 * Pointwise kernels: which argument is the element count and which are pointers to arrays of
 * that many floats (0 = absent, left as is). Every one is element-by-element, nothing reduced.
 */
const POINTWISE: Partial<Record<keyof Kernels, { n: number; ptrs: number[] }>> = {
  fill_f32: { n: 1, ptrs: [0] },
  copy_f32: { n: 2, ptrs: [0, 1] },
  relu_f32_fwd: { n: 2, ptrs: [0, 1] },
  relu_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  sigmoid_f32_fwd: { n: 2, ptrs: [0, 1] },
  sigmoid_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  tanh_f32_fwd: { n: 2, ptrs: [0, 1] },
  tanh_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  leaky_relu_f32_fwd: { n: 2, ptrs: [0, 1] },
  leaky_relu_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  gelu_f32_fwd: { n: 2, ptrs: [0, 1] },
  gelu_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  dropout_f32_bwd: { n: 3, ptrs: [0, 1, 2] },
  sgd_f32_step: { n: 3, ptrs: [0, 1, 2] },
  adam_f32_step: { n: 5, ptrs: [0, 1, 2, 3, 4] },
  rmsprop_f32_step: { n: 5, ptrs: [0, 1, 2, 3, 4] },
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
      const s = ownScratch; // thread t's own, set below once empty parts are dropped
      if (byRows) {
        const [i0, i1] = part(M, parts, t, mr);
        if (i1 <= i0) continue;
        const ai = a + 4 * (ta ? i0 : i0 * lda);
        tasks.push({ kernel: 'gemm_f32_strided', args: [i1 - i0, N, K, ai, lda, ta, b, ldb, tb, c + 4 * i0 * ldc, ldc, accumulate, s] });
      } else {
        const [j0, j1] = part(N, parts, t, 8);
        if (j1 <= j0) continue;
        const bj = b + 4 * (tb ? j0 * ldb : j0);
        tasks.push({ kernel: 'gemm_f32_strided', args: [M, j1 - j0, K, a, lda, ta, bj, ldb, tb, c + 4 * j0, ldc, accumulate, s] });
      }
    }
    fixScratch(tasks);
    pool.run(base, tasks);
  };
  // a task list may have skipped an empty part: each thread must still use its own scratch
  const fixScratch = (tasks: Task[]): void => {
    for (let t = 1; t < tasks.length; t++) tasks[t].args[12] = scratch[t];
  };

  k.gemm_f32_nn = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, K, 0, b, N, 0, c, N, acc, s);
  k.gemm_f32_nt = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, K, 0, b, K, 1, c, N, acc, s);
  k.gemm_f32_tn = (M: number, N: number, K: number, a: number, b: number, c: number, acc: number, s: number) =>
    gemm(M, N, K, a, M, 1, b, N, 0, c, N, acc, s);
  k.gemm_f32_strided = gemm;

  for (const [name, shape] of Object.entries(POINTWISE) as [keyof Kernels, { n: number; ptrs: number[] }][]) {
    const kernel = base[name] as (...args: number[]) => void;
    k[name] = (...args: number[]): void => {
      const n = args[shape.n];
      const parts = Math.min(threads, Math.floor(n / split.pointwisePerThread));
      if (parts < 2) { kernel(...args); return; }
      const tasks: Task[] = [];
      for (let t = 0; t < parts; t++) {
        const [i0, i1] = part(n, parts, t, POINTWISE_ALIGN);
        if (i1 <= i0) continue;
        const own = args.slice();
        own[shape.n] = i1 - i0;
        for (const p of shape.ptrs) if (args[p] !== 0) own[p] = args[p] + 4 * i0;
        tasks.push({ kernel: name, args: own });
      }
      pool.run(base, tasks);
    };
  }

  // planes of a pooling, samples of a per-channel bias: independent blocks of output
  k.maxpool2d_f32_fwd = (x: number, P: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, OH: number, OW: number, y: number, arg: number): void => {
    const parts = Math.min(threads, P, Math.floor((P * OH * OW * KH * KW) / split.pointwisePerThread));
    if (parts < 2) { base.maxpool2d_f32_fwd(x, P, H, W, KH, KW, SH, SW, PH, PW, OH, OW, y, arg); return; }
    const tasks: Task[] = [];
    for (let t = 0; t < parts; t++) {
      const [p0, p1] = part(P, parts, t, 1);
      tasks.push({ kernel: 'maxpool2d_f32_fwd', args: [x + 4 * p0 * H * W, p1 - p0, H, W, KH, KW, SH, SW, PH, PW, OH, OW,
        y + 4 * p0 * OH * OW, arg + 4 * p0 * OH * OW] });
    }
    pool.run(base, tasks);
  };
  k.maxpool2d_f32_bwd = (dy: number, arg: number, P: number, H: number, W: number, OH: number, OW: number, dx: number): void => {
    const parts = Math.min(threads, P, Math.floor((P * H * W) / split.pointwisePerThread));
    if (parts < 2) { base.maxpool2d_f32_bwd(dy, arg, P, H, W, OH, OW, dx); return; }
    const tasks: Task[] = [];
    for (let t = 0; t < parts; t++) {
      const [p0, p1] = part(P, parts, t, 1);
      tasks.push({ kernel: 'maxpool2d_f32_bwd', args: [dy + 4 * p0 * OH * OW, arg + 4 * p0 * OH * OW, p1 - p0, H, W, OH, OW,
        dx + 4 * p0 * H * W] });
    }
    pool.run(base, tasks);
  };
  k.bias_f32_add_channels = (y: number, b: number, N: number, C: number, S: number): void => {
    const parts = Math.min(threads, N, Math.floor((N * C * S) / split.pointwisePerThread));
    if (parts < 2) { base.bias_f32_add_channels(y, b, N, C, S); return; }
    const tasks: Task[] = [];
    for (let t = 0; t < parts; t++) {
      const [n0, n1] = part(N, parts, t, 1);
      tasks.push({ kernel: 'bias_f32_add_channels', args: [y + 4 * n0 * C * S, b, n1 - n0, C, S] });
    }
    pool.run(base, tasks);
  };
  return Object.freeze(k) as unknown as Kernels;
}
