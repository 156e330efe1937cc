// Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d and BatchNorm2d through the bindings: forward against
// float64 reimplementations, input and parameter gradients against central differences of them,
// running statistics, shape errors that name the shapes, and a small CNN learning real MNIST.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, numericGrad } from './helpers/gradcheck.js';
import {
  Generator, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, ReLU, Flatten, Linear,
  CrossEntropyLoss, Adam, Sequential, Tensor, ParameterSet, ConfigError, ShapeError, InputError, SimdnetError,
  loadMnist, toTensor, manualSeed, type Layer, type Runtime, type Shape,
} from '../bindings/index.js';
import { initForTests } from './helpers/init.js';
import { randn, sameBits, weightBits } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await initForTests(); });

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** One layer's forward then backward through the kernels, with its params, buffers, workspace and scratch planned. */
function runLayer(layer: Layer, inShape: Shape, batch: number, x: Float32Array, dy: Float32Array, training = true) {
  const slab = new ParameterSet(rt), bufs = new ParameterSet(rt);
  slab.rebuild(layer.params);
  bufs.rebuild(layer.buffers);
  const outShape = layer.outputShape(inShape);
  const nIn = batch * size(inShape), nOut = batch * size(outShape);
  const heap = rt.heap;
  const ptrs = {
    x: heap.alloc(nIn * 4, 'x'), y: heap.alloc(nOut * 4, 'y'), dy: heap.alloc(nOut * 4, 'dy'), dx: heap.alloc(nIn * 4, 'dx'),
    ws: layer.workspace(inShape) ? heap.alloc(batch * layer.workspace(inShape) * 4, 'ws') : 0,
    scratch: layer.scratch(inShape) ? heap.alloc(layer.scratch(inShape) * 4, 'scratch') : 0,
  };
  try {
    heap.f32.set(x, ptrs.x >>> 2);
    heap.f32.set(dy, ptrs.dy >>> 2);
    // workspace and scratch start as garbage (a layer must not rely on what an earlier call left)
    if (ptrs.ws) heap.i32.fill(-1, ptrs.ws >>> 2, (ptrs.ws >>> 2) + batch * layer.workspace(inShape));
    if (ptrs.scratch) heap.f32.fill(NaN, ptrs.scratch >>> 2, (ptrs.scratch >>> 2) + layer.scratch(inShape));
    const args = { rt, batch, x: ptrs.x, y: ptrs.y, ws: ptrs.ws, scratch: ptrs.scratch, inShape, outShape, training };
    layer.training = training;
    layer.forward(args);
    const y = heap.f32.slice(ptrs.y >>> 2, (ptrs.y >>> 2) + nOut);
    layer.backward({ ...args, dy: ptrs.dy, dx: ptrs.dx });
    const dx = heap.f32.slice(ptrs.dx >>> 2, (ptrs.dx >>> 2) + nIn);
    return { y, dx, grads: layer.params.map((p) => Float64Array.from(p.grad!)), buffers: layer.buffers.map((b) => b.data.slice()) };
  } finally {
    for (const p of Object.values(ptrs)) if (p) heap.release(p);
    slab.dispose();
    bufs.dispose();
  }
}

/**
 * The full check of one layer: forward against f(x, params) in float64, and the input and every
 * parameter gradient of sum(dy * f) against central differences in float64.
 */
function checkLayer(layer: Layer, inShape: Shape, batch: number,
  f: (x: Float64Array, p: Float64Array[]) => Float64Array, options: { training?: boolean; seed?: number } = {}) {
  const g = new Generator(options.seed ?? 5);
  const x = Float32Array.from(randn(g, batch * size(inShape)));
  const x64 = Float64Array.from(x);
  const p64 = layer.params.map((p) => Float64Array.from(p.data));
  const yRef = f(x64, p64);
  const dy = Float32Array.from(randn(g, yRef.length));
  const run = runLayer(layer, inShape, batch, x, dy, options.training ?? true);
  expectClose(run.y, yRef, `${layer} forward`, 1e-4, 1e-5);
  const objective = () => f(x64, p64).reduce((s, v, i) => s + v * dy[i], 0);
  expectClose(run.dx, numericGrad(objective, x64), `${layer} input gradient`);
  layer.params.forEach((p, i) => expectClose(run.grads[i], numericGrad(objective, p64[i]), `${layer} ${p.name} gradient`));
  return run;
}

// ---- float64 references ---------------------------------------------------------------------

