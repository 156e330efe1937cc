/**
 * TensorFlow.js reference half of the simdnet benchmark.
 *
 * Runs @tensorflow/tfjs 4.x on its WebAssembly backend (@tensorflow/tfjs-backend-wasm, XNNPACK,
 * SIMD binary) in Node, measured the way the project's shared ANCHORS.md says is fair:
 *   - setWasmPaths(<tfjs-backend-wasm dist folder>) + setBackend('wasm'), SIMD checked;
 *   - threads: the wasm backend hard-codes WASM_HAS_MULTITHREAD_SUPPORT=false under Node, so it
 *     runs one thread; we report the count the backend itself says it uses (getThreadsCount());
 *   - tf.matMul timed including dataSync() of the result;
 *   - training with model.fit (batch 32, shuffle each epoch), one fit call per epoch so each epoch
 *     is timed on its own; the data tensors are built once, outside the timing;
 *   - model.predict always gets an explicit { batchSize } (it silently re-batches to 32 otherwise);
 *   - every repetition disposes what it created, so memory does not grow.
 *
 * TF.js is loaded lazily (typed dynamic import) inside initTfjsWasm(), so importing this module
 * costs nothing until the TF.js reference is actually wanted.
 *
 * Run `node dist/bench/tfjs.js` for a self-check on a 6000-image subset of real MNIST
 * (options: --n=6000 --epochs=3 --seconds=1 --test).
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, medianSecondsPerCall } from './timing.js';
import { loadMnist, scalePixels } from '../bindings/index.js';
import { fileURLToPath } from 'node:url';
import type { Sequential, Tensor, Tensor4D, Optimizer } from '@tensorflow/tfjs';

type TF = typeof import('@tensorflow/tfjs');
type TFWasm = typeof import('@tensorflow/tfjs-backend-wasm');

export interface TfjsInfo {
  /** @tensorflow/tfjs version (the wasm backend's version is checked to match). */
  version: string;
  /** Active backend, always 'wasm' once initTfjsWasm() resolved. */
  backend: string;
  /** WASM_HAS_SIMD_SUPPORT: true means the SIMD binary (tfjs-backend-wasm-simd.wasm) is loaded. */
  simd: boolean;
  /** Threads XNNPACK actually uses (1 in Node: multithreading is disabled there by TF.js). */
  threads: number;
}

export interface TfjsMlpOptions {
  optimizer: 'sgd' | 'adam';
  lr: number;
  batchSize: number;
  epochs: number;
  /** Seeds the weight initializers (glorotUniform). model.fit's shuffle uses Math.random and
   *  cannot be seeded, so TF.js runs are not bit-reproducible. */
  seed?: number;
  /**
   * Loss formulation, all mathematically the same objective as PyTorch's LogSoftmax + NLLLoss
   * (mean over the batch):
   *   'logits'      (default) linear output + tf.losses.softmaxCrossEntropy(oneHot, logits): TF.js's
   *                 fused from-logits loss with its own (softmax - y) gradient, the direct
   *                 counterpart of LogSoftmax + NLLLoss, and the least work per step;
   *   'categorical' softmax output + 'categoricalCrossentropy' on one-hot labels (the TF.js
   *                 tutorials' Keras way);
   *   'sparse'      softmax output + 'sparseCategoricalCrossentropy' on integer labels (one-hots
   *                 every batch inside the loss).
   * Measured here: interleaved in one process, 'categorical' was ~3-5% and 'sparse' ~10-13%
   * slower per epoch than 'logits'; across separate runs the three are within run-to-run noise.
   * One-hot labels are built once, outside the timing.
   */
  loss?: 'logits' | 'categorical' | 'sparse';
  /** Optional held-out set, evaluated once after the last epoch (outside the timing). */
  test?: { x: Float32Array; y: Int32Array; n: number };
}

export interface TfjsMlpResult {
  /** Wall time of each model.fit({ epochs: 1 }) call, seconds. The caller takes the median of
   *  the epochs after the first (warm-up) one. */
  epochSeconds: number[];
  /** Mean training loss over the last epoch, as model.fit's History reports it. */
  finalLoss: number;
  /** Accuracy on opts.test, when given. */
  testAccuracy?: number;
}

/** PyTorch-layout Linear parameters: weight [out, in] row-major, bias [out]. */
export interface LinearParams {
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
}

