// The conformance suite: one plain-JS ES module that every runtime runs against the installed
// package (Node, Bun, Deno, Chromium page and Web Worker, workerd). It takes the package's module
// namespace (import * as simdnet from 'simdnet') and returns a JSON-able record of exact bits:
// FNV-1a 64-bit digests over the IEEE-754 bits of every float32 (state dicts, outputs,
// predictions) and every loss as the hex of its float64 bits. The synthetic data comes from
// seeded Generators and integer / basic arithmetic only (no Math.exp or Math.cos, whose last bit
// is not specified), so the inputs are identical everywhere and any difference is the library's.
//
// No runtime-specific API is used here except, in `describeRuntime`, to name where it runs.

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64-bit over the little-endian bytes of the float32 bits of `values` (a Float32Array, read as bytes, never converted). */
export function digest(values) {
  if (!(values instanceof Float32Array)) throw new TypeError(`digest: expected a Float32Array, got ${Object.prototype.toString.call(values)}`);
  return fnv1a(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** FNV-1a 64-bit of bytes, as 16 hex digits. */
export function fnv1a(bytes) {
  // two 32-bit halves would be faster; BigInt keeps it obviously right, and the arrays are small
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h ^= BigInt(bytes[i]);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}

/** The synthetic inputs' digests: if these differ, the Generator (not a kernel) differs. */
function dataDigest({ x, y }) {
  return { x: digest(x), y: fnv1a(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)) };
}

/** A float64's bits in hex (what a loss value is, exactly). */
export function f64hex(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/** Digests of every tensor of a state dict, by name, each prefixed with its shape. */
function stateDigest(model) {
  const out = {};
  for (const [name, t] of Object.entries(model.stateDict())) out[name] = `${t.shape.join('x')}:${digest(t.data)}`;
  return out;
}

/** A history's curves as float64 bits (seconds left out: they are wall-clock). */
function historyBits(history) {
  const h = history.history;
  return {
    loss: h.loss.map(f64hex), accuracy: h.accuracy.map(f64hex),
    val_loss: h.val_loss.map(f64hex), val_accuracy: h.val_accuracy.map(f64hex),
  };
}

/** Where the suite runs, in words: { name, version, detail }. */
export function describeRuntime() {
  const g = globalThis;
  if (g.Deno?.version) return { name: 'deno', version: g.Deno.version.deno, detail: `v8 ${g.Deno.version.v8}` };
  if (g.Bun?.version) return { name: 'bun', version: g.Bun.version, detail: `JavaScriptCore (WebKit ${String(g.process?.versions?.webkit ?? '?').slice(0, 12)})` };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return { name: 'workerd', version: '', detail: 'Cloudflare-Workers' };
  if (g.process?.versions?.node && !g.window) return { name: 'node', version: g.process.versions.node, detail: `v8 ${g.process.versions.v8}` };
  const ua = g.navigator?.userAgent ?? 'unknown';
  const chrome = /Chrom(?:e|ium)\/([\d.]+)/.exec(ua);
  const where = typeof g.document !== 'undefined' ? 'page' : (typeof g.WorkerGlobalScope !== 'undefined' ? 'worker' : 'unknown');
  return { name: chrome ? `chromium-${where}` : `browser-${where}`, version: chrome ? chrome[1] : '', detail: ua };
}

/**
 * Which package entry `simdnet` is, from the wasm source its init hands to initWith (the names
 * survive esbuild's non-minified bundles, perhaps with a numeric suffix): 'node' (index.js, reads
 * dist/build), 'embedded' (Deno and CommonJS), 'browser' (wasm inlined), 'workerd' (wasm modules).
 */
export function entryOf(simdnet) {
  const source = /initWith\(\s*([A-Za-z]+?)\d*\s*,/.exec(String(simdnet.init))?.[1];
  return { nodeSource: 'node', embeddedSource: 'embedded', inlineSource: 'browser', moduleSource: 'workerd' }[source] ?? `unknown (${source})`;
}

/**
 * Samples with labels a fixed linear rule decides: x uniform in [-1, 1)^features (float32),
 * label = argmax of x . W[c] with W uniform, all in float64 sums of float32 products (exact
 * IEEE arithmetic, the same on every engine).
 */
function linearlySeparable(gen, n, features, classes) {
  const x = gen.uniform(new Float32Array(n * features), -1, 1);
  const w = gen.uniform(new Float32Array(classes * features), -1, 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity, arg = 0;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let j = 0; j < features; j++) s += x[i * features + j] * w[c * features + j];
      if (s > best) { best = s; arg = c; }
    }
    y[i] = arg;
  }
  return { x, y };
}

/** (a) The MLP: Linear 20->16, ReLU, Dropout, Linear 16->5; explicit SGD-momentum loop, then fit, then predict. */
async function mlp(s) {
  const { Generator, Sequential, Linear, ReLU, Dropout, CrossEntropyLoss, SGD, Tensor } = s;
  const N = 96, F = 20, C = 5, B = 16;
  const data = linearlySeparable(new Generator(11), N, F, C);
  const init = new Generator(12), drop = new Generator(13);
  const model = new Sequential([
    new Linear(F, 16, { generator: init }), new ReLU(), new Dropout(0.2, { generator: drop }), new Linear(16, C, { generator: init }),
  ]);
  const initial = stateDigest(model);
  const lossFn = new CrossEntropyLoss();
  const optimizer = new SGD(model, { lr: 0.1, momentum: 0.9 });
  model.train();
  const explicitLosses = [];
  const outputs = [];
  const steps = 8;
  for (let step = 0; step < steps; step++) {
    const begin = (step * B) % N;
    const xb = new Tensor(data.x.subarray(begin * F, (begin + B) * F), [B, F]);
    const out = model.forward(xb);
    outputs.push(digest(out.data));
    const value = lossFn.forward(out, data.y.subarray(begin, begin + B));
    explicitLosses.push(value);
    model.zeroGrad();
    model.backward(lossFn.backward());
    optimizer.step();
  }
  const afterExplicit = stateDigest(model);

  model.compile({ loss: new CrossEntropyLoss(), optimizer });
  const history = await model.fit(data.x, data.y, { epochs: 3, batchSize: B, validationSplit: 0.25, shuffle: true, seed: 21 });
  const afterFit = stateDigest(model);
  const predictions = model.predict(new Tensor(data.x, [N, F]));
  const evaluation = model.evaluate(data.x, data.y);
  model.dispose();
  return {
    data: dataDigest(data), initial, explicit: { losses: explicitLosses.map(f64hex), outputs, state: afterExplicit },
    fit: { history: historyBits(history), state: afterFit },
    predict: { shape: predictions.shape, digest: digest(predictions.data) },
    evaluate: { loss: f64hex(evaluation.loss), accuracy: f64hex(evaluation.accuracy) },
    // the decoded values, for the non-triviality checks and for people reading a log
    values: {
      explicitLosses, fitLoss: history.history.loss, valLoss: history.history.val_loss,
      evaluate: evaluation,
    },
  };
}

/**
 * Images of 2 channels, 12x12, uniform noise, labelled by which quadrant of channel 0 has the
 * largest sum (4 classes; float64 sums of float32 values).
 */
function quadrantImages(gen, n) {
  const C = 2, H = 12, W = 12;
  const x = gen.uniform(new Float32Array(n * C * H * W), 0, 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const sums = [0, 0, 0, 0];
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) sums[(r >= H / 2 ? 2 : 0) + (c >= W / 2 ? 1 : 0)] += x[i * C * H * W + r * W + c];
    // make the winning quadrant plainer: brighten it in channel 0, so a few epochs learn it
    const q = sums.indexOf(Math.max(...sums));
    for (let r = 0; r < H / 2; r++) for (let c = 0; c < W / 2; c++) {
      const at = i * C * H * W + (r + (q >= 2 ? H / 2 : 0)) * W + c + (q % 2 ? W / 2 : 0);
      x[at] = Math.fround(x[at] + 0.125);
    }
    y[i] = q;
  }
  return { x, y, shape: [C, H, W] };
}

