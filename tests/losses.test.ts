// Dense-target losses (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss) and CrossEntropyLoss's label
// smoothing: finite-difference gradient checks against float64 reimplementations of PyTorch's
// formulas (the float64 forward is checked against the kernels' forward too), typed errors, and
// end-to-end fits through Sequential (a regression and binary classifiers).
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { expectClose, numericGrad } from './helpers/gradcheck.js';
import * as simdnet from '../bindings/index.js';
import {
  init, Generator, Tensor, Linear, Sequential, SGD, Layer,
  MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, type Loss,
  ShapeError, InputError, ConfigError, SimdnetError, type Runtime,
} from '../bindings/index.js';
import { randn, sameBits, weightBits } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

type Reduction = 'mean' | 'sum';

/**
 * Checks a dense loss for both reductions: value against loss64 (the unreduced sum over elements,
 * in float64) times the reduction's scale, and backward() against central differences of it.
 */
function checkDenseLoss(make: (reduction: Reduction) => Loss, loss64: (out: Float64Array, target: Float64Array) => number,
  rows: number, cols: number, makeOut: (g: Generator, n: number) => Float64Array, makeTarget: (g: Generator, n: number, out: Float64Array) => Float64Array): void {
  const gen = new Generator(13);
  for (const reduction of ['mean', 'sum'] as const) {
    const n = rows * cols;
    const out = Float32Array.from(makeOut(gen, n));
    const out64 = Float64Array.from(out);
    const target = Float32Array.from(makeTarget(gen, n, out64));
    const target64 = Float64Array.from(target);
    const lossFn = make(reduction);
    const value = lossFn.forward(new Tensor(out, [rows, cols]), target);
    const scale = reduction === 'mean' ? 1 / n : 1; // PyTorch averages over every element
    const f = () => loss64(out64, target64) * scale;
    const want = f();
    expect(Math.abs(value - want), `${lossFn} value ${value} vs ${want}`).toBeLessThan(2e-6 * Math.max(1, Math.abs(want)));
    const grad = lossFn.backward();
    expect(grad.shape).toEqual([rows, cols]);
    expectClose(grad.data, numericGrad(f, out64), `${lossFn} gradient (${rows}x${cols})`, 1e-3, 1e-6);
  }
}

const uniform = (lo: number, hi: number) => (g: Generator, n: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * g.random());
/** Targets in [0, 1]: a quarter exactly 0, a quarter exactly 1, the rest soft. */
const unitTargets = (g: Generator, n: number) => Float64Array.from({ length: n }, () => {
  const k = g.randint(4);
  return k === 0 ? 0 : k === 1 ? 1 : g.random();
});
const SHAPES: [number, number][] = [[1, 1], [7, 1], [5, 3], [3, 17]];

function bceWithLogits64(x: Float64Array, t: Float64Array, cols: number, pw: Float64Array | null): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const w = pw ? pw[i % cols] : 1;
    const sp = Math.log1p(Math.exp(-Math.abs(x[i]))) + Math.max(-x[i], 0); // -log(sigmoid(x))
    s += (1 - t[i]) * x[i] + (1 + (w - 1) * t[i]) * sp;
  }
  return s;
}

function logSoftmaxRow(x: Float64Array, r: number, cols: number): Float64Array {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - m);
  const lse = m + Math.log(s);
  return Float64Array.from({ length: cols }, (_, c) => x[r * cols + c] - lse);
}