const IN = 784;
const HIDDEN = [64, 32, 32] as const;
const CLASSES = 10;

let tfRef: TF | null = null;
let infoRef: TfjsInfo | null = null;
let initPromise: Promise<TfjsInfo> | null = null;

function tfOrThrow(): TF {
  if (tfRef === null) throw new Error('bench/tfjs: call `await initTfjsWasm()` first');
  return tfRef;
}

/**
 * Loads @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm, points the backend at the .wasm
 * files in the package's dist/ folder, activates it and checks that the SIMD build is in use.
 * Idempotent: later calls return the same info.
 */
export function initTfjsWasm(): Promise<TfjsInfo> {
  if (initPromise === null) {
    initPromise = doInit().catch((e: unknown) => {
      initPromise = null; // allow a retry after a failure
      throw e;
    });
  }
  return initPromise;
}

async function doInit(): Promise<TfjsInfo> {
  const tf: TF = await import('@tensorflow/tfjs');
  const wasm: TFWasm = await import('@tensorflow/tfjs-backend-wasm'); // registers 'wasm'

  // The package's main entry is dist/tf-backend-wasm.node.js; its .wasm files sit next to it.
  // In Node the Emscripten loader reads them with fs.readFileSync, so a plain directory path with
  // a trailing separator works (the backend concatenates prefix + file name).
  const require = createRequire(import.meta.url);
  const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep;
  wasm.setWasmPaths(distDir);

  const ok = await tf.setBackend('wasm');
  if (!ok) {
    throw new Error(`bench/tfjs: tf.setBackend('wasm') failed (wasm files looked up in ${distDir})`);
  }
  await tf.ready();
  const backend = tf.getBackend();
  if (backend !== 'wasm') {
    throw new Error(`bench/tfjs: expected the 'wasm' backend to be active, got '${backend}'`);
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  if (!simd) {
    throw new Error(
      'bench/tfjs: WASM_HAS_SIMD_SUPPORT is false, so TF.js loaded its non-SIMD wasm binary; ' +
        'that would understate TF.js. Use a runtime with WebAssembly SIMD (Node >= 16.4).',
    );
  }
  const threads = wasm.getThreadsCount();
  const version = tf.version.tfjs;
  if (wasm.version_wasm !== version) {
    throw new Error(
      `bench/tfjs: @tensorflow/tfjs ${version} and @tensorflow/tfjs-backend-wasm ${wasm.version_wasm} differ`,
    );
  }
  tfRef = tf;
  infoRef = { version, backend, simd, threads };
  return infoRef;
}

// ---------------------------------------------------------------------------------------------
// GEMM

/**
 * GFLOP/s of tf.matMul([M,K] x [K,N]) on uniform(-1,1) f32 tensors, one call timed from the op to
 * the end of dataSync() on its result (the result must reach JS for the work to count), median
 * over repetitions after a warm-up. FLOPs = 2*M*N*K.
 */
export async function tfjsGemmGflops(M: number, K: number, N: number, minSeconds = 1): Promise<number> {
  const tf = tfOrThrow();
  for (const [name, v] of [['M', M], ['K', K], ['N', N]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`bench/tfjs: ${name} must be a positive integer, got ${v}`);
  }
  const a = tf.randomUniform([M, K], -1, 1, 'float32', 1);
  const b = tf.randomUniform([K, N], -1, 1, 'float32', 2);
  try {
    const sec = medianSecondsPerCall(() => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }, minSeconds);
    return (2 * M * N * K) / sec / 1e9;
  } finally {
    a.dispose();
    b.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// the course MLP: 784 -> 64 -> 32 -> 32 -> 10

/**
 * tf.sequential 784-64-32-32-10, ReLU hidden layers, softmax output (or linear logits when
 * output is 'linear', for training with a from-logits loss). Kernel init is Keras's glorotUniform
 * (seeded when seed is given), biases zero; init does not affect the timings.
 */
export function buildTfjsMlp(seed?: number, output: 'softmax' | 'linear' = 'softmax'): Sequential {
  const tf = tfOrThrow();
  const kernelInit = (i: number) =>
    seed === undefined ? tf.initializers.glorotUniform({}) : tf.initializers.glorotUniform({ seed: seed + i });
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: HIDDEN[0], activation: 'relu', inputShape: [IN], kernelInitializer: kernelInit(0) }));
  model.add(tf.layers.dense({ units: HIDDEN[1], activation: 'relu', kernelInitializer: kernelInit(1) }));
  model.add(tf.layers.dense({ units: HIDDEN[2], activation: 'relu', kernelInitializer: kernelInit(2) }));
  model.add(tf.layers.dense({ units: CLASSES, activation: output, kernelInitializer: kernelInit(3) }));
  return model;
}

