// Finite-difference gradient checks. Each layer and loss runs forward and backward through the wasm
// kernels (float32); the test re-implements its forward in float64 and compares the kernels'
// gradients with central differences of that float64 function. The float64 forward is itself
// checked against the kernels' forward, so both sides describe the same function.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, numericGrad } from './helpers/gradcheck.js';
import {
  Generator, Linear, ReLU, Softmax, LogSoftmax, Flatten, NLLLoss, CrossEntropyLoss, Tensor,
  ParameterSet, Sequential, type Layer, type Runtime, type Shape,
} from '../bindings/index.js';
import { initForTests } from './helpers/init.js';
import { randn } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await initForTests(); });

/** Runs one layer's forward and backward through the kernels on wasm buffers. */
function runLayer(layer: Layer, inShape: Shape, batch: number, x: Float32Array, dy: Float32Array) {
  const slab = new ParameterSet(rt);
  slab.rebuild(layer.params);
  const outShape = layer.outputShape(inShape);
  const nIn = batch * inShape.reduce((a, b) => a * b, 1);
  const nOut = batch * outShape.reduce((a, b) => a * b, 1);
  const heap = rt.heap;
  const px = heap.alloc(nIn * 4, 'x'), py = layer.aliasesInput ? px : heap.alloc(nOut * 4, 'y');
  const pdy = heap.alloc(nOut * 4, 'dy'), pdx = layer.aliasesInput ? pdy : heap.alloc(nIn * 4, 'dx');
  heap.f32.set(x, px >>> 2);
  heap.f32.set(dy, pdy >>> 2);
  const perSample = layer.workspace(inShape);
  const ws = perSample ? heap.alloc(batch * perSample * 4, 'ws') : 0;
  const args = { rt, batch, x: px, y: py, ws, inShape, outShape, training: true };
  layer.forward(args);
  const y = heap.f32.slice(py >>> 2, (py >>> 2) + nOut);
  layer.backward({ ...args, dy: pdy, dx: pdx });
  const dx = heap.f32.slice(pdx >>> 2, (pdx >>> 2) + nIn);
  const grads = layer.params.map((p) => Float64Array.from(p.grad!));
  return { y, dx, grads };
}

/** f(x) = sum(g * forward64(x)) and its checks for one layer. */
function checkLayer(layer: Layer, inShape: Shape, batch: number, forward64: (x: Float64Array, params: Float64Array[]) => Float64Array,
  makeInput: (g: Generator, n: number) => Float64Array = (g, n) => randn(g, n)): void {
  const gen = new Generator(7);
  const nIn = batch * inShape.reduce((a, b) => a * b, 1);
  const x64 = makeInput(gen, nIn);
  const x = Float32Array.from(x64);
  const x64r = Float64Array.from(x); // exactly the float32 values the kernel sees
  const params = layer.params.map((p) => Float64Array.from(p.data));
  const yRef = forward64(x64r, params);
  const dy = Float32Array.from(randn(gen, yRef.length));
  const { y, dx, grads } = runLayer(layer, inShape, batch, x, dy);
  expectClose(y, yRef, `${layer} forward`, 1e-5, 1e-6);
  const objective = () => forward64(x64r, params).reduce((s, v, i) => s + v * dy[i], 0);
  expectClose(dx, numericGrad(objective, x64r), `${layer} input gradient`);
  layer.params.forEach((p, k) => {
    expectClose(grads[k], numericGrad(objective, params[k]), `${layer} ${p.name} gradient`);
  });
}

describe('finite-difference gradient checks (float64 reference)', () => {
  it('Linear: input, weight and bias gradients; odd sizes', () => {
    for (const [batch, nin, nout] of [[1, 1, 1], [3, 5, 7], [7, 13, 9]]) {
      const layer = new Linear(nin, nout, { generator: new Generator(batch) });
      checkLayer(layer, [nin], batch, (x, [w, b]) => {
        const y = new Float64Array(batch * nout);
        for (let r = 0; r < batch; r++) for (let o = 0; o < nout; o++) {
          let s = b[o];
          for (let i = 0; i < nin; i++) s += x[r * nin + i] * w[o * nin + i];
          y[r * nout + o] = s;
        }
        return y;
      });
    }
  });

  it('Linear without bias', () => {
    const layer = new Linear(6, 5, { bias: false, generator: new Generator(3) });
    expect(layer.params.length).toBe(1);
    checkLayer(layer, [6], 4, (x, [w]) => {
      const y = new Float64Array(4 * 5);
      for (let r = 0; r < 4; r++) for (let o = 0; o < 5; o++) {
        let s = 0;
        for (let i = 0; i < 6; i++) s += x[r * 6 + i] * w[o * 6 + i];
        y[r * 5 + o] = s;
      }
      return y;
    });
  });

  it('ReLU (inputs kept away from the kink at 0)', () => {
    const awayFromZero = (g: Generator, n: number) => randn(g, n).map((v) => (v >= 0 ? v + 0.05 : v - 0.05));
    checkLayer(new ReLU(), [11], 3, (x) => x.map((v) => Math.max(v, 0)), awayFromZero);
  });

  it('Softmax', () => {
    for (const cols of [1, 3, 10]) {
      checkLayer(new Softmax(1), [cols], 5, (x) => softmax64(x, cols), (g, n) => randn(g, n, 3));
    }
  });

  it('LogSoftmax', () => {
    for (const cols of [1, 5, 10]) {
      checkLayer(new LogSoftmax(1), [cols], 5, (x) => logSoftmax64(x, cols), (g, n) => randn(g, n, 3));
    }
  });

  it('Flatten passes values and gradients through unchanged', () => {
    checkLayer(new Flatten(), [2, 3], 2, (x) => Float64Array.from(x));
  });
});