describe('dense loss gradients (float64 reference, central differences)', () => {
  it('MSELoss: sum (o - t)^2, mean over all elements or sum', () => {
    for (const [rows, cols] of SHAPES) {
      checkDenseLoss((reduction) => new MSELoss({ reduction }), (o, t) => o.reduce((s, v, i) => s + (v - t[i]) ** 2, 0),
        rows, cols, uniform(-3, 3), uniform(-3, 3));
    }
  });

  it('L1Loss: sum |o - t| (targets kept 0.05 away from the outputs, off the kink)', () => {
    for (const [rows, cols] of SHAPES) {
      checkDenseLoss((reduction) => new L1Loss({ reduction }), (o, t) => o.reduce((s, v, i) => s + Math.abs(v - t[i]), 0),
        rows, cols, uniform(-3, 3), (g, n, out) => Float64Array.from({ length: n }, (_, i) => {
          const d = (g.random() * 2 - 1) * 2;
          return out[i] + (d >= 0 ? d + 0.05 : d - 0.05);
        }));
    }
  });

  it('BCELoss on probabilities in [0.02, 0.98], targets 0, 1 and soft', () => {
    for (const [rows, cols] of SHAPES) {
      checkDenseLoss((reduction) => new BCELoss({ reduction }),
        (o, t) => o.reduce((s, v, i) => s - (t[i] * Math.log(v) + (1 - t[i]) * Math.log(1 - v)), 0),
        rows, cols, uniform(0.02, 0.98), unitTargets);
    }
  });

  it('BCEWithLogitsLoss without posWeight', () => {
    for (const [rows, cols] of SHAPES) {
      checkDenseLoss((reduction) => new BCEWithLogitsLoss({ reduction }), (x, t) => bceWithLogits64(x, t, cols, null),
        rows, cols, uniform(-6, 6), unitTargets);
    }
  });

  it('BCEWithLogitsLoss with a per-column posWeight', () => {
    for (const [rows, cols] of SHAPES) {
      const pw = Float64Array.from({ length: cols }, (_, c) => [2.5, 0.5, 1, 0][c % 4]);
      checkDenseLoss((reduction) => new BCEWithLogitsLoss({ reduction, posWeight: pw }), (x, t) => bceWithLogits64(x, t, cols, pw),
        rows, cols, uniform(-6, 6), unitTargets);
    }
  });

  it('CrossEntropyLoss with labelSmoothing 0.1, mean and sum', () => {
    const rows = 6, cols = 10, eps = 0.1;
    const gen = new Generator(17);
    for (const reduction of ['mean', 'sum'] as const) {
      const out = Float32Array.from(randn(gen, rows * cols, 3));
      const labels = Int32Array.from({ length: rows }, () => gen.randint(cols));
      const lossFn = new CrossEntropyLoss({ reduction, labelSmoothing: eps });
      const value = lossFn.forward(new Tensor(out, [rows, cols]), labels);
      const out64 = Float64Array.from(out);
      const scale = reduction === 'mean' ? 1 / rows : 1;
      const f = () => {
        let s = 0;
        for (let r = 0; r < rows; r++) {
          const logp = logSoftmaxRow(out64, r, cols);
          s += (1 - eps) * -logp[labels[r]] + eps / cols * logp.reduce((a, v) => a - v, 0);
        }
        return s * scale;
      };
      expect(Math.abs(value - f())).toBeLessThan(1e-5 * Math.max(1, Math.abs(f())));
      expectClose(lossFn.backward().data, numericGrad(f, out64), `${lossFn} gradient`, 1e-3, 1e-6);
      // the smoothing changes the value: it is not plain cross-entropy
      const plain = new CrossEntropyLoss({ reduction }).forward(new Tensor(out, [rows, cols]), labels);
      expect(Math.abs(plain - value)).toBeGreaterThan(1e-3);
    }
  });

  it('CrossEntropyLoss labelSmoothing 0 is plain cross-entropy, bit for bit', () => {
    const gen = new Generator(19);
    const out = new Tensor(Float32Array.from(randn(gen, 40, 4)), [4, 10]);
    const labels = [1, 9, 0, 4];
    const a = new CrossEntropyLoss(), b = new CrossEntropyLoss({ labelSmoothing: 0 });
    expect(a.forward(out, labels)).toBe(b.forward(out, labels));
    expect(Array.from(a.backward().data)).toEqual(Array.from(b.backward().data));
  });
});

