// Sigmoid, Tanh, LeakyReLU, GELU and Dropout through the bindings: finite-difference gradient checks
// against float64 reimplementations (in the style of gradcheck.test.ts, with the helpers of
// tests/helpers/gradcheck.ts), reprs and validation, and Dropout's modes, masks, seeding, gradient and memory plan.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose, numericGrad } from './helpers/gradcheck.js';
import {
  init, Generator, manualSeed, defaultGenerator, ConfigError, Sigmoid, Tanh, LeakyReLU, GELU, Dropout, ReLU,
  Linear, LogSoftmax, NLLLoss, SGD, Sequential, Tensor, ParameterSet, type Layer, type Runtime, type Shape,
} from '../bindings/index.js';
import { randn } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

/** Runs one layer's forward and backward through the kernels on wasm buffers. */
function runLayer(layer: Layer, inShape: Shape, batch: number, x: Float32Array, dy: Float32Array, training = true) {
  const slab = new ParameterSet(rt);
  slab.rebuild(layer.params);
  const outShape = layer.outputShape(inShape);
  const nIn = batch * inShape.reduce((a, b) => a * b, 1);
  const nOut = batch * outShape.reduce((a, b) => a * b, 1);
  const heap = rt.heap;
  const px = heap.alloc(nIn * 4, 'x'), py = layer.aliasesInput ? px : heap.alloc(nOut * 4, 'y');
  const pdy = heap.alloc(nOut * 4, 'dy'), pdx = layer.aliasesInput ? pdy : heap.alloc(nIn * 4, 'dx');
  const perSample = layer.workspace(inShape);
  const ws = perSample ? heap.alloc(batch * perSample * 4, 'ws') : 0;
  try {
    heap.f32.set(x, px >>> 2);
    heap.f32.set(dy, pdy >>> 2);
    const args = { rt, batch, x: px, y: py, ws, inShape, outShape, training };
    layer.forward(args);
    const y = heap.f32.slice(py >>> 2, (py >>> 2) + nOut);
    layer.backward({ ...args, dy: pdy, dx: pdx });
    const dx = heap.f32.slice(pdx >>> 2, (pdx >>> 2) + nIn);
    const mask = ws ? heap.f32.slice(ws >>> 2, (ws >>> 2) + batch * perSample) : null;
    return { y, dx, mask };
  } finally {
    for (const p of new Set([px, py, pdy, pdx, ws])) if (p) heap.release(p);
    slab.dispose();
  }
}

/** f(x) = sum(g * forward64(x)) and its checks for one parameter-free layer. */
function checkLayer(layer: Layer, inShape: Shape, batch: number, forward64: (x: Float64Array) => Float64Array,
  makeInput: (g: Generator, n: number) => Float64Array = (g, n) => randn(g, n)): void {
  const gen = new Generator(7);
  const nIn = batch * inShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from(makeInput(gen, nIn));
  const x64r = Float64Array.from(x); // exactly the float32 values the kernel sees
  const yRef = forward64(x64r);
  const dy = Float32Array.from(randn(gen, yRef.length));
  const { y, dx } = runLayer(layer, inShape, batch, x, dy);
  expectClose(y, yRef, `${layer} forward`, 1e-5, 1e-6);
  const objective = () => forward64(x64r).reduce((s, v, i) => s + v * dy[i], 0);
  expectClose(dx, numericGrad(objective, x64r), `${layer} input gradient`);
}

// ---- float64 references ---------------------------------------------------------------------

/** erf by its power series (A&S 7.1.6) below 3 and its continued fraction (A&S 7.1.14) above. */
function erf64(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    const x2 = 2 * x * x;
    let term = x, sum = x;
    for (let n = 1; n < 400 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) { term *= x2 / (2 * n + 1); sum += term; }
    return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
  }
  let t = a;
  for (let k = 300; k >= 1; k--) t = a + (k / 2) / t;
  const r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / t;
  return x < 0 ? -r : r;
}

const sigmoid64 = (x: Float64Array) => x.map((v) => 1 / (1 + Math.exp(-v)));
const tanh64 = (x: Float64Array) => x.map(Math.tanh);
const leaky64 = (slope: number) => (x: Float64Array) => x.map((v) => (v > 0 ? v : v * slope));
const gelu64 = (x: Float64Array) => x.map((v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)));
const geluTanh64 = (x: Float64Array) =>
  x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));