function checkData(x: Float32Array, y: Int32Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bench/tfjs: ${what} n must be a positive integer, got ${n}`);
  if (x.length < n * IN) throw new RangeError(`bench/tfjs: ${what} x has ${x.length} floats, need n*784 = ${n * IN}`);
  if (y.length < n) throw new RangeError(`bench/tfjs: ${what} y has ${y.length} labels, need ${n}`);
  for (let i = 0; i < n; i++) {
    const l = y[i]!;
    if (!(l >= 0 && l < CLASSES)) throw new RangeError(`bench/tfjs: ${what} label y[${i}] = ${l} is not in 0..9`);
  }
}

/**
 * Trains the course MLP with model.fit, one call per epoch ({ batchSize, epochs: 1,
 * shuffle: true, verbose: 0 }), and returns the wall time of each call. x: n*784 floats in
 * [0,1]; y: n labels 0..9. The x / y tensors are created once before the first epoch.
 */
export async function tfjsMlpEpochSeconds(
  x: Float32Array,
  y: Int32Array,
  n: number,
  opts: TfjsMlpOptions,
): Promise<TfjsMlpResult> {
  const tf = tfOrThrow();
  checkData(x, y, n, 'train');
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`bench/tfjs: batchSize must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new RangeError(`bench/tfjs: epochs must be a positive integer, got ${opts.epochs}`);
  if (!(opts.lr > 0)) throw new RangeError(`bench/tfjs: lr must be > 0, got ${opts.lr}`);
  if (opts.optimizer !== 'sgd' && opts.optimizer !== 'adam') throw new RangeError(`bench/tfjs: unknown optimizer '${String(opts.optimizer)}'`);
  if (opts.test) checkData(opts.test.x, opts.test.y, opts.test.n, 'test');

  const lossKind = opts.loss ?? 'logits';
  if (lossKind !== 'logits' && lossKind !== 'categorical' && lossKind !== 'sparse') throw new RangeError(`bench/tfjs: unknown loss '${String(lossKind)}'`);

  const model = buildTfjsMlp(opts.seed, lossKind === 'logits' ? 'linear' : 'softmax');
  // Plain SGD (no momentum) / Adam with default betas and epsilon, as in the PyTorch recipe.
  const optimizer: Optimizer = opts.optimizer === 'sgd' ? tf.train.sgd(opts.lr) : tf.train.adam(opts.lr);
  model.compile({
    optimizer,
    loss:
      lossKind === 'logits'
        ? (yTrue: Tensor, logits: Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits) // mean over the batch
        : lossKind === 'categorical'
          ? 'categoricalCrossentropy'
          : 'sparseCategoricalCrossentropy',
  });

  // Built once, outside the timing. Sparse labels are float32 [n, 1], the shape tfjs-layers
  // expects for a sparse loss (the loss floors/casts and one-hots each batch itself); otherwise
  // one-hot float32 [n, 10].
  const xs = tf.tensor2d(x.subarray(0, n * IN), [n, IN], 'float32');
  const ys = tf.tidy(() => {
    const labels = tf.tensor1d(y.subarray(0, n), 'int32');
    return lossKind === 'sparse' ? labels.cast('float32').reshape([n, 1]) : tf.oneHot(labels, CLASSES).cast('float32');
  });
  const epochSeconds: number[] = [];
  let finalLoss = NaN;
  let testAccuracy: number | undefined;
  try {
    for (let e = 0; e < opts.epochs; e++) {
      const t0 = performance.now();
      const h = await model.fit(xs, ys, { batchSize: opts.batchSize, epochs: 1, shuffle: true, verbose: 0 });
      epochSeconds.push((performance.now() - t0) / 1000);
      finalLoss = Number(h.history['loss']?.[0]);
    }
    if (opts.test) testAccuracy = accuracy(tf, model, opts.test.x, opts.test.y, opts.test.n);
  } finally {
    xs.dispose();
    ys.dispose();
    model.dispose();
    optimizer.dispose(); // not owned by the model when passed as an object
  }
  return testAccuracy === undefined ? { epochSeconds, finalLoss } : { epochSeconds, finalLoss, testAccuracy };
}