describe('dense losses: PyTorch details', () => {
  it('BCELoss clamps log at -100: outputs exactly 0 and 1 give finite values and gradients', () => {
    const loss = new BCELoss({ reduction: 'sum' });
    const v = loss.forward(new Tensor(new Float32Array([0, 1, 0, 1]), [4, 1]), [0, 0, 1, 1]);
    expect(v).toBe(200);
    expect(Array.from(loss.backward().data).every(Number.isFinite)).toBe(true);
  });

  it('BCEWithLogitsLoss stays finite at logits +-100', () => {
    const loss = new BCEWithLogitsLoss({ reduction: 'sum', posWeight: [3] });
    const v = loss.forward(new Tensor(new Float32Array([100, -100, 100, -100]), [4, 1]), [0, 1, 1, 0]);
    expect(v).toBeCloseTo(100 + 3 * 100, 4);
    expect(Array.from(loss.backward().data)).toEqual([1, -3, 0, expect.any(Number)]);
  });

  it('accuracy rules: threshold 0.5 (BCE), 0 (BCE with logits) for one output; none for MSE, L1 or several outputs', () => {
    expect(new BCELoss().accuracyRule(1)).toEqual({ kind: 'threshold', at: 0.5 });
    expect(new BCEWithLogitsLoss().accuracyRule(1)).toEqual({ kind: 'threshold', at: 0 });
    expect(new BCELoss().accuracyRule(3)).toBeNull();
    expect(new BCEWithLogitsLoss().accuracyRule(2)).toBeNull();
    expect(new MSELoss().accuracyRule(1)).toBeNull();
    expect(new L1Loss().accuracyRule(1)).toBeNull();
    for (const l of [new MSELoss(), new L1Loss(), new BCELoss(), new BCEWithLogitsLoss()]) expect(l.targetKind).toBe('dense');
  });

  it('toString follows PyTorch names and arguments', () => {
    expect(String(new MSELoss())).toBe("MSELoss(reduction='mean')");
    expect(String(new L1Loss({ reduction: 'sum' }))).toBe("L1Loss(reduction='sum')");
    expect(String(new BCELoss())).toBe("BCELoss(reduction='mean')");
    expect(String(new BCEWithLogitsLoss({ posWeight: [2, 0.5] }))).toBe("BCEWithLogitsLoss(reduction='mean', pos_weight=[2, 0.5])");
    expect(String(new CrossEntropyLoss({ labelSmoothing: 0.1 }))).toBe("CrossEntropyLoss(reduction='mean', label_smoothing=0.1)");
    expect(String(new CrossEntropyLoss())).toBe("CrossEntropyLoss(reduction='mean')");
  });

  it('a loss owns no wasm memory: forward returns every block it takes, and the memory stops growing after the first call', () => {
    const bytes = rt.heap.allocatedBytes;
    const loss = new BCEWithLogitsLoss({ posWeight: [1, 2, 3] });
    const out = new Tensor(Float32Array.from(randn(new Generator(3), 12, 2)), [4, 3]);
    const target = new Float32Array(12).fill(1);
    const first = loss.forward(out, target);
    expect(rt.heap.allocatedBytes).toBe(bytes);
    const grows = rt.heap.growCount;
    const alloc = vi.spyOn(rt.heap, 'alloc'), release = vi.spyOn(rt.heap, 'release');
    try {
      for (let i = 0; i < 20; i++) expect(loss.forward(out, target)).toBe(first);
      expect(release.mock.calls.length).toBe(alloc.mock.calls.length);
    } finally {
      alloc.mockRestore();
      release.mockRestore();
    }
    expect(rt.heap.allocatedBytes).toBe(bytes);
    expect(rt.heap.growCount).toBe(grows);
  });
});

/** Runs `action`, expecting an error of `type` whose message matches. */
function expectError(action: () => unknown, type: typeof SimdnetError, message: RegExp): void {
  let error: unknown = null;
  try { action(); } catch (e) { error = e; }
  expect(error, 'an error was thrown').toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
}