describe('finite-difference gradient checks (float64 reference)', () => {
  it('the erf reference matches published values', () => {
    expect(erf64(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf64(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf64(-2)).toBeCloseTo(-0.9953222650189527, 15);
    expect(erf64(3.5)).toBeCloseTo(0.9999992569016276, 15);
  });

  it('Sigmoid', () => {
    checkLayer(new Sigmoid(), [11], 3, sigmoid64, (g, n) => randn(g, n, 6));
    checkLayer(new Sigmoid(), [2, 3], 2, sigmoid64, (g, n) => randn(g, n, 2)); // any per-sample shape
  });

  it('Tanh', () => {
    checkLayer(new Tanh(), [11], 3, tanh64, (g, n) => randn(g, n, 3));
  });

  it('LeakyReLU(0.2) (inputs kept away from the kink at 0)', () => {
    const awayFromZero = (g: Generator, n: number) => randn(g, n, 2).map((v) => (v >= 0 ? v + 0.05 : v - 0.05));
    checkLayer(new LeakyReLU(0.2), [11], 3, leaky64(0.2), awayFromZero);
    checkLayer(new LeakyReLU(), [7], 2, leaky64(0.01), awayFromZero);
    checkLayer(new LeakyReLU(-0.5), [7], 2, leaky64(-0.5), awayFromZero); // the gradient follows x, not y
  });

  it("GELU(approximate='none')", () => {
    checkLayer(new GELU(), [11], 3, gelu64, (g, n) => randn(g, n, 4));
  });

  it("GELU(approximate='tanh')", () => {
    checkLayer(new GELU({ approximate: 'tanh' }), [11], 3, geluTanh64, (g, n) => randn(g, n, 4));
  });

  it('the two GELUs differ (by less than 1e-3 on [-4, 4])', () => {
    const x = Float32Array.from({ length: 81 }, (_, i) => -4 + i * 0.1);
    const a = runLayer(new GELU(), [81], 1, x, new Float32Array(81)).y;
    const b = runLayer(new GELU({ approximate: 'tanh' }), [81], 1, x, new Float32Array(81)).y;
    const diff = a.map((v, i) => Math.abs(v - b[i]));
    expect(Math.max(...diff)).toBeGreaterThan(1e-5);
    expect(Math.max(...diff)).toBeLessThan(1e-3);
  });
});

describe('reprs and validation', () => {
  it('toString as PyTorch repr', () => {
    expect(String(new Sigmoid())).toBe('Sigmoid()');
    expect(String(new Tanh())).toBe('Tanh()');
    expect(String(new LeakyReLU())).toBe('LeakyReLU(negative_slope=0.01)');
    expect(String(new LeakyReLU(0.2))).toBe('LeakyReLU(negative_slope=0.2)');
    expect(String(new LeakyReLU(1))).toBe('LeakyReLU(negative_slope=1.0)');
    expect(String(new LeakyReLU(1e-5))).toBe('LeakyReLU(negative_slope=1e-05)');
    expect(String(new GELU())).toBe("GELU(approximate='none')");
    expect(String(new GELU({ approximate: 'tanh' }))).toBe("GELU(approximate='tanh')");
    expect(String(new Dropout())).toBe('Dropout(p=0.5, inplace=False)');
    expect(String(new Dropout(0.1))).toBe('Dropout(p=0.1, inplace=False)');
    expect(String(new Dropout(0))).toBe('Dropout(p=0.0, inplace=False)');
  });

  it('output shape is the input shape', () => {
    for (const l of [new Sigmoid(), new Tanh(), new LeakyReLU(), new GELU(), new Dropout()]) {
      expect(l.outputShape([3, 4, 5])).toEqual([3, 4, 5]);
      expect(l.params).toEqual([]);
    }
  });

  it('LeakyReLU: negativeSlope must be finite', () => {
    for (const bad of [NaN, Infinity, -Infinity, '0.1', null]) {
      expect(() => new LeakyReLU(bad as number)).toThrow(ConfigError);
    }
    expect(() => new LeakyReLU(NaN)).toThrow(/negativeSlope.*NaN/);
    expect(new LeakyReLU(-0.5).negativeSlope).toBe(-0.5); // PyTorch accepts any finite slope
  });

  it("GELU: approximate must be 'none' or 'tanh'", () => {
    expect(() => new GELU({ approximate: 'fast' as 'tanh' })).toThrow(ConfigError);
    expect(() => new GELU({ approximate: 'fast' as 'tanh' })).toThrow(/approximate.*'fast'/);
    expect(() => new GELU({ approximate: true as unknown as 'tanh' })).toThrow(ConfigError);
  });

  it('Dropout: p outside [0, 1) is a ConfigError naming p', () => {
    for (const bad of [1, -0.1, 1.5, NaN, Infinity, '0.5', null]) {
      expect(() => new Dropout(bad as number)).toThrow(ConfigError);
      expect(() => new Dropout(bad as number)).toThrow(/p must be a number in \[0, 1\)/);
    }
    expect(() => new Dropout(1)).toThrow(/got 1/);
    expect(() => new Dropout(0.5, { generator: {} as Generator })).toThrow(ConfigError);
    expect(new Dropout(0.999).p).toBe(0.999);
  });
});

/** The mask the kernel makes from `seed`: the same xoshiro128** stream as new Generator(seed). */
function referenceMask(seed: number, n: number, p: number): Float32Array {
  const g = new Generator(seed);
  const threshold = Math.ceil(p * 2 ** 24), scale = Math.fround(1 / (1 - p));
  return Float32Array.from({ length: n }, () => ((g.nextUint32() >>> 8) < threshold ? 0 : scale));
}

describe('Dropout', () => {
  it('the kernel mask is the Generator(seed) stream thresholded: same on every runtime', () => {
    const n = 1001;
    const px = rt.heap.alloc(n * 4, 'x'), py = rt.heap.alloc(n * 4, 'y'), pm = rt.heap.alloc(n * 4, 'mask');
    try {
      for (const [seed, p] of [[0, 0.5], [1, 0.1], [0xdeadbeef, 0.9], [123456789, 0.3]]) {
        rt.heap.f32.fill(1, px >>> 2, (px >>> 2) + n);
        rt.kernels.dropout_f32_fwd(px, py, pm, n, p, seed);
        const mask = rt.heap.f32.slice(pm >>> 2, (pm >>> 2) + n);
        expect(Array.from(mask), `seed ${seed}, p ${p}`).toEqual(Array.from(referenceMask(seed, n, p)));
      }
    } finally {
      for (const p of [px, py, pm]) rt.heap.release(p);
    }
  });

  it('training: a fraction p is zeroed, the rest scaled by 1/(1-p); each forward draws a new mask from its generator', () => {
    const batch = 50, inShape = [400], n = batch * 400;
    for (const p of [0.1, 0.5, 0.8]) {
      const gen = new Generator(11);
      const seed = new Generator(11).nextUint32(); // what the layer will draw
      const layer = new Dropout(p, { generator: gen });
      expect(layer.workspace(inShape)).toBe(400);
      const x = Float32Array.from(randn(new Generator(2), n, 3)).map((v) => (v === 0 ? 1 : v));
      const dy = Float32Array.from(randn(new Generator(3), n));
      const { y, dx, mask } = runLayer(layer, inShape, batch, x, dy);
      expect(Array.from(mask!)).toEqual(Array.from(referenceMask(seed, n, p)));
      const scale = Math.fround(1 / (1 - p));
      let zeros = 0;
      for (let i = 0; i < n; i++) {
        if (y[i] === 0) {
          zeros++;
          expect(dx[i] === 0, `dx[${i}] where dropped`).toBe(true); // +-0: dy * 0 keeps dy's sign, as PyTorch
        } else {
          expect(y[i]).toBe(Math.fround(x[i] * scale));
          // dx = dy * mask, the mask read back from the forward as y / x
          expect(dx[i]).toBe(Math.fround(dy[i] * scale));
        }
      }
      expect(Math.abs(zeros - n * p)).toBeLessThan(6 * Math.sqrt(n * p * (1 - p)));
      // a second forward draws the generator's next seed: another mask
      const second = runLayer(layer, inShape, batch, x, dy);
      expect(Array.from(second.mask!)).not.toEqual(Array.from(mask!));
    }
  });

  it('eval: the identity forward and backward; p = 0 is the identity in training too', () => {
    const x = Float32Array.from(randn(new Generator(4), 3 * 7));
    const dy = Float32Array.from(randn(new Generator(5), 3 * 7));
    const gen = new Generator(1);
    const evalRun = runLayer(new Dropout(0.5, { generator: gen }), [7], 3, x, dy, false);
    expect(evalRun.y).toEqual(x);
    expect(evalRun.dx).toEqual(dy);
    expect(gen.nextUint32()).toBe(new Generator(1).nextUint32()); // eval draws nothing
    const p0 = new Dropout(0);
    expect(p0.workspace([7])).toBe(0);
    const p0Run = runLayer(p0, [7], 3, x, dy, true);
    expect(p0Run.y).toEqual(x);
    expect(p0Run.dx).toEqual(dy);
  });

  it('model.train() / model.eval() switch it; predict always runs in eval mode', () => {
    manualSeed(0);
    const model = new Sequential([new Linear(8, 64), new Dropout(0.5)]);
    const x = new Tensor(Float32Array.from(randn(new Generator(6), 4 * 8)), [4, 8]);
    expect(model.training).toBe(true);
    const train = model.forward(x).data;
    model.eval();
    const plain = model.forward(x).data;
    expect(plain.every((v) => v !== 0)).toBe(true);
    let zeros = 0;
    train.forEach((v, i) => {
      if (v === 0) zeros++;
      else expect(v).toBe(Math.fround(plain[i] * 2));
    });
    expect(zeros).toBeGreaterThan(64);
    expect(zeros).toBeLessThan(192);
    expect(model.forward(x).data).toEqual(plain);
    model.train();
    expect(model.forward(x).data.some((v) => v === 0)).toBe(true);
    expect(model.predict(x).data).toEqual(plain);
    model.dispose();
  });

  it('manualSeed(s) then two identical models give identical outputs; another seed gives others', () => {
    const x = new Tensor(Float32Array.from(randn(new Generator(8), 16 * 10)), [16, 10]);
    const run = (seed: number) => {
      manualSeed(seed);
      const model = new Sequential([new Linear(10, 20), new ReLU(), new Dropout(0.3), new Linear(20, 5), new Dropout(0.5)]);
      const outs = [model.forward(x).data, model.forward(x).data];
      model.dispose();
      return outs;
    };
    const a = run(42), b = run(42), c = run(43);
    expect(a[0]).toEqual(b[0]);
    expect(a[1]).toEqual(b[1]);
    expect(a[1]).not.toEqual(a[0]); // a fresh mask per forward
    expect(c[0]).not.toEqual(a[0]);
  });

  it('the generator option makes masks independent of the default generator', () => {
    const x = new Tensor(new Float32Array(200).fill(1), [2, 100]);
    const outs = [0, 1].map((k) => {
      manualSeed(k); // differs between the two runs; the layer does not use it
      const model = new Sequential([new Dropout(0.5, { generator: new Generator(9) })], { inputShape: [100] });
      const before = defaultGenerator.nextUint32();
      manualSeed(k);
      const y = model.forward(x).data;
      expect(defaultGenerator.nextUint32()).toBe(before); // not advanced by the layer
      model.dispose();
      return y;
    });
    expect(outs[0]).toEqual(outs[1]);
  });

  it('backward in a model: parameter gradients match finite differences of the loss with the mask held fixed', () => {
    const gen = new Generator(5);
    const dropGen = new Generator(77);
    const seed = new Generator(77).nextUint32();
    const l1 = new Linear(5, 6, { generator: gen }), l2 = new Linear(6, 3, { generator: gen });
    const model = new Sequential([l1, new Dropout(0.4, { generator: dropGen }), l2, new LogSoftmax(1)]);
    const batch = 4;
    const x = Float32Array.from(randn(gen, batch * 5, 2));
    const labels = Int32Array.from({ length: batch }, () => gen.randint(3));
    const lossFn = new NLLLoss();
    lossFn.forward(model.forward(new Tensor(x, [batch, 5])), labels);
    model.zeroGrad();
    model.backward(lossFn.backward());
    const mask = referenceMask(seed, batch * 6, 0.4);
    expect(mask.some((m) => m === 0) && mask.some((m) => m !== 0)).toBe(true);
    const params = [l1.weight, l1.bias!, l2.weight, l2.bias!];
    const p64 = params.map((p) => Float64Array.from(p.data));
    const loss64 = () => {
      let total = 0;
      for (let r = 0; r < batch; r++) {
        const h = new Float64Array(6);
        for (let o = 0; o < 6; o++) {
          let s = p64[1][o];
          for (let i = 0; i < 5; i++) s += x[r * 5 + i] * p64[0][o * 5 + i];
          h[o] = s * mask[r * 6 + o];
        }
        const z = new Float64Array(3);
        for (let o = 0; o < 3; o++) {
          let s = p64[3][o];
          for (let i = 0; i < 6; i++) s += h[i] * p64[2][o * 6 + i];
          z[o] = s;
        }
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0));
        total -= z[labels[r]] - lse;
      }
      return total / batch;
    };
    params.forEach((p, k) => expectClose(p.grad!, numericGrad(loss64, p64[k]), `model parameter ${k} (${p.name})`));
    // weights into dropped units get no gradient at all
    for (let j = 0; j < 6; j++) {
      if (mask.filter((_, i) => i % 6 === j).every((m) => m === 0)) {
        for (let i = 0; i < 5; i++) expect(l1.weight.grad![j * 5 + i]).toBe(0);
      }
    }
    model.dispose();
  });
});