/**
 * (b) The CNN: Conv2d(2, 8, 3, p1), BatchNorm2d, ReLU, Conv2d(8, 8, 5, p2) (5x5 stride 1 with 8
 * input and 8 output channels: Winograd forward and Winograd input gradient), ReLU, MaxPool2d(2),
 * Flatten, Linear(288, 4); Adam through fit, then predict and evaluate.
 */
async function cnn(s) {
  const { Generator, Sequential, Linear, ReLU, Conv2d, BatchNorm2d, MaxPool2d, Flatten, CrossEntropyLoss, Adam, Tensor, loadCheckpoint } = s;
  const N = 48;
  const data = quadrantImages(new Generator(31), N);
  const init = new Generator(32);
  const model = new Sequential([
    new Conv2d(2, 8, 3, { padding: 1, generator: init }), new BatchNorm2d(8), new ReLU(),
    new Conv2d(8, 8, 5, { padding: 2, generator: init }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(8 * 6 * 6, 4, { generator: init }),
  ], { inputShape: data.shape });
  const initial = stateDigest(model);
  model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model, { lr: 0.003 }) });
  const history = await model.fit(data.x, data.y, { epochs: 3, batchSize: 8, validationSplit: 0.25, seed: 41 });
  const afterFit = stateDigest(model);
  const predictions = model.predict(new Tensor(data.x, [N, ...data.shape]), { batchSize: 16 });
  const evaluation = model.evaluate(data.x, data.y, { batchSize: 20 });
  // save and load (issue 9): the file's bytes, the loaded model's predictions, and a checkpoint
  // resumed for one more epoch, on every runtime
  const optimizer = new Adam(model, { lr: 0.003 });   // a fresh one: the compiled one stays as it was
  const file = model.save({ optimizer, epoch: 3 });
  const loaded = Sequential.load(file);
  const loadedPredictions = loaded.predict(new Tensor(data.x, [N, ...data.shape]), { batchSize: 16 });
  const loadedSame = digest(loadedPredictions.data) === digest(predictions.data) && JSON.stringify(stateDigest(loaded)) === JSON.stringify(afterFit);
  const ck = loadCheckpoint(file);
  ck.model.compile({ loss: new CrossEntropyLoss(), optimizer: ck.optimizer });
  await ck.model.fit(data.x, data.y, { epochs: 4, initialEpoch: ck.epoch, batchSize: 8, seed: 41 });
  const resumed = stateDigest(ck.model);
  for (const m of [model, loaded, ck.model]) m.dispose();
  return {
    data: dataDigest(data), initial, fit: { history: historyBits(history), state: afterFit },
    predict: { shape: predictions.shape, digest: digest(predictions.data) },
    save: { file: fnv1a(file), bytes: file.length, loadedSame, resumed },
    evaluate: { loss: f64hex(evaluation.loss), accuracy: f64hex(evaluation.accuracy) },
    values: { fitLoss: history.history.loss, valLoss: history.history.val_loss, evaluate: evaluation },
  };
}