async function expectRejected(model: Sequential, action: () => Promise<unknown>, type: typeof SimdnetError, message: RegExp): Promise<void> {
  const before = weightBits(model);
  let error: unknown = null;
  try { await action(); } catch (e) { error = e; }
  expect(error, 'an error was thrown').toBeInstanceOf(type);
  expect((error as Error).message).toMatch(message);
  expect(sameBits(before, weightBits(model)), 'weights are bit-identical').toBe(true);
}

describe('typed errors', () => {
  const out = new Tensor(new Float32Array([0.2, 0.4, 0.6, 0.8, 0.1, 0.9]), [3, 2]);

  it('BCE targets outside [0, 1] or NaN: InputError naming index and value', () => {
    expectError(() => new BCELoss().forward(out, [0, 1, 0, 1.5, 0, 1]), InputError, /target 3 is 1\.5.*\[0, 1\]/);
    expectError(() => new BCEWithLogitsLoss().forward(out, [0, 1, -0.5, 1, 0, 1]), InputError, /target 2 is -0\.5/);
    expectError(() => new BCELoss().forward(out, [0, 1, 0, 1, NaN, 1]), InputError, /target 4 is NaN/);
  });

  it('NaN or Infinity targets: InputError for every dense loss', () => {
    for (const loss of [new MSELoss(), new L1Loss(), new BCEWithLogitsLoss()]) {
      expectError(() => loss.forward(out, [0, 1, NaN, 1, 0, 1]), InputError, /target 2 is NaN: targets must be finite/);
    }
    expectError(() => new MSELoss().forward(out, [0, 1, 0, Infinity, 0, 1]), InputError, /target 3 is Infinity/);
  });

  it('BCELoss outputs outside [0, 1]: InputError, as PyTorch', () => {
    expectError(() => new BCELoss().forward(new Tensor(new Float32Array([0.5, 1.25]), [2, 1]), [0, 1]), InputError, /output 1 is 1\.25/);
  });

  it('target count or shape mismatch: ShapeError', () => {
    expectError(() => new MSELoss().forward(out, [0, 1, 0, 1, 0]), ShapeError, /expects 6 target values \(3 samples x 2 outputs\), got 5/);
    expectError(() => new L1Loss().forward(out, new Tensor(new Float32Array(6), [2, 3])), ShapeError, /targets of shape \[3, 2\], got \[2, 3\]/);
    expectError(() => new BCELoss().forward(out, new Float32Array(3)), ShapeError, /got 3/);
  });

  it('posWeight: wrong length is a ShapeError at first use; negative or non-finite values a ConfigError', () => {
    expectError(() => new BCEWithLogitsLoss({ posWeight: [1, 2, 3] }).forward(out, new Float32Array(6)), ShapeError, /posWeight has 3 values, the output has 2 columns/);
    expectError(() => new BCEWithLogitsLoss({ posWeight: [1, -2] }), ConfigError, /posWeight\[1\] is -2/);
    expectError(() => new BCEWithLogitsLoss({ posWeight: [NaN] }), ConfigError, /posWeight\[0\] is NaN/);
    expectError(() => new BCEWithLogitsLoss({ posWeight: [1, Infinity] }), ConfigError, /posWeight\[1\] is Infinity/);
    expectError(() => new BCEWithLogitsLoss({ posWeight: [] }), ConfigError, /non-empty/);
  });

  it('labelSmoothing outside [0, 1]: ConfigError', () => {
    expectError(() => new CrossEntropyLoss({ labelSmoothing: -0.1 }), ConfigError, /labelSmoothing must be in \[0, 1\], got -0\.1/);
    expectError(() => new CrossEntropyLoss({ labelSmoothing: 1.1 }), ConfigError, /got 1\.1/);
    expectError(() => new CrossEntropyLoss({ labelSmoothing: NaN }), ConfigError, /got NaN/);
    expect(new CrossEntropyLoss({ labelSmoothing: 1 }).labelSmoothing).toBe(1);
  });

  it('reduction other than mean or sum: ConfigError', () => {
    expectError(() => new MSELoss({ reduction: 'none' as Reduction }), ConfigError, /reduction must be 'mean' or 'sum'/);
  });

  it('fit refuses bad dense targets before any step: weights stay bit-identical', async () => {
    const gen = new Generator(2);
    const model = new Sequential([new Linear(3, 1, { generator: gen })]);
    model.compile({ loss: new BCEWithLogitsLoss({ posWeight: [2] }), optimizer: new SGD(model, { lr: 0.1 }) });
    const x = Float32Array.from(randn(gen, 30, 1));
    const y = Float32Array.from({ length: 10 }, (_, i) => i % 2);
    await model.fit(new Tensor(x, [10, 3]), y, { epochs: 1, batchSize: 4 });
    const bad = y.slice(); bad[7] = 1.5;
    await expectRejected(model, () => model.fit(new Tensor(x, [10, 3]), bad), InputError, /target 7 is 1\.5/);
    const nan = y.slice(); nan[2] = NaN;
    await expectRejected(model, () => model.fit(new Tensor(x, [10, 3]), nan), InputError, /target 2 is NaN/);
    await expectRejected(model, () => model.fit(new Tensor(x, [10, 3]), y.subarray(0, 9)), ShapeError, /expects 10 target values/);
    const wide = new Sequential([new Linear(3, 2, { generator: gen })]);
    wide.compile({ loss: new BCEWithLogitsLoss({ posWeight: [2] }), optimizer: new SGD(wide, { lr: 0.1 }) });
    await expectRejected(wide, () => wide.fit(new Tensor(x, [10, 3]), new Float32Array(20)), ShapeError, /posWeight has 1 values, the output has 2 columns/);
  });
});