describe('training with the new layers', () => {
  /** Inputs whose class is the argmax of a fixed random linear map: learnable by a small MLP. */
  function separable(n: number, d: number, classes: number, seed: number) {
    const g = new Generator(seed);
    const w = randn(g, d * classes);
    const x = Float32Array.from(randn(g, n * d, 1));
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let best = -Infinity;
      for (let c = 0; c < classes; c++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += x[r * d + i] * w[c * d + i];
        if (s > best) { best = s; y[r] = c; }
      }
    }
    return { x, y };
  }

  it('a Sequential with Dropout trains with fit, and memory does not grow after the first step', async () => {
    manualSeed(1);
    const model = new Sequential([
      new Linear(20, 64), new ReLU(), new Dropout(0.2), new Linear(64, 4), new LogSoftmax(1),
    ]);
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.1, momentum: 0.9 }) });
    const { x, y } = separable(1200, 20, 4, 3);
    const before = model.evaluate(x, y);
    let steps = 0, bytesAfterFirst = -1, allocatedAfterFirst = -1, growsAfterFirst = -1;
    const history = await model.fit(x, y, {
      epochs: 8, batchSize: 32,
      callbacks: [{
        onBatchEnd() {
          if (++steps === 1) {
            bytesAfterFirst = rt.kernels.memory.buffer.byteLength;
            allocatedAfterFirst = rt.heap.allocatedBytes;
            growsAfterFirst = rt.heap.growCount;
          }
        },
      }],
    });
    expect(steps).toBe(8 * Math.ceil(1200 / 32));
    expect(rt.kernels.memory.buffer.byteLength).toBe(bytesAfterFirst);
    expect(rt.heap.allocatedBytes).toBe(allocatedAfterFirst);
    expect(rt.heap.growCount).toBe(growsAfterFirst);
    const after = model.evaluate(x, y);
    expect(after.loss).toBeLessThan(before.loss * 0.5);
    expect(after.accuracy).toBeGreaterThan(0.85);
    // fit leaves the model in training mode; evaluate ran in eval mode (no dropout)
    expect(model.evaluate(x, y)).toEqual(after);
    expect(history.history.loss.length).toBe(8);
    model.dispose();
  });

  it('Sigmoid, Tanh, LeakyReLU and GELU networks learn the same task', async () => {
    const { x, y } = separable(600, 10, 3, 4);
    for (const make of [() => new Sigmoid(), () => new Tanh(), () => new LeakyReLU(0.1), () => new GELU(), () => new GELU({ approximate: 'tanh' })]) {
      manualSeed(2);
      const act = make();
      const model = new Sequential([new Linear(10, 32), act, new Linear(32, 3), new LogSoftmax(1)]);
      model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.1, momentum: 0.9 }) });
      const before = model.evaluate(x, y);
      await model.fit(x, y, { epochs: 6, batchSize: 32 });
      const after = model.evaluate(x, y);
      expect(after.loss, `${act}`).toBeLessThan(before.loss * 0.6);
      expect(after.accuracy, `${act}`).toBeGreaterThan(0.8);
      model.dispose();
    }
  });
});

describe('wasm build', () => {
  it('leaky ReLU and the dropout multiplies compile to SIMD', () => {
    const wat = readFileSync(new URL('../build/simdnet.wat', import.meta.url), 'utf8');
    const fn = (name: string) => {
      const start = wat.indexOf(`(func $assembly/activations/${name} `);
      expect(start, name).toBeGreaterThanOrEqual(0);
      const next = wat.indexOf('\n (func ', start + 1);
      return wat.slice(start, next < 0 ? undefined : next);
    };
    expect(fn('leaky_relu_f32_fwd')).toContain('v128.bitselect');
    expect(fn('leaky_relu_f32_bwd')).toContain('f32x4.gt');
    expect(fn('dropout_f32_bwd')).toContain('f32x4.mul');
    expect(fn('sigmoid_f32_bwd')).toContain('f32x4.mul');
  });
});