/**
 * (c) Wide enough to split across threads (init({ threads }) splits GEMMs of 2 MFLOP and more):
 * Linear(64, 320), ReLU, Linear(320, 48); one epoch of Adam in batches of 120, then a predict of
 * 480 rows. Its bits must not depend on the thread count.
 */
async function wide(s) {
  const { Generator, Sequential, Linear, ReLU, CrossEntropyLoss, Adam, Tensor } = s;
  const data = linearlySeparable(new Generator(51), 480, 64, 48);
  const init = new Generator(52);
  const model = new Sequential([new Linear(64, 320, { generator: init }), new ReLU(), new Linear(320, 48, { generator: init })]);
  model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model, { lr: 0.003 }) });
  const history = await model.fit(new Tensor(data.x.subarray(0, 240 * 64), [240, 64]), data.y.subarray(0, 240), { epochs: 1, batchSize: 120, seed: 53 });
  const predictions = model.predict(new Tensor(data.x, [480, 64]));
  const result = { fit: { history: historyBits(history), state: stateDigest(model) }, predict: digest(predictions.data) };
  model.dispose();
  return result;
}

/**
 * Runs the suite with the package `simdnet` (its module namespace) on `tier` and `threads`.
 * Returns { runtime, tier, threads, threadsNote, features, mlp, cnn, wide, digest, ms } or, when
 * init refuses, { runtime, tier, features, error }.
 */
export async function run(simdnet, { tier = 'simd', threads = 1 } = {}) {
  const runtime = { ...describeRuntime(), entry: entryOf(simdnet) };
  const started = Date.now();
  let rt;
  try {
    rt = await simdnet.init({ tier, threads });
  } catch (e) {
    return { runtime, tier, features: { ...simdnet.detectFeatures() }, error: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}` };
  }
  try {
    simdnet.manualSeed(0);
    const result = {
      runtime, tier: rt.tier, threads: rt.threads, threadsNote: rt.threadsNote, features: { ...rt.features },
      mlp: await mlp(simdnet), cnn: await cnn(simdnet), wide: await wide(simdnet),
    };
    // one digest of everything that must be bit-identical (the decoded values and the wall clock
    // out; the thread count too: every count must give one thread's bits)
    const bits = JSON.stringify({ tier: result.tier, mlp: { ...result.mlp, values: undefined }, cnn: { ...result.cnn, values: undefined }, wide: result.wide });
    result.digest = fnv1a(new TextEncoder().encode(bits));
    result.ms = Date.now() - started;
    return result;
  } finally {
    rt.stopThreads();
  }
}