// ---------------------------------------------------------------------------------------------

/** n samples of d features in [-1, 1] and their scores x . w + b. */
function linearData(gen: Generator, n: number, d: number, w: number[][], b: number[]): { x: Float32Array; y: Float32Array } {
  const x = Float32Array.from(randn(gen, n * d));
  const y = new Float32Array(n * w.length);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < w.length; o++) {
      let s = b[o];
      for (let i = 0; i < d; i++) s += x[r * d + i] * w[o][i];
      y[r * w.length + o] = s;
    }
  }
  return { x, y };
}

/** Linearly separable 0/1 labels: the sign of a score, with samples within 0.1 of the boundary dropped. */
function separableData(gen: Generator, n: number): { x: Float32Array; y: Float32Array } {
  const w = [[1.5, -2, 0.5, 1]], b = [0.25];
  const raw = linearData(gen, 2 * n, 4, w, b);
  const x = new Float32Array(n * 4), y = new Float32Array(n);
  let k = 0;
  for (let r = 0; r < 2 * n && k < n; r++) {
    if (Math.abs(raw.y[r]) < 0.1) continue;
    x.set(raw.x.subarray(r * 4, r * 4 + 4), k * 4);
    y[k++] = raw.y[r] > 0 ? 1 : 0;
  }
  expect(k).toBe(n);
  return { x, y };
}