interface Geometry { C: number; H: number; W: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number }

function outHW(g: Geometry): [number, number] {
  return [Math.floor((g.H + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1, Math.floor((g.W + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1];
}

function conv64(g: Geometry, O: number, batch: number, x: Float64Array, w: Float64Array, b: Float64Array | null): Float64Array {
  const [OH, OW] = outHW(g);
  const y = new Float64Array(batch * O * OH * OW);
  for (let n = 0; n < batch; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b ? b[o] : 0;
    for (let c = 0; c < g.C; c++) for (let ki = 0; ki < g.kh; ki++) for (let kj = 0; kj < g.kw; kj++) {
      const h = i * g.sh - g.ph + ki * g.dh, v = j * g.sw - g.pw + kj * g.dw;
      if (h >= 0 && h < g.H && v >= 0 && v < g.W) s += w[((o * g.C + c) * g.kh + ki) * g.kw + kj] * x[((n * g.C + c) * g.H + h) * g.W + v];
    }
    y[((n * O + o) * OH + i) * OW + j] = s;
  }
  return y;
}

function pool64(g: Geometry, batch: number, x: Float64Array, kind: 'max' | 'avg', countIncludePad = true): Float64Array {
  const [OH, OW] = outHW(g);
  const y = new Float64Array(batch * g.C * OH * OW);
  for (let p = 0; p < batch * g.C; p++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let m = -Infinity, s = 0, inside = 0;
    for (let ki = 0; ki < g.kh; ki++) for (let kj = 0; kj < g.kw; kj++) {
      const h = i * g.sh - g.ph + ki, v = j * g.sw - g.pw + kj;
      if (h < 0 || h >= g.H || v < 0 || v >= g.W) continue;
      const val = x[(p * g.H + h) * g.W + v];
      m = Math.max(m, val); s += val; inside++;
    }
    // PyTorch's divisor with count_include_pad: the window clipped to the padded input
    const hs = i * g.sh - g.ph, ws = j * g.sw - g.pw;
    const padded = (Math.min(hs + g.kh, g.H + g.ph) - hs) * (Math.min(ws + g.kw, g.W + g.pw) - ws);
    y[(p * OH + i) * OW + j] = kind === 'max' ? m : s / (countIncludePad ? padded : inside);
  }
  return y;
}

/** Batch norm over [N, C, S] with the batch's statistics (training) or given ones (eval). */
function batchnorm64(N: number, C: number, S: number, x: Float64Array, gamma: Float64Array | null, beta: Float64Array | null,
  eps: number, stats?: { mean: ArrayLike<number>; var: ArrayLike<number> }): Float64Array {
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let mean = 0, v = 0;
    if (stats) { mean = stats.mean[c]; v = stats.var[c]; } else {
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) mean += x[(n * C + c) * S + s];
      mean /= N * S;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x[(n * C + c) * S + s] - mean) ** 2;
      v /= N * S;
    }
    const inv = 1 / Math.sqrt(v + eps);
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      y[i] = (x[i] - mean) * inv * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
    }
  }
  return y;
}

const geometry = (C: number, H: number, W: number, k: [number, number], s: [number, number] = [1, 1],
  p: [number, number] = [0, 0], d: [number, number] = [1, 1]): Geometry =>
  ({ C, H, W, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1] });

// ---- gradient checks ------------------------------------------------------------------------