function accuracy(tf: TF, model: Sequential, x: Float32Array, y: Int32Array, n: number): number {
  const pred = tf.tidy(() => {
    const xt = tf.tensor2d(x.subarray(0, n * IN), [n, IN], 'float32');
    return (model.predict(xt, { batchSize: 1000 }) as Tensor).argMax(-1);
  });
  const p = pred.dataSync();
  pred.dispose();
  let correct = 0;
  for (let i = 0; i < n; i++) if (p[i] === y[i]) correct++;
  return correct / n;
}

/**
 * Loads weights into the TF.js MLP. Accepted forms:
 *   - 4 PyTorch-layout Linear params `{ weight: [out,in] row-major, bias: [out] }` (simdnet's and
 *     PyTorch's layout), transposed here to Keras's [in,out] kernel;
 *   - 8 arrays in Keras order [kernel0 [in,out], bias0, kernel1, bias1, ...].
 */
export function loadTfjsMlpWeights(model: Sequential, weights: unknown): void {
  loadWeights(tfOrThrow(), model, weights);
}

function loadWeights(tf: TF, model: Sequential, weights: unknown): void {
  const dims = [IN, ...HIDDEN, CLASSES];
  const tensors: Tensor[] = [];
  const asF32 = (a: unknown, len: number, what: string): Float32Array => {
    if (a === null || typeof a !== 'object' || typeof (a as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`bench/tfjs: ${what} is not an array`);
    }
    const arr = a as ArrayLike<number>;
    if (arr.length !== len) throw new RangeError(`bench/tfjs: ${what} has ${arr.length} values, expected ${len}`);
    return Float32Array.from(arr);
  };
  try {
    if (Array.isArray(weights) && weights.length === 4 && weights.every((w) => w && typeof w === 'object' && 'weight' in w && 'bias' in w)) {
      (weights as LinearParams[]).forEach((p, i) => {
        const fin = dims[i]!, fout = dims[i + 1]!;
        const w = asF32(p.weight, fout * fin, `weights[${i}].weight`);
        const k = new Float32Array(fin * fout); // transpose [out,in] -> [in,out]
        for (let o = 0; o < fout; o++) for (let j = 0; j < fin; j++) k[j * fout + o] = w[o * fin + j]!;
        tensors.push(tf.tensor2d(k, [fin, fout]), tf.tensor1d(asF32(p.bias, fout, `weights[${i}].bias`)));
      });
    } else if (Array.isArray(weights) && weights.length === 8) {
      for (let i = 0; i < 4; i++) {
        const fin = dims[i]!, fout = dims[i + 1]!;
        tensors.push(
          tf.tensor2d(asF32(weights[2 * i], fin * fout, `weights[${2 * i}]`), [fin, fout]),
          tf.tensor1d(asF32(weights[2 * i + 1], fout, `weights[${2 * i + 1}]`)),
        );
      }
    } else {
      throw new TypeError(
        'bench/tfjs: weights must be 4 { weight: [out,in], bias: [out] } (PyTorch layout) or 8 arrays in Keras order',
      );
    }
    model.setWeights(tensors);
  } finally {
    for (const t of tensors) t.dispose();
  }
}

export interface TfjsInferenceResult {
  /** model.predict([1,784], { batchSize: 1 }) + dataSync(), median microseconds. */
  latencyB1Us: number;
  /** model.predict([1000,784], { batchSize: 1000 }) + dataSync(), images/second (median call). */
  throughputB1000: number;
  /** Same as latencyB1Us through model.apply(x) (eager call of the layers, no predict()
   *  plumbing): TF.js's lowest-overhead way to run the model. */
  latencyB1ApplyUs: number;
  /** Same as throughputB1000 through model.apply(x). predict() always slices its input batch,
   *  and the wasm backend's Slice reads the whole input out of the wasm heap into a fresh JS
   *  ArrayBuffer (3 MB here): under glibc malloc that buffer is often mmap'd/trimmed anew every
   *  call (about 768 page faults per call), which makes predict() 20-35% slower than apply() in
   *  some process states. apply() shows TF.js without that overhead. */
  throughputB1000Apply: number;
}

/**
 * Inference speed of the course MLP (random init unless weights are given, see loadWeights);
 * see TfjsInferenceResult. minSeconds is the timed span of each of the four measurements.
 */
