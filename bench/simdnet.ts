// simdnet's half of the bench: the same workloads as bench/tfjs.ts, measured the same way.
import {
  Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD, Generator, Tensor, manualSeed, type Runtime,
} from '../bindings/index.js';
import { median, medianSecondsPerCall } from './timing.js';

/** GFLOP/s of C = A . B (gemm_f32_nn, the layout tf.matMul takes) on uniform(-1, 1) matrices. */
export function simdnetGemmGflops(rt: Runtime, M: number, K: number, N: number, minSeconds = 1): number {
  const heap = rt.heap;
  const a = heap.alloc(M * K * 4, 'bench A'), b = heap.alloc(K * N * 4, 'bench B'), c = heap.alloc(M * N * 4, 'bench C');
  const g = new Generator(1);
  g.uniform(heap.f32.subarray(a >> 2, (a >> 2) + M * K), -1, 1);
  g.uniform(heap.f32.subarray(b >> 2, (b >> 2) + K * N), -1, 1);
  try {
    const seconds = medianSecondsPerCall(() => rt.kernels.gemm_f32_nn(M, N, K, a, b, c, 0, rt.gemmScratch), minSeconds);
    return (2 * M * N * K) / seconds / 1e9;
  } finally {
    for (const p of [a, b, c]) heap.release(p);
  }
}

export function courseMlp(rt: Runtime, seed = 0): Sequential {
  manualSeed(seed);
  return new Sequential([
    new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(),
    new Linear(32, 32), new ReLU(), new Linear(32, 10), new LogSoftmax(1),
  ], { runtime: rt });
}

/** Seconds per training epoch of the course MLP (SGD, batch 32, shuffled), one fit call per epoch. */
export async function simdnetMlpEpochSeconds(rt: Runtime, x: Float32Array, y: Uint8Array | Int32Array,
  opts: { lr: number; batchSize: number; epochs: number }): Promise<{ epochSeconds: number[]; finalLoss: number }> {
  const model = courseMlp(rt);
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: opts.lr }) });
  const history = await model.fit(x, y, { epochs: opts.epochs, batchSize: opts.batchSize, seed: 0 });
  model.dispose();
  return { epochSeconds: history.history.seconds, finalLoss: history.history.loss[history.history.loss.length - 1] };
}

/** Single-image latency (microseconds) and batch-1000 throughput (images/s) of model.predict. */
export function simdnetMlpInference(rt: Runtime, minSeconds = 1): { latencyB1Us: number; throughputB1000: number } {
  const model = courseMlp(rt);
  const g = new Generator(3);
  const x1 = new Tensor(g.uniform(new Float32Array(784), 0, 1), [1, 784]);
  const x1000 = new Tensor(g.uniform(new Float32Array(784 * 1000), 0, 1), [1000, 784]);
  try {
    const lat = medianSecondsPerCall(() => model.predict(x1, { batchSize: 1 }), minSeconds, 50, 50);
    const big = medianSecondsPerCall(() => model.predict(x1000, { batchSize: 1000 }), minSeconds, 10, 5);
    return { latencyB1Us: lat * 1e6, throughputB1000: 1000 / big };
  } finally {
    model.dispose();
  }
}

export { median };
