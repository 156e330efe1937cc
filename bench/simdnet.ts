// simdnet's half of the bench: the same workloads as bench/tfjs.ts, measured the same way.
import {
  Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD, Generator, Tensor, manualSeed, type Runtime,
  Flatten, CrossEntropyLoss, Adam, type Layer,
} from '../bindings/index.js';
// The whole namespace as well, to find the CNN layers at run time: the bench must compile and run
// before bindings/index.ts exports them (their rows are then skipped with a message).
import * as simdnetApi from '../bindings/index.js';
import { median, medianSecondsPerCall } from './timing.js';

/** GFLOP/s of C = A . B (gemm_f32_nn, the layout tf.matMul takes) on uniform(-1, 1) matrices. */
export function simdnetGemmGflops(rt: Runtime, M: number, K: number, N: number, minSeconds = 1): number {
  const heap = rt.heap;
  const a = heap.alloc(M * K * 4, 'bench A'), b = heap.alloc(K * N * 4, 'bench B'), c = heap.alloc(M * N * 4, 'bench C');
  const g = new Generator(1);
  g.uniform(heap.f32.subarray(a >>> 2, (a >>> 2) + M * K), -1, 1);
  g.uniform(heap.f32.subarray(b >>> 2, (b >>> 2) + K * N), -1, 1);
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

/** Seconds per training epoch of the course MLP (SGD or Adam, batch 32, shuffled), one fit call per epoch. */
export async function simdnetMlpEpochSeconds(rt: Runtime, x: Float32Array, y: Uint8Array | Int32Array,
  opts: { lr: number; batchSize: number; epochs: number; optimizer?: 'sgd' | 'adam' }): Promise<{ epochSeconds: number[]; finalLoss: number }> {
  const model = courseMlp(rt);
  const optimizer = opts.optimizer === 'adam' ? new Adam(model, { lr: opts.lr }) : new SGD(model, { lr: opts.lr });
  model.compile({ loss: new NLLLoss(), optimizer });
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

// ---------------------------------------------------------------------------------------------
// the issue-4 CNN

export interface Conv2dOptions { stride?: number; padding?: number; dilation?: number; bias?: boolean }
export interface MaxPool2dOptions { stride?: number; padding?: number }
export interface SimdnetCnnApi {
  Conv2d: new (inChannels: number, outChannels: number, kernelSize: number, options?: Conv2dOptions) => Layer;
  MaxPool2d: new (kernelSize: number, options?: MaxPool2dOptions) => Layer;
}

/**
 * simdnet's CNN layers when bindings/index.ts exports them, else why not (a message). `needs`
 * picks which ones must be there (the conv2d_* rows need only Conv2d).
 */
export function simdnetCnnApi(needs: (keyof SimdnetCnnApi)[] = ['Conv2d', 'MaxPool2d']): SimdnetCnnApi | string {
  const ns = simdnetApi as unknown as Record<string, unknown>;
  const missing = needs.filter((name) => typeof ns[name] !== 'function');
  if (missing.length) return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not exported by bindings/index.ts yet`;
  return ns as unknown as SimdnetCnnApi;
}

/**
 * Conv2d(1,32,5,p2)-ReLU-MaxPool2d(2)-Conv2d(32,64,5,p2)-ReLU-MaxPool2d(2)-Flatten-Linear(3136,128)-ReLU-
 * Linear(128,10), per-sample input [1, 28, 28], logits out (for CrossEntropyLoss).
 */
export function simdnetCnn(rt: Runtime, api: SimdnetCnnApi, seed = 0): Sequential {
  manualSeed(seed);
  const { Conv2d, MaxPool2d } = api;
  return new Sequential([
    new Conv2d(1, 32, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(3136, 128), new ReLU(), new Linear(128, 10),
  ], { inputShape: [1, 28, 28], runtime: rt });
}

/** Batches for the CNN rows: `count` x [batchSize, 1, 28, 28] images in [0, 1] and their labels. */
export interface CnnBatches { batchSize: number; count: number; x: Float32Array; y: Int32Array }

/**
 * Wall time (ms) of every training step of the CNN, CrossEntropyLoss, Adam, through the explicit
 * loop: zeroGrad, forward, loss forward, backward, optimizer step. Step s uses batch s % count.
 * The caller drops the warm-up steps and takes the median.
 */
export function simdnetCnnTrainStepMs(rt: Runtime, api: SimdnetCnnApi, data: CnnBatches, steps: number, lr = 1e-3):
  { stepMs: number[]; losses: number[] } {
  const model = simdnetCnn(rt, api);
  const opt = new Adam(model, { lr });
  const loss = new CrossEntropyLoss();
  const per = data.batchSize * 784;
  const xs = Array.from({ length: data.count }, (_, i) =>
    new Tensor(data.x.subarray(i * per, (i + 1) * per), [data.batchSize, 1, 28, 28]));
  const ys = Array.from({ length: data.count }, (_, i) => data.y.subarray(i * data.batchSize, (i + 1) * data.batchSize));
  const stepMs: number[] = [], losses: number[] = [];
  try {
    model.train();
    for (let s = 0; s < steps; s++) {
      const x = xs[s % data.count], y = ys[s % data.count];
      const t0 = performance.now();
      model.zeroGrad();
      const out = model.forward(x);
      const value = loss.forward(out, y);
      model.backward(loss.backward());
      opt.step();
      stepMs.push(performance.now() - t0);
      losses.push(value);
    }
  } finally {
    opt.dispose();
    model.dispose();
  }
  return { stepMs, losses };
}

/** Milliseconds of model.predict on one batch (eval mode), median after warm-up. */
export function simdnetCnnInferMs(rt: Runtime, api: SimdnetCnnApi, data: CnnBatches, minSeconds = 1): number {
  const model = simdnetCnn(rt, api);
  const x = new Tensor(data.x.subarray(0, data.batchSize * 784), [data.batchSize, 1, 28, 28]);
  try {
    model.eval();
    return 1e3 * medianSecondsPerCall(() => model.predict(x, { batchSize: data.batchSize }), minSeconds, 10, 3);
  } finally {
    model.dispose();
  }
}

/** A stride-1 square convolution at batch `batch`, as the bench's conv2d_* rows describe it. */
export interface ConvSpec { batch: number; inChannels: number; outChannels: number; kernelSize: number; size: number; padding: number }

/** Output side of a stride-1, dilation-1 convolution. */
export function convOutSize(c: ConvSpec): number { return c.size + 2 * c.padding - c.kernelSize + 1; }

/** Multiply-adds x 2 of the convolution (the bias adds are not counted). */
export function convFlops(c: ConvSpec): number {
  const o = convOutSize(c);
  return 2 * c.batch * c.outChannels * o * o * c.inChannels * c.kernelSize * c.kernelSize;
}

/**
 * Forward time (ms) of one Conv2d layer (with bias) alone, called directly on buffers of the wasm
 * heap like the GEMM rows call their kernel: no copies in or out. The layer sits in a one-layer
 * Sequential only so that its parameters are bound to a slab.
 */
export function simdnetConv2dMs(rt: Runtime, api: Pick<SimdnetCnnApi, 'Conv2d'>, c: ConvSpec, minSeconds = 1): number {
  const conv = new api.Conv2d(c.inChannels, c.outChannels, c.kernelSize, { padding: c.padding });
  const inShape = [c.inChannels, c.size, c.size];
  const model = new Sequential([conv], { inputShape: inShape, runtime: rt });
  model.eval();
  const outShape = model.outputShape!;
  const heap = rt.heap;
  const inFloats = c.batch * c.inChannels * c.size * c.size;
  const outFloats = c.batch * outShape.reduce((a, b) => a * b, 1);
  const wsFloats = c.batch * conv.workspace(inShape), scratchFloats = conv.scratch(inShape);
  const x = heap.alloc(inFloats * 4, 'bench conv x'), y = heap.alloc(outFloats * 4, 'bench conv y');
  const ws = wsFloats > 0 ? heap.alloc(wsFloats * 4, 'bench conv workspace') : 0;
  const scratch = scratchFloats > 0 ? heap.alloc(scratchFloats * 4, 'bench conv scratch') : 0;
  new Generator(5).uniform(heap.f32.subarray(x >>> 2, (x >>> 2) + inFloats), 0, 1);
  try {
    const args = { rt, batch: c.batch, x, y, ws, scratch, inShape, outShape, training: false };
    return 1e3 * medianSecondsPerCall(() => conv.forward(args), minSeconds, 10, 3);
  } finally {
    for (const p of [x, y, ws, scratch]) if (p) heap.release(p);
    model.dispose();
  }
}

export { median };