describe('Conv2d: forward and gradients against float64 and central differences', () => {
  const cases: { name: string; O: number; g: Geometry; bias?: boolean; batch: number }[] = [
    { name: '1->3, 3x3, odd 7x5 input', O: 3, g: geometry(1, 7, 5, [3, 3]), batch: 2 },
    { name: '2->4, 5x5 padding 2 (the MNIST CNN\'s geometry, small)', O: 4, g: geometry(2, 9, 9, [5, 5], [1, 1], [2, 2]), batch: 2 },
    { name: '3->2, 3x2 kernel, stride (2,1), padding (1,0)', O: 2, g: geometry(3, 8, 7, [3, 2], [2, 1], [1, 0]), batch: 3 },
    { name: '2->3, dilation 2, stride 3, padding 2, no bias', O: 3, g: geometry(2, 11, 10, [3, 3], [3, 3], [2, 2], [2, 2]), bias: false, batch: 2 },
    { name: '3->5, dilation (2,1), padding (0,1)', O: 5, g: geometry(3, 9, 6, [2, 3], [1, 2], [0, 1], [2, 1]), batch: 1 },
    { name: '8->3, 5x5 padding 2: the Winograd F(2x2, 5x5) forward', O: 3, g: geometry(8, 7, 9, [5, 5], [1, 1], [2, 2]), batch: 2 },
    { name: '9->2, 5x5 no padding, odd output 3x5: Winograd with cropped edge tiles', O: 2, g: geometry(9, 7, 9, [5, 5]), bias: false, batch: 3 },
    { name: '2->8, 5x5 padding 1: dx by Winograd (dy padded by 3, rotated kernel)', O: 8, g: geometry(2, 8, 7, [5, 5], [1, 1], [1, 1]), batch: 2 },
    { name: '3->9, 5x5 no padding: dx by Winograd with dy padded by 4', O: 9, g: geometry(3, 6, 9, [5, 5]), batch: 2 },
    { name: '8->8, 5x5 padding (2,0): Winograd forward and dx', O: 8, g: geometry(8, 7, 6, [5, 5], [1, 1], [2, 0]), batch: 1 },
    { name: '4->3, 1x1 pointwise', O: 3, g: geometry(4, 5, 3, [1, 1]), batch: 3 },
    { name: '2->2, 1x1 with stride 2', O: 2, g: geometry(2, 5, 6, [1, 1], [2, 2]), batch: 2 },
    { name: '1->2, kernel as large as the input: output 1x1', O: 2, g: geometry(1, 4, 3, [4, 3]), batch: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const g = c.g;
      const layer = new Conv2d(g.C, c.O, [g.kh, g.kw], { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw],
        bias: c.bias ?? true, generator: new Generator(3) });
      expect(layer.outputShape([g.C, g.H, g.W])).toEqual([c.O, ...outHW(g)]);
      checkLayer(layer, [g.C, g.H, g.W], c.batch, (x, p) => conv64(g, c.O, c.batch, x, p[0], p[1] ?? null));
    });
  }

  it('PyTorch\'s parameter layout, default init bounds and repr', () => {
    const conv = new Conv2d(32, 64, 5, { padding: 2 });
    expect(conv.weight.shape).toEqual([64, 32, 5, 5]);
    expect(conv.bias!.shape).toEqual([64]);
    const bound = 1 / Math.sqrt(32 * 25);
    expect(Math.max(...conv.weight.data.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...conv.weight.data.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(String(conv)).toBe('Conv2d(32, 64, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))');
    expect(String(new Conv2d(1, 2, [3, 2], { stride: 2, dilation: [2, 1], bias: false })))
      .toBe('Conv2d(1, 2, kernel_size=(3, 2), stride=(2, 2), dilation=(2, 1), bias=False)');
  });
});