describe('end to end through Sequential.fit', () => {
  it('regression: Linear + MSELoss on y = x.W^T + b; the loss falls 100x, accuracy is NaN (no rule)', async () => {
    const gen = new Generator(21);
    const { x, y } = linearData(gen, 256, 5, [[0.5, -1, 2, 0.25, -0.75], [1, 0, -0.5, 1.5, 0.3]], [0.1, -0.4]);
    const model = new Sequential([new Linear(5, 2, { generator: gen })]);
    model.compile({ loss: new MSELoss(), optimizer: new SGD(model, { lr: 0.1 }) });
    const history = await model.fit(new Tensor(x, [256, 5]), new Tensor(y, [256, 2]), { epochs: 30, batchSize: 16, seed: 1 });
    const losses = history.history.loss;
    expect(losses.length).toBe(30);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 100);
    expect(history.history.accuracy.every(Number.isNaN)).toBe(true);
    const evaluated = model.evaluate(new Tensor(x, [256, 5]), y);
    expect(evaluated.loss).toBeLessThan(losses[0] / 100);
    expect(evaluated.accuracy).toBeNaN();
  });

  it('regression with L1Loss also fits', async () => {
    const gen = new Generator(22);
    const { x, y } = linearData(gen, 128, 3, [[1, -2, 0.5]], [0.3]);
    const model = new Sequential([new Linear(3, 1, { generator: gen })]);
    model.compile({ loss: new L1Loss(), optimizer: new SGD(model, { lr: 0.05 }) });
    const history = await model.fit(new Tensor(x, [128, 3]), y, { epochs: 40, batchSize: 16, seed: 1 });
    const losses = history.history.loss;
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 10);
  });

  it('binary classifier: Linear(4, 1) + BCEWithLogitsLoss on separable data reaches > 95% accuracy', async () => {
    const gen = new Generator(23);
    const { x, y } = separableData(gen, 400);
    const model = new Sequential([new Linear(4, 1, { generator: gen })]);
    model.compile({ loss: new BCEWithLogitsLoss(), optimizer: new SGD(model, { lr: 0.5 }) });
    const history = await model.fit(new Tensor(x, [400, 4]), y, { epochs: 20, batchSize: 16, seed: 1, validationSplit: 0.25 });
    const acc = history.history.accuracy;
    expect(acc[acc.length - 1]).toBeGreaterThan(0.95);
    expect(history.history.val_accuracy[acc.length - 1]).toBeGreaterThan(0.95);
    const { accuracy } = model.evaluate(new Tensor(x, [400, 4]), y);
    expect(accuracy).toBeGreaterThan(0.95);
    // the accuracy is the 0-threshold rule on the logits, counted here by hand
    const logits = model.predict(new Tensor(x, [400, 4])).data;
    const byHand = y.reduce((s, t, i) => s + ((logits[i] > 0) === (t > 0.5) ? 1 : 0), 0) / 400;
    expect(accuracy).toBeCloseTo(byHand, 10);
  });

  const Sigmoid = (simdnet as Record<string, unknown>).Sigmoid as (new () => Layer) | undefined;
  it.skipIf(!Sigmoid)('binary classifier: Linear(4, 1) + Sigmoid + BCELoss reaches > 95% accuracy', async () => {
    const gen = new Generator(24);
    const { x, y } = separableData(gen, 400);
    const model = new Sequential([new Linear(4, 1, { generator: gen }), new Sigmoid!()]);
    model.compile({ loss: new BCELoss(), optimizer: new SGD(model, { lr: 0.5 }) });
    const history = await model.fit(new Tensor(x, [400, 4]), y, { epochs: 20, batchSize: 16, seed: 1 });
    const acc = history.history.accuracy;
    expect(acc[acc.length - 1]).toBeGreaterThan(0.95);
    expect(model.evaluate(new Tensor(x, [400, 4]), y).accuracy).toBeGreaterThan(0.95);
  });

  it('CrossEntropyLoss with labelSmoothing trains a classifier too', async () => {
    const gen = new Generator(25);
    const { x, y } = separableData(gen, 200);
    const model = new Sequential([new Linear(4, 2, { generator: gen })]);
    model.compile({ loss: new CrossEntropyLoss({ labelSmoothing: 0.1 }), optimizer: new SGD(model, { lr: 0.5 }) });
    const history = await model.fit(new Tensor(x, [200, 4]), Int32Array.from(y), { epochs: 15, batchSize: 16, seed: 1 });
    expect(history.history.accuracy[14]).toBeGreaterThan(0.95);
    // smoothing keeps the loss away from 0: the smoothed target's entropy is its floor
    expect(history.history.loss[14]).toBeGreaterThan(0.1);
  });
});