describe('loss gradients (float64 reference)', () => {
  const rows = 6, cols = 10;

  function checkLoss(make: (reduction: 'mean' | 'sum') => NLLLoss | CrossEntropyLoss,
    loss64: (out: Float64Array, labels: Int32Array) => number) {
    const gen = new Generator(11);
    for (const reduction of ['mean', 'sum'] as const) {
      const out = Float32Array.from(randn(gen, rows * cols, 3));
      const labels = Int32Array.from({ length: rows }, () => gen.randint(cols));
      const lossFn = make(reduction);
      const value = lossFn.forward(new Tensor(out, [rows, cols]), labels);
      const out64 = Float64Array.from(out);
      const scale = reduction === 'mean' ? 1 : rows;
      const want = loss64(out64, labels) * scale;
      expect(Math.abs(value - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      const grad = lossFn.backward();
      expect(grad.shape).toEqual([rows, cols]);
      expectClose(grad.data, numericGrad(() => loss64(out64, labels) * scale, out64), `${lossFn} gradient`);
    }
  }

  it('NLLLoss on log-probabilities, mean and sum', () => {
    checkLoss((reduction) => new NLLLoss({ reduction }), (logp, labels) => {
      let s = 0;
      labels.forEach((y, r) => { s -= logp[r * cols + y]; });
      return s / rows;
    });
  });

  it('CrossEntropyLoss on logits, mean and sum', () => {
    checkLoss((reduction) => new CrossEntropyLoss({ reduction }), (logits, labels) => {
      const logp = logSoftmax64(logits, cols);
      let s = 0;
      labels.forEach((y, r) => { s -= logp[r * cols + y]; });
      return s / rows;
    });
  });

  it('CrossEntropyLoss stays finite on extreme logits', () => {
    const out = new Float32Array([1000, -1000, 0, 500, -500, 0]);
    const loss = new CrossEntropyLoss();
    const v = loss.forward(new Tensor(out, [2, 3]), [1, 0]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo((2000 + 0) / 2, 3);
    expect(Array.from(loss.backward().data).every(Number.isFinite)).toBe(true);
  });
});

describe('whole-model gradient check', () => {
  it('Linear-ReLU-Linear-LogSoftmax + NLLLoss: every parameter gradient through the explicit loop', () => {
    const gen = new Generator(5);
    const model = new Sequential([
      new Linear(7, 6, { generator: gen }), new ReLU(), new Linear(6, 4, { generator: gen }), new LogSoftmax(1),
    ]);
    const batch = 5;
    const x = Float32Array.from(randn(gen, batch * 7, 2));
    const labels = Int32Array.from({ length: batch }, () => gen.randint(4));
    const lossFn = new NLLLoss();
    const out = model.forward(new Tensor(x, [batch, 7]));
    lossFn.forward(out, labels);
    model.zeroGrad();
    model.backward(lossFn.backward());
    const [l1, , l2] = model.layers as [Linear, ReLU, Linear];
    const params = [l1.weight, l1.bias!, l2.weight, l2.bias!];
    const p64 = params.map((p) => Float64Array.from(p.data));
    const x64 = Float64Array.from(x);
    const loss64 = () => {
      let total = 0;
      for (let r = 0; r < batch; r++) {
        const h = new Float64Array(6);
        for (let o = 0; o < 6; o++) {
          let s = p64[1][o];
          for (let i = 0; i < 7; i++) s += x64[r * 7 + i] * p64[0][o * 7 + i];
          h[o] = Math.max(s, 0);
        }
        const z = new Float64Array(4);
        for (let o = 0; o < 4; o++) {
          let s = p64[3][o];
          for (let i = 0; i < 6; i++) s += h[i] * p64[2][o * 6 + i];
          z[o] = s;
        }
        total -= logSoftmax64(z, 4)[labels[r]];
      }
      return total / batch;
    };
    params.forEach((p, k) => expectClose(p.grad!, numericGrad(loss64, p64[k]), `model parameter ${k} (${p.name})`));
  });
});

function softmax64(x: Float64Array, cols: number): Float64Array {
  return logSoftmax64(x, cols).map(Math.exp);
}

function logSoftmax64(x: Float64Array, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] - lse;
  }
  return y;
}