describe('pooling: forward and input gradients against float64 and central differences', () => {
  const cases: { name: string; g: Geometry; batch: number }[] = [
    { name: '2x2 stride 2 on 8x8 (the MNIST CNN\'s pooling)', g: geometry(3, 8, 8, [2, 2], [2, 2]), batch: 2 },
    { name: '2x2 stride 2 on odd 7x5 (the last row and column are dropped)', g: geometry(2, 7, 5, [2, 2], [2, 2]), batch: 2 },
    { name: '3x3 stride 2 padding 1', g: geometry(2, 7, 6, [3, 3], [2, 2], [1, 1]), batch: 2 },
    { name: '3x2 stride (1,2)', g: geometry(1, 5, 7, [3, 2], [1, 2]), batch: 3 },
  ];
  for (const c of cases) {
    const g = c.g, inShape = [g.C, g.H, g.W];
    it(`MaxPool2d ${c.name}`, () => {
      const layer = new MaxPool2d([g.kh, g.kw], { stride: [g.sh, g.sw], padding: [g.ph, g.pw] });
      checkLayer(layer, inShape, c.batch, (x) => pool64(g, c.batch, x, 'max'));
    });
    it(`MaxPool2d ${c.name}, eval mode (the forward skips the indices; backward recomputes them)`, () => {
      const layer = new MaxPool2d([g.kh, g.kw], { stride: [g.sh, g.sw], padding: [g.ph, g.pw] });
      checkLayer(layer, inShape, c.batch, (x) => pool64(g, c.batch, x, 'max'), { training: false });
    });
    for (const countIncludePad of [true, false]) {
      it(`AvgPool2d ${c.name}, countIncludePad ${countIncludePad}`, () => {
        const layer = new AvgPool2d([g.kh, g.kw], { stride: [g.sh, g.sw], padding: [g.ph, g.pw], countIncludePad });
        checkLayer(layer, inShape, c.batch, (x) => pool64(g, c.batch, x, 'avg', countIncludePad));
      });
    }
  }

  it('max pooling routes each gradient to the maximum of its window, overlapping windows adding up', () => {
    const layer = new MaxPool2d(3, { stride: 1 });
    const x = new Float32Array(16); x[5] = 10; // the max of all four 3x3 windows of a 4x4 plane
    const { y, dx } = runLayer(layer, [1, 4, 4], 1, x, Float32Array.from([1, 2, 3, 4]));
    expect(Array.from(y)).toEqual([10, 10, 10, 10]);
    expect(dx[5]).toBe(10);
    expect(dx.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('reprs as PyTorch\'s', () => {
    expect(String(new MaxPool2d(2))).toBe('MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)');
    expect(String(new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false })))
      .toBe('AvgPool2d(kernel_size=3, stride=2, padding=1, count_include_pad=False)');
  });
});

describe('BatchNorm: forward, gradients and running statistics', () => {
  const cases: { name: string; make: () => BatchNorm1d | BatchNorm2d; inShape: Shape; batch: number; S: number }[] = [
    { name: 'BatchNorm2d(3) on [3, 4, 5]', make: () => new BatchNorm2d(3), inShape: [3, 4, 5], batch: 3, S: 20 },
    { name: 'BatchNorm2d(2, affine false) on [2, 3, 3]', make: () => new BatchNorm2d(2, { affine: false }), inShape: [2, 3, 3], batch: 2, S: 9 },
    { name: 'BatchNorm1d(5) on [5]', make: () => new BatchNorm1d(5), inShape: [5], batch: 7, S: 1 },
    { name: 'BatchNorm1d(3) on [3, 4]', make: () => new BatchNorm1d(3, { momentum: 0.3, eps: 1e-3 }), inShape: [3, 4], batch: 2, S: 4 },
  ];
  for (const c of cases) {
    it(`${c.name}, training: batch statistics, and running statistics updated as PyTorch`, () => {
      const layer = c.make();
      const C = c.inShape[0];
      if (layer.weight) { // non-trivial affine parameters
        const g = new Generator(9);
        layer.weight.set(g.uniform(new Float32Array(C), 0.5, 1.5));
        layer.bias!.set(g.uniform(new Float32Array(C), -0.5, 0.5));
      }
      const run = checkLayer(layer, c.inShape, c.batch,
        (x, p) => batchnorm64(c.batch, C, c.S, x, p[0] ?? null, p[1] ?? null, layer.eps));
      // the running statistics after one training step: (1 - m) init + m batch (variance unbiased)
      const g = new Generator(5);
      const x = Float64Array.from(Float32Array.from(randn(g, c.batch * size(c.inShape))));
      const m = layer.momentum!, M = c.batch * c.S;
      const [rm, rv, tracked] = run.buffers;
      for (let ch = 0; ch < C; ch++) {
        let mean = 0, v = 0;
        for (let n = 0; n < c.batch; n++) for (let s = 0; s < c.S; s++) mean += x[(n * C + ch) * c.S + s];
        mean /= M;
        for (let n = 0; n < c.batch; n++) for (let s = 0; s < c.S; s++) v += (x[(n * C + ch) * c.S + s] - mean) ** 2;
        expect(rm[ch]).toBeCloseTo(m * mean, 5);
        expect(rv[ch]).toBeCloseTo((1 - m) + m * v / (M - 1), 5);
      }
      expect(tracked[0]).toBe(1);
    });

    it(`${c.name}, eval: running statistics are constants`, () => {
      const layer = c.make();
      const C = c.inShape[0];
      const g = new Generator(4);
      const mean = g.uniform(new Float32Array(C), -1, 1), variance = g.uniform(new Float32Array(C), 0.5, 2);
      // set before runLayer binds the buffers (as loadStateDict would after)
      layer.buffers.find((b) => b.name === 'running_mean')!.set(mean);
      layer.buffers.find((b) => b.name === 'running_var')!.set(variance);
      checkLayer(layer, c.inShape, c.batch,
        (x, p) => batchnorm64(c.batch, C, c.S, x, p[0] ?? null, p[1] ?? null, layer.eps, { mean, var: variance }), { training: false });
    });
  }

  it('momentum null is a cumulative average; training with one value per channel is an InputError', () => {
    const layer = new BatchNorm1d(2, { momentum: null });
    const g = new Generator(1);
    const xs = [Float32Array.from(randn(g, 8)), Float32Array.from(randn(g, 8))];
    const slab = new ParameterSet(rt), bufs = new ParameterSet(rt);
    slab.rebuild(layer.params); bufs.rebuild(layer.buffers);
    const heap = rt.heap, px = heap.alloc(32, 'x'), py = heap.alloc(32, 'y');
    try {
      const means: number[][] = [];
      for (const x of xs) {
        heap.f32.set(x, px >>> 2);
        layer.forward({ rt, batch: 4, x: px, y: py, ws: 0, scratch: 0, inShape: [2], outShape: [2], training: true });
        means.push([0, 1].map((c) => (x[c] + x[2 + c] + x[4 + c] + x[6 + c]) / 4));
      }
      for (const c of [0, 1]) expect(layer.runningMean![c]).toBeCloseTo((means[0][c] + means[1][c]) / 2, 6);
      expect(layer.numBatchesTracked).toBe(2);
      expect(() => layer.forward({ rt, batch: 1, x: px, y: py, ws: 0, scratch: 0, inShape: [2], outShape: [2], training: true }))
        .toThrow(/training needs more than 1 value per channel, got input \[1, 2\]/);
      expect(layer.numBatchesTracked).toBe(2);
    } finally {
      heap.release(px); heap.release(py); slab.dispose(); bufs.dispose();
    }
  });

  it('stateDict carries the running statistics under PyTorch\'s names; eval uses them', async () => {
    const model = new Sequential([new BatchNorm1d(3), new Linear(3, 2)], { inputShape: [3] });
    expect(Object.keys(model.stateDict())).toEqual(
      ['0.weight', '0.bias', '0.running_mean', '0.running_var', '0.num_batches_tracked', '1.weight', '1.bias']);
    const x = new Tensor(Float32Array.from([1, 2, 3, 3, 2, 1, 0, 0, 6, 2, 2, 2]), [4, 3]);
    model.train();
    model.forward(x);
    const dict = model.stateDict();
    expect(Array.from(dict['0.running_mean'].data)).toEqual(Array.from(Float32Array.from([0.15, 0.15, 0.3])));
    expect(dict['0.num_batches_tracked'].data[0]).toBe(1);
    // a fresh model loaded from it predicts the same in eval mode
    const copy = new Sequential([new BatchNorm1d(3), new Linear(3, 2)], { inputShape: [3] });
    copy.loadStateDict(dict);
    model.eval(); copy.eval();
    expect(Array.from(copy.forward(x).data)).toEqual(Array.from(model.forward(x).data));
    expect(() => copy.loadStateDict({ ...dict, '0.running_var': new Tensor(new Float32Array(2), [2]) })).toThrow(/'0.running_var' has shape \[2\]/);
    model.dispose(); copy.dispose();
  });
});

// ---- errors -------------------------------------------------------------------------------

describe('bad shapes and hyperparameters are typed errors that name the shapes', () => {
  it('wrong channel count, too-small inputs, flat inputs and non-integer sizes', () => {
    expect(() => new Sequential([new Conv2d(3, 8, 3)], { inputShape: [1, 28, 28] }))
      .toThrow(/Conv2d\(3, 8, kernel_size=\(3, 3\).*expects 3 input channels, got 1 \(input shape \[1, 28, 28\]\)/);
    expect(() => new Sequential([new Conv2d(1, 8, 5)], { inputShape: [1, 4, 28] }))
      .toThrow(/input \[1, 4, 28\] is too small: its height 4 is less than the kernel size 5/);
    expect(() => new Sequential([new Conv2d(1, 8, 3, { dilation: 4, padding: 1 })], { inputShape: [1, 5, 5] }))
      .toThrow(/height 5 padded by 1 on each side \(7\) is less than the dilated kernel's span 9/);
    expect(() => new Sequential([new Conv2d(1, 8, 3)], { inputShape: [784] }))
      .toThrow(/expects a per-sample input \[channels, height, width\], got \[784\]/);
    expect(() => new Sequential([new MaxPool2d(2)], { inputShape: [1, 27.5, 28] }))
      .toThrow(/inputShape: invalid shape \[1, 27.5, 28\]: dimensions must be non-negative integers/);
    expect(() => new Sequential([new MaxPool2d(3)], { inputShape: [4, 2, 8] })).toThrow(ShapeError);
    expect(() => new Sequential([new BatchNorm2d(16)], { inputShape: [8, 4, 4] })).toThrow(/expects 16 channels, got input \[8, 4, 4\]/);
    expect(() => new Sequential([new BatchNorm1d(4)], { inputShape: [4, 2, 2] })).toThrow(/\[C\] or \[C, L\], got \[4, 2, 2\]/);
    // a Linear after Flatten that does not match the conv output names both
    expect(() => new Sequential([new Conv2d(1, 4, 5, { padding: 2 }), new MaxPool2d(2), new Flatten(), new Linear(700, 10)], { inputShape: [1, 28, 28] }))
      .toThrow(/expects per-sample input shape \[700\], got \[784\]/);
  });

  it('a batch with the wrong per-sample shape is a ShapeError and leaves the weights intact', async () => {
    manualSeed(1);
    const model = new Sequential([new Conv2d(1, 2, 3), new Flatten(), new Linear(2 * 26 * 26, 10)], { inputShape: [1, 28, 28] });
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model) });
    const before = weightBits(model);
    await expect(model.fit(new Tensor(new Float32Array(4 * 3 * 28 * 28), [4, 3, 28, 28]), new Int32Array(4)))
      .rejects.toThrow(/per-sample shape \[3, 28, 28\], the model expects \[1, 28, 28\]/);
    await expect(model.fit(new Float32Array(2 * 784 + 1), new Int32Array(2))).rejects.toThrow(ShapeError);
    expect(sameBits(before, weightBits(model))).toBe(true);
    model.dispose();
  });

  it('hyperparameters', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => new Conv2d(0, 2, 3), /inChannels must be a positive integer, got 0/],
      [() => new Conv2d(1, 2, 0), /kernelSize must be an integer >= 1 or a pair of them, got 0/],
      [() => new Conv2d(1, 2, 3, { stride: 1.5 }), /stride must be an integer >= 1.*got 1.5/],
      [() => new Conv2d(1, 2, 3, { padding: -1 }), /padding must be an integer >= 0.*got -1/],
      [() => new Conv2d(1, 2, [3, 3, 3] as unknown as [number, number]), /kernelSize .*got \[3,3,3\]/],
      [() => new MaxPool2d(2, { padding: 2 }), /padding \(2, 2\) must be at most half the kernel size \(2, 2\)/],
      [() => new AvgPool2d(2, { countIncludePad: 1 as unknown as boolean }), /countIncludePad must be true or false/],
      [() => new BatchNorm2d(4, { momentum: 2 }), /momentum must be in \[0, 1\] or null, got 2/],
      [() => new BatchNorm2d(4, { eps: 0 }), /eps must be a positive number, got 0/],
      [() => new BatchNorm1d(0), /numFeatures must be a positive integer, got 0/],
    ];
    for (const [make, message] of bad) {
      let error: unknown;
      try { make(); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toBeInstanceOf(SimdnetError);
      expect((error as Error).message).toMatch(message);
    }
    expect(InputError).toBeDefined();
  });
});

// ---- end to end -------------------------------------------------------------------------------

describe('a small CNN on real MNIST', () => {
  it('learns: 3,000 training images, 2 epochs, >= 90% on 1,000 test images; the same seed gives the same bits', async () => {
    const m = await loadMnist({ trainLimit: 3000, testLimit: 1000 });
    const x = toTensor(m.train.images, [m.train.count, 1, 28, 28]);
    const xTest = toTensor(m.test.images, [m.test.count, 1, 28, 28]);
    const train = async () => {
      manualSeed(3);
      const model = new Sequential([
        new Conv2d(1, 8, 5, { padding: 2 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 5, { padding: 2 }), new ReLU(), new AvgPool2d(2),
        new Flatten(), new Linear(16 * 7 * 7, 10),
      ]);
      model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model, { lr: 2e-3 }) });
      await model.fit(x, m.train.labels, { epochs: 2, batchSize: 32, seed: 3 });
      return model;
    };
    const model = await train();
    const { accuracy } = model.evaluate(xTest, m.test.labels);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    const again = await train();
    expect(sameBits(weightBits(model), weightBits(again))).toBe(true);
    model.dispose(); again.dispose();
  }, 60_000);
});