export async function tfjsMlpInference(weights?: unknown, minSeconds = 1): Promise<TfjsInferenceResult> {
  const tf = tfOrThrow();
  const model = buildTfjsMlp(0);
  const x1 = tf.randomUniform([1, IN], 0, 1, 'float32', 3);
  const x1000 = tf.randomUniform([1000, IN], 0, 1, 'float32', 4);
  try {
    if (weights !== undefined) loadWeights(tf, model, weights);
    const predictSync = (x: Tensor, batchSize: number) => {
      const out = tf.tidy(() => model.predict(x, { batchSize }) as Tensor);
      out.dataSync();
      out.dispose();
    };
    const applySync = (x: Tensor) => {
      const out = tf.tidy(() => model.apply(x, { training: false }) as Tensor);
      out.dataSync();
      out.dispose();
    };
    const lat = medianSecondsPerCall(() => predictSync(x1, 1), minSeconds, 50, 50);
    const big = medianSecondsPerCall(() => predictSync(x1000, 1000), minSeconds, 10, 5);
    const latApply = medianSecondsPerCall(() => applySync(x1), minSeconds, 50, 50);
    const bigApply = medianSecondsPerCall(() => applySync(x1000), minSeconds, 10, 5);
    return {
      latencyB1Us: lat * 1e6,
      throughputB1000: 1000 / big,
      latencyB1ApplyUs: latApply * 1e6,
      throughputB1000Apply: 1000 / bigApply,
    };
  } finally {
    x1.dispose();
    x1000.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// the issue-4 CNN, in TF.js's NHWC layout (the only one its wasm backend runs)

/**
 * tf.sequential: conv2d(32, 5, 'same', relu) - maxPooling2d(2) - conv2d(64, 5, 'same', relu) -
 * maxPooling2d(2) - flatten - dense(128, relu) - dense(10) logits, input [28, 28, 1]. 'same' is
 * padding 2 for a 5x5 kernel at stride 1; tfjs-layers runs conv + bias + relu as one fused kernel.
 * The flatten order (HWC) differs from PyTorch's (CHW), which changes no timing.
 */
export function buildTfjsCnn(seed?: number): Sequential {
  const tf = tfOrThrow();
  const init = (i: number) => seed === undefined ? tf.initializers.glorotUniform({}) : tf.initializers.glorotUniform({ seed: seed + i });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 5, padding: 'same', activation: 'relu', inputShape: [28, 28, 1], kernelInitializer: init(0) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(2) }));
  model.add(tf.layers.dense({ units: CLASSES, kernelInitializer: init(3) }));
  return model;
}

/**
 * Forward time (ms) of the CNN on one batch of `batchSize` images (x: batchSize*784 floats in
 * [0,1], one channel, so NCHW and NHWC hold the same floats): through model.predict (explicit
 * batchSize) and through model.apply, each + dataSync() of the logits, median after warm-up.
 */
export async function tfjsCnnInferMs(x: Float32Array, batchSize: number, minSeconds = 1): Promise<{ predictMs: number; applyMs: number }> {
  const tf = tfOrThrow();
  const model = buildTfjsCnn(0);
  const xt = tf.tensor4d(x.subarray(0, batchSize * 784), [batchSize, 28, 28, 1]);
  try {
    const predictMs = 1e3 * medianSecondsPerCall(() => {
      const out = tf.tidy(() => model.predict(xt, { batchSize }) as Tensor);
      out.dataSync();
      out.dispose();
    }, minSeconds, 10, 3);
    const applyMs = 1e3 * medianSecondsPerCall(() => {
      const out = tf.tidy(() => model.apply(xt, { training: false }) as Tensor);
      out.dataSync();
      out.dispose();
    }, minSeconds, 10, 3);
    return { predictMs, applyMs };
  } finally {
    xt.dispose();
    model.dispose();
  }
}

export type TfjsCnnTrainResult =
  | { supported: true; stepMs: number[]; losses: number[] }
  | { supported: false; error: string; kernels: Record<string, boolean> };

/**
 * Training steps of the CNN with Adam(lr) and softmaxCrossEntropy on logits, one batch per step.
 * First one model.fit({ batchSize, epochs: 1 }) on the first batch: on TF.js 4.22's wasm backend
 * it throws, because the backend registers no Conv2DBackpropFilter kernel (the weight gradient of
 * a 2-D convolution; Conv2DBackpropInput and Conv3DBackpropFilterV2 exist) and TF.js never falls
 * back to another backend. That error is returned with the registry's answer for the conv
 * kernels. Should a later version train, each step is then one trainOnBatch call, timed.
 */
export async function tfjsCnnTrainStep(x: Float32Array, y: Int32Array, batchSize: number, count: number,
  steps: number, lr = 1e-3): Promise<TfjsCnnTrainResult> {
  const tf = tfOrThrow();
  const kernels = Object.fromEntries(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']
    .map((k) => [k, tf.getKernel(k, 'wasm') !== undefined]));
  const model = buildTfjsCnn(0);
  const optimizer = tf.train.adam(lr);
  model.compile({ optimizer, loss: (yTrue: Tensor, logits: Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits) });
  const per = batchSize * 784;
  const xs = Array.from({ length: count }, (_, i) => tf.tensor4d(x.subarray(i * per, (i + 1) * per), [batchSize, 28, 28, 1]));
  const ys = Array.from({ length: count }, (_, i) =>
    tf.tidy(() => tf.oneHot(tf.tensor1d(y.subarray(i * batchSize, (i + 1) * batchSize), 'int32'), CLASSES).cast('float32')));
  try {
    try {
      await model.fit(xs[0], ys[0], { batchSize, epochs: 1, shuffle: false, verbose: 0 });
    } catch (e) {
      return { supported: false, error: e instanceof Error ? e.message : String(e), kernels };
    }
    const stepMs: number[] = [], losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      const value = await model.trainOnBatch(xs[s % count], ys[s % count]);
      stepMs.push(performance.now() - t0);
      losses.push(Array.isArray(value) ? value[0]! : value);
    }
    return { supported: true, stepMs, losses };
  } finally {
    for (const t of [...xs, ...ys]) t.dispose();
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * Forward time (ms) of one convolution alone (stride 1, bias) on uniform(0,1) input, in TF's
 * native NHWC layout with an HWIO filter: tf.fused.conv2d with the bias (one XNNPACK call, the
 * same kernel tfjs-layers uses), median per call. The wasm backend computes the result inside the
 * call, synchronously; `readBack` adds the dataSync() copy of the output to JS (the GEMM rows'
 * rule), which for a 6 MB output is a real cost of its own, so both are measured.
 */
export function tfjsConv2dMs(c: { batch: number; inChannels: number; outChannels: number; kernelSize: number; size: number; padding: number },
  minSeconds = 1): { ms: number; msWithReadBack: number } {
  const tf = tfOrThrow();
  const same = 2 * c.padding === c.kernelSize - 1;
  const x = tf.randomUniform([c.batch, c.size, c.size, c.inChannels], 0, 1, 'float32', 5) as Tensor4D;
  const bound = 1 / Math.sqrt(c.inChannels * c.kernelSize * c.kernelSize);
  const filter = tf.randomUniform([c.kernelSize, c.kernelSize, c.inChannels, c.outChannels], -bound, bound, 'float32', 6) as Tensor4D;
  const bias = tf.randomUniform([c.outChannels], -bound, bound, 'float32', 7);
  const pad = same ? 'same' : [[0, 0], [c.padding, c.padding], [c.padding, c.padding], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
  const run = (readBack: boolean) => () => {
    const out = tf.fused.conv2d({ x, filter, bias, strides: 1, pad });
    if (readBack) out.dataSync();
    out.dispose();
  };
  try {
    return {
      ms: 1e3 * medianSecondsPerCall(run(false), minSeconds, 10, 3),
      msWithReadBack: 1e3 * medianSecondsPerCall(run(true), minSeconds, 10, 3),
    };
  } finally {
    x.dispose();
    filter.dispose();
    bias.dispose();
  }
}

/** Disposes every TF.js variable still alive (models built here dispose themselves). */
export function disposeTfjs(): void {
  if (tfRef !== null) tfRef.disposeVariables();
}

/** Live tensor count, for leak checks. */
export function tfjsNumTensors(): number {
  return tfOrThrow().memory().numTensors;
}

// ---------------------------------------------------------------------------------------------
// CLI self-check: node dist/bench/tfjs.js [--n=6000] [--epochs=3] [--seconds=1] [--test]

/** The first n images of a real MNIST split, scaled to [0, 1], through simdnet's own IDX reader. */
async function loadMnistSubset(n: number, split: 'train' | 'test' = 'train'): Promise<{ x: Float32Array; y: Int32Array }> {
  const mnist = (await loadMnist())[split];
  if (n > mnist.count) throw new Error(`MNIST ${split}: ${mnist.count} images, asked for ${n}`);
  return { x: scalePixels(mnist.images.subarray(0, n * IN)), y: Int32Array.from(mnist.labels.subarray(0, n)) };
}

async function main(): Promise<void> {
  const arg = (name: string, def: number) => {
    const a = process.argv.find((s) => s.startsWith(`--${name}=`));
    return a === undefined ? def : Number(a.slice(name.length + 3));
  };
  const n = arg('n', 6000), epochs = arg('epochs', 3), seconds = arg('seconds', 1);
  const withTest = process.argv.includes('--test');

  const info = await initTfjsWasm();
  console.log(`TF.js ${info.version}, backend ${info.backend}, simd ${info.simd}, threads ${info.threads}, node ${process.version}`);
  const tensors0 = tfjsNumTensors();

  const out: Record<string, number | number[]> = {};
  for (const [M, K, N] of [[32, 784, 64], [256, 256, 256], [1024, 1024, 1024]] as const) {
    const g = await tfjsGemmGflops(M, K, N, seconds);
    out[`gemm_${M}x${K}x${N}_gflops`] = g;
    console.log(`matMul ${M}x${K}x${N} (incl. dataSync): ${g.toFixed(2)} GFLOP/s`);
  }

  const { x, y } = await loadMnistSubset(n);
  const test = withTest ? { ...(await loadMnistSubset(10000, 'test')), n: 10000 } : undefined;
  const runs = [
    ['sgd', 0.01, 'logits'],
    ['adam', 1e-3, 'logits'],
    ['sgd', 0.01, 'categorical'],
    ['sgd', 0.01, 'sparse'],
  ] as const;
  for (const [optimizer, lr, loss] of runs) {
    const r = await tfjsMlpEpochSeconds(x, y, n, { optimizer, lr, batchSize: 32, epochs, seed: 1, loss, ...(test ? { test } : {}) });
    const med = median(r.epochSeconds.length > 1 ? r.epochSeconds.slice(1) : r.epochSeconds);
    const per60k = (med * 60000) / n;
    const key = `mlp_${optimizer}_${loss}`;
    out[`${key}_epoch_s_60k`] = per60k;
    out[`${key}_epochs_s`] = r.epochSeconds;
    out[`${key}_final_loss`] = r.finalLoss;
    if (r.testAccuracy !== undefined) out[`${key}_test_acc`] = r.testAccuracy;
    console.log(
      `MLP fit ${optimizer} lr ${lr} b32 loss=${loss}, ${n} images: epochs [${r.epochSeconds.map((s) => s.toFixed(3)).join(', ')}] s, ` +
        `median after warm-up ${med.toFixed(3)} s -> ${per60k.toFixed(2)} s per 60k epoch; final loss ${r.finalLoss.toFixed(4)}` +
        (r.testAccuracy !== undefined ? `; test acc ${(100 * r.testAccuracy).toFixed(2)}%` : ''),
    );
  }

  const inf = await tfjsMlpInference(undefined, seconds);
  out['latency_b1_us'] = inf.latencyB1Us;
  out['throughput_b1000_img_s'] = inf.throughputB1000;
  console.log(`MLP predict batch 1 (incl. dataSync): ${inf.latencyB1Us.toFixed(1)} us`);
  console.log(`MLP predict batch 1000 ({ batchSize: 1000 }, incl. dataSync): ${Math.round(inf.throughputB1000)} img/s`);
  out['latency_b1_apply_us'] = inf.latencyB1ApplyUs;
  out['throughput_b1000_apply_img_s'] = inf.throughputB1000Apply;
  console.log(
    `MLP apply (no predict plumbing): batch 1 ${inf.latencyB1ApplyUs.toFixed(1)} us, batch 1000 ${Math.round(inf.throughputB1000Apply)} img/s`,
  );

  const leaked = tfjsNumTensors() - tensors0;
  console.log(`live tensors: ${tensors0} before, ${tfjsNumTensors()} after (${leaked} leaked)`);
  disposeTfjs();
  console.log(JSON.stringify({ tfjs: info, ...out }));
  if (leaked !== 0) process.exitCode = 1;
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
