// Adam, AdamW, RMSprop and the learning-rate schedulers, from the TypeScript API.
//
// Optimizers: a small Sequential whose gradients are written by hand each step (so no loss or
// backward pass is involved), 12 steps, against a plain float64 reimplementation of PyTorch 1.13's
// _single_tensor_adam / _single_tensor_adamw / _single_tensor_rmsprop written out below. The
// kernels compute in float32, so the comparison allows 1e-5 relative error per element, measured
// against max(|want|, a tenth of the tensor's largest magnitude) so that elements passing near
// zero are not held to a relative bound that float32 rounding of their larger neighbours'
// arithmetic cannot meet.
// Schedulers: value sequences against PyTorch's, computed with Python floats by the arithmetic of
// torch/optim/lr_scheduler.py (1.13), line for line; compared exactly (bit for bit).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, Sequential, Linear, ReLU, LogSoftmax, NLLLoss, Generator, SGD, Adam, AdamW, RMSprop, Optimizer,
  StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau, ConfigError, NumericError, StateError,
  InputError, type AdamOptions, type RMSpropOptions, type Callback, type EpochLogs,
} from '../bindings/index.js';
import { cos as roundedCos } from '../bindings/optim/schedulers.js';
import { courseMlp, randomData } from './helpers/mlp.js';

beforeAll(async () => { await init(); });

const STEPS = 12;

/** Linear(7, 5) -> ReLU -> Linear(5, 3): four parameters, none a multiple of the slab's 16-float alignment. */
function smallModel(seed = 3): Sequential {
  const g = new Generator(seed);
  const model = new Sequential([new Linear(7, 5), new ReLU(), new Linear(5, 3)]);
  // deterministic weights of mixed sign and magnitude
  for (const p of model.parameters().params) p.set(g.uniform(new Float32Array(p.size), -1, 1));
  return model;
}

/** Fresh gradients for every parameter, one list per step (float32 values, as the slab holds). */
function gradientSequence(model: Sequential, steps: number, seed = 11): Float32Array[][] {
  const g = new Generator(seed);
  const out: Float32Array[][] = [];
  for (let s = 0; s < steps; s++) {
    out.push(model.parameters().params.map((p) => {
      const scale = s % 3 === 2 ? 0.05 : 1; // some small steps, so the moments do not only grow
      return g.uniform(new Float32Array(p.size), -scale, scale);
    }));
  }
  return out;
}

function writeGrads(model: Sequential, grads: Float32Array[]): void {
  model.parameters().params.forEach((p, i) => p.grad!.set(grads[i]));
}

function weights(model: Sequential): Float64Array[] {
  return model.parameters().params.map((p) => Float64Array.from(p.data));
}

/** The part of a slab-layout state buffer that belongs to each parameter. */
function perParam(model: Sequential, slab: Float32Array): Float32Array[] {
  const set = model.parameters();
  return set.params.map((p) => slab.subarray((p.ptr - set.ptr) >>> 2, ((p.ptr - set.ptr) >>> 2) + p.size));
}

/** Largest error relative to max(|want_i|, max_j |want_j| / 10); the caller compares it with 1e-5. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const denom = Math.max(Math.abs(want[i]), scale / 10, 1e-30);
    const e = Math.abs(got[i] - want[i]) / denom;
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

function expectClose(what: string, got: ArrayLike<number>[], want: ArrayLike<number>[], rel = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(g.length, `${what}[${i}] length`).toBe(want[i].length);
    expect(relError(g, want[i]), `${what}[${i}]: max relative error`).toBeLessThanOrEqual(rel);
  });
}

// ---------------------------------------------------------------------------------------------
// Float64 references, one tensor at a time, as torch's _single_tensor_* functions

interface AdamRefOptions { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean; decoupled: boolean }

class AdamRef {
  t = 0;
  readonly m: Float64Array[];
  readonly v: Float64Array[];
  readonly vmax: Float64Array[];
  constructor(readonly p: Float64Array[], readonly o: AdamRefOptions) {
    this.m = p.map((x) => new Float64Array(x.length));
    this.v = p.map((x) => new Float64Array(x.length));
    this.vmax = p.map((x) => new Float64Array(x.length));
  }

  step(grads: ArrayLike<number>[], lr = this.o.lr): void {
    const [beta1, beta2] = this.o.betas;
    const { eps, weightDecay, amsgrad, decoupled } = this.o;
    this.t += 1;
    const biasCorrection1 = 1 - beta1 ** this.t;
    const biasCorrection2 = 1 - beta2 ** this.t;
    const stepSize = lr / biasCorrection1;
    const bc2Sqrt = Math.sqrt(biasCorrection2);
    this.p.forEach((param, k) => {
      const m = this.m[k], v = this.v[k], vmax = this.vmax[k];
      for (let i = 0; i < param.length; i++) {
        let grad = grads[k][i];
        if (decoupled) param[i] *= 1 - lr * weightDecay;          // adamw: param.mul_(1 - lr * weight_decay)
        else if (weightDecay !== 0) grad = grad + weightDecay * param[i]; // adam: grad.add(param, alpha=wd)
        m[i] = m[i] * beta1 + (1 - beta1) * grad;
        v[i] = v[i] * beta2 + (1 - beta2) * grad * grad;
        let denom: number;
        if (amsgrad) {
          vmax[i] = Math.max(vmax[i], v[i]);
          denom = Math.sqrt(vmax[i]) / bc2Sqrt + eps;
        } else {
          denom = Math.sqrt(v[i]) / bc2Sqrt + eps;
        }
        param[i] += -stepSize * (m[i] / denom);
      }
    });
  }
}

interface RmspropRefOptions { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean }

class RmspropRef {
  readonly sq: Float64Array[];
  readonly ga: Float64Array[];
  readonly buf: Float64Array[];
  constructor(readonly p: Float64Array[], readonly o: RmspropRefOptions) {
    this.sq = p.map((x) => new Float64Array(x.length));
    this.ga = p.map((x) => new Float64Array(x.length));
    this.buf = p.map((x) => new Float64Array(x.length));
  }

  step(grads: ArrayLike<number>[], lr = this.o.lr): void {
    const { alpha, eps, weightDecay, momentum, centered } = this.o;
    this.p.forEach((param, k) => {
      const sq = this.sq[k], ga = this.ga[k], buf = this.buf[k];
      for (let i = 0; i < param.length; i++) {
        let grad = grads[k][i];
        if (weightDecay !== 0) grad = grad + weightDecay * param[i];
        sq[i] = sq[i] * alpha + (1 - alpha) * grad * grad;
        let avg: number;
        if (centered) {
          ga[i] = ga[i] * alpha + (1 - alpha) * grad;
          avg = Math.sqrt(sq[i] - ga[i] * ga[i]);
        } else {
          avg = Math.sqrt(sq[i]);
        }
        avg += eps;
        if (momentum > 0) {
          buf[i] = buf[i] * momentum + grad / avg;
          param[i] += -lr * buf[i];
        } else {
          param[i] += -lr * (grad / avg);
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------

const ADAM_CASES: { name: string; make: 'Adam' | 'AdamW'; options: AdamOptions }[] = [
  { name: 'Adam defaults', make: 'Adam', options: {} },
  { name: 'Adam lr 1e-2, weight decay 0.1', make: 'Adam', options: { lr: 1e-2, weightDecay: 0.1 } },
  { name: 'Adam amsgrad', make: 'Adam', options: { lr: 1e-2, amsgrad: true } },
  { name: 'Adam amsgrad, weight decay 0.1, betas (0.8, 0.9), eps 1e-3', make: 'Adam',
    options: { lr: 1e-2, amsgrad: true, weightDecay: 0.1, betas: [0.8, 0.9], eps: 1e-3 } },
  { name: 'AdamW defaults (weight decay 1e-2)', make: 'AdamW', options: {} },
  { name: 'AdamW lr 1e-2, weight decay 0.5', make: 'AdamW', options: { lr: 1e-2, weightDecay: 0.5 } },
  { name: 'AdamW amsgrad, weight decay 0', make: 'AdamW', options: { lr: 1e-2, amsgrad: true, weightDecay: 0 } },
  { name: 'AdamW amsgrad, weight decay 0.1, betas (0.5, 0.6)', make: 'AdamW',
    options: { lr: 1e-2, amsgrad: true, weightDecay: 0.1, betas: [0.5, 0.6] } },
];

function adamRefOptions(make: 'Adam' | 'AdamW', o: AdamOptions): AdamRefOptions {
  return {
    lr: o.lr ?? 1e-3, betas: [...(o.betas ?? [0.9, 0.999])] as [number, number], eps: o.eps ?? 1e-8,
    weightDecay: o.weightDecay ?? (make === 'AdamW' ? 1e-2 : 0), amsgrad: o.amsgrad ?? false, decoupled: make === 'AdamW',
  };
}

describe('Adam and AdamW against a float64 reimplementation of torch.optim (1.13)', () => {
  for (const c of ADAM_CASES) {
    it(`${c.name}: 12 steps, weights and moments`, () => {
      const model = smallModel();
      const opt = c.make === 'Adam' ? new Adam(model, c.options) : new AdamW(model, c.options);
      const ref = new AdamRef(weights(model), adamRefOptions(c.make, c.options));
      const grads = gradientSequence(model, STEPS);
      for (const g of grads) {
        writeGrads(model, g);
        opt.step();
        ref.step(g);
      }
      expect(opt.stepCount).toBe(STEPS);
      expectClose('weights', weights(model), ref.p);
      const state = opt.state();
      expectClose('exp_avg', perParam(model, state.exp_avg), ref.m);
      expectClose('exp_avg_sq', perParam(model, state.exp_avg_sq), ref.v);
      if (c.options.amsgrad) expectClose('max_exp_avg_sq', perParam(model, state.max_exp_avg_sq), ref.vmax);
      else expect(state.max_exp_avg_sq).toBeUndefined();
      opt.dispose();
    });
  }

  it('reads lr at every step (a scheduler changes it), in the step size and in AdamW\'s decay', () => {
    for (const make of ['Adam', 'AdamW'] as const) {
      const model = smallModel();
      const options: AdamOptions = { lr: 0.01, weightDecay: 0.2 };
      const opt = make === 'Adam' ? new Adam(model, options) : new AdamW(model, options);
      const ref = new AdamRef(weights(model), adamRefOptions(make, options));
      gradientSequence(model, STEPS).forEach((g, s) => {
        const lr = 0.01 * 0.7 ** s;
        opt.lr = lr;
        writeGrads(model, g);
        opt.step();
        ref.step(g, lr);
      });
      expectClose(`${make} weights`, weights(model), ref.p);
    }
  });

  it('zero-initialised state, allocated once and returned by dispose()', () => {
    const model = smallModel();
    const heap = model.parameters().rt.heap;
    const before = heap.allocatedBytes;
    const opt = new Adam(model, { amsgrad: true });
    const slabBytes = Math.ceil(model.parameters().size * 4 / 64) * 64;
    expect(heap.allocatedBytes - before).toBe(3 * slabBytes);
    for (const buf of Object.values(opt.state())) expect(buf.every((x) => x === 0)).toBe(true);
    const grows = heap.growCount;
    const grads = gradientSequence(model, 3);
    for (let s = 0; s < 60; s++) { writeGrads(model, grads[s % 3]); opt.step(); }
    expect(heap.growCount).toBe(grows);
    expect(heap.allocatedBytes - before).toBe(3 * slabBytes);
    opt.dispose();
    expect(heap.allocatedBytes).toBe(before);
    opt.dispose(); // twice is harmless
    expect(() => opt.step()).toThrow(StateError);
    expect(() => opt.state()).toThrow(/after dispose/);
  });
});

const RMSPROP_CASES: { name: string; options: RMSpropOptions }[] = [
  { name: 'defaults', options: {} },
  { name: 'weight decay 0.1', options: { weightDecay: 0.1 } },
  { name: 'momentum 0.9', options: { momentum: 0.9 } },
  { name: 'momentum 0.9, weight decay 0.1', options: { momentum: 0.9, weightDecay: 0.1 } },
  { name: 'centered', options: { centered: true } },
  { name: 'centered, weight decay 0.1', options: { centered: true, weightDecay: 0.1 } },
  { name: 'centered, momentum 0.9', options: { centered: true, momentum: 0.9 } },
  { name: 'centered, momentum 0.5, weight decay 0.1, alpha 0.9, eps 1e-3, lr 1e-3',
    options: { centered: true, momentum: 0.5, weightDecay: 0.1, alpha: 0.9, eps: 1e-3, lr: 1e-3 } },
];

describe('RMSprop against a float64 reimplementation of torch.optim.RMSprop (1.13)', () => {
  for (const c of RMSPROP_CASES) {
    it(`${c.name}: 12 steps, weights and state`, () => {
      const model = smallModel();
      const opt = new RMSprop(model, c.options);
      const o = c.options;
      const ref = new RmspropRef(weights(model), {
        lr: o.lr ?? 1e-2, alpha: o.alpha ?? 0.99, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0,
        momentum: o.momentum ?? 0, centered: o.centered ?? false,
      });
      for (const g of gradientSequence(model, STEPS)) {
        writeGrads(model, g);
        opt.step();
        ref.step(g);
      }
      expectClose('weights', weights(model), ref.p);
      const state = opt.state();
      expectClose('square_avg', perParam(model, state.square_avg), ref.sq);
      if (o.centered) expectClose('grad_avg', perParam(model, state.grad_avg), ref.ga);
      else expect(state.grad_avg).toBeUndefined();
      if (o.momentum) expectClose('momentum_buffer', perParam(model, state.momentum_buffer), ref.buf);
      else expect(state.momentum_buffer).toBeUndefined();
      opt.dispose();
    });
  }

  it('allocates only the state its options use, and returns it on dispose()', () => {
    const model = smallModel();
    const heap = model.parameters().rt.heap;
    const before = heap.allocatedBytes;
    const slabBytes = Math.ceil(model.parameters().size * 4 / 64) * 64;
    for (const [options, buffers] of [[{}, 1], [{ centered: true }, 2], [{ momentum: 0.5 }, 2], [{ centered: true, momentum: 0.5 }, 3]] as const) {
      const opt = new RMSprop(model, options);
      expect(heap.allocatedBytes - before, JSON.stringify(options)).toBe(buffers * slabBytes);
      opt.dispose();
      expect(heap.allocatedBytes).toBe(before);
      expect(() => opt.step()).toThrow(StateError);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('decaying state is flushed to zero below 2^-126 (x86 runs subnormals in microcode; wasm cannot set FTZ)', () => {
  const FLT_MIN = 2 ** -126;
  const subnormals = (o: Optimizer) => o.exportState().params
    .flatMap((entry) => Object.values(entry).flatMap((t) => Array.from(t))).filter((v) => v !== 0 && Math.abs(v) < FLT_MIN).length;
  const cases: [string, (m: Sequential) => Optimizer, number][] = [
    ['SGD momentum 0.9', (m) => new SGD(m, { lr: 0.01, momentum: 0.9 }), 1000],
    ['Adam', (m) => new Adam(m, { lr: 1e-3 }), 1000],
    ['AdamW amsgrad', (m) => new AdamW(m, { lr: 1e-3, amsgrad: true }), 1000],
    ['RMSprop centered, momentum', (m) => new RMSprop(m, { lr: 1e-3, centered: true, momentum: 0.5 }), 1000],
  ];
  for (const [name, make, steps] of cases) {
    it(`${name}: after a gradient then ${steps} zero ones, no state is subnormal; the weights stay finite`, () => {
      const model = smallModel();
      const opt = make(model);
      const params = model.parameters().params;
      params.forEach((p) => p.grad!.set(new Float32Array(p.size).fill(1e-3)));
      opt.step();
      let seen = 0;
      for (let s = 0; s < steps; s++) {
        params.forEach((p) => p.grad!.fill(0));
        opt.step();
        seen = Math.max(seen, subnormals(opt));
      }
      expect(seen, 'subnormal state entries seen after any step').toBe(0);
      // the state did decay through the range: exp_avg (or the momentum buffer) reached exactly zero
      const state = opt.exportState().params[0];
      const decaying = state.exp_avg ?? state.momentum_buffer ?? state.square_avg;
      expect(Array.from(decaying).every((v) => v === 0)).toBe(true);
      for (const p of params) expect(Array.from(p.data).every(Number.isFinite)).toBe(true);
      model.dispose();
    });
  }
});

describe('hyperparameter errors are ConfigErrors that name the option and the value', () => {
  let model: Sequential;
  beforeAll(() => { model = smallModel(); });
  const cases: [string, () => unknown, RegExp][] = [
    ['Adam lr 0', () => new Adam(model, { lr: 0 }), /Adam: lr must be a positive number, got 0/],
    ['Adam lr -1e-3', () => new Adam(model, { lr: -1e-3 }), /lr must be a positive number, got -0.001/],
    ['Adam lr NaN', () => new Adam(model, { lr: NaN }), /lr .*got NaN/],
    ['Adam lr Infinity', () => new Adam(model, { lr: Infinity }), /lr .*got Infinity/],
    ['Adam beta1 1', () => new Adam(model, { betas: [1, 0.999] }), /Adam: betas\[0\] must be in \[0, 1\), got 1/],
    ['Adam beta1 -0.1', () => new Adam(model, { betas: [-0.1, 0.999] }), /betas\[0\] .*got -0.1/],
    ['Adam beta2 1.5', () => new Adam(model, { betas: [0.9, 1.5] }), /betas\[1\] must be in \[0, 1\), got 1.5/],
    ['Adam betas not a pair', () => new Adam(model, { betas: [0.9] as unknown as [number, number] }), /betas must be a pair/],
    ['Adam eps -1e-8', () => new Adam(model, { eps: -1e-8 }), /Adam: eps must be >= 0, got -1e-8/],
    ['Adam weightDecay -0.1', () => new Adam(model, { weightDecay: -0.1 }), /Adam: weightDecay must be >= 0, got -0.1/],
    ['Adam amsgrad "yes"', () => new Adam(model, { amsgrad: 'yes' as unknown as boolean }), /amsgrad must be true or false, got 'yes'/],
    ['Adam unknown option', () => new Adam(model, { learningRate: 0.1 } as AdamOptions), /unknown option 'learningRate'/],
    ['AdamW lr 0', () => new AdamW(model, { lr: 0 }), /AdamW: lr must be a positive number, got 0/],
    ['AdamW beta2 1', () => new AdamW(model, { betas: [0.9, 1] }), /AdamW: betas\[1\] .*got 1/],
    ['AdamW weightDecay -1', () => new AdamW(model, { weightDecay: -1 }), /AdamW: weightDecay must be >= 0, got -1/],
    ['AdamW eps -1', () => new AdamW(model, { eps: -1 }), /AdamW: eps .*got -1/],
    ['RMSprop lr 0', () => new RMSprop(model, { lr: 0 }), /RMSprop: lr must be a positive number, got 0/],
    ['RMSprop alpha 1', () => new RMSprop(model, { alpha: 1 }), /RMSprop: alpha must be in \[0, 1\), got 1/],
    ['RMSprop alpha -0.5', () => new RMSprop(model, { alpha: -0.5 }), /alpha .*got -0.5/],
    ['RMSprop eps -1e-8', () => new RMSprop(model, { eps: -1e-8 }), /RMSprop: eps must be >= 0, got -1e-8/],
    ['RMSprop weightDecay -0.01', () => new RMSprop(model, { weightDecay: -0.01 }), /weightDecay must be >= 0, got -0.01/],
    ['RMSprop momentum -0.9', () => new RMSprop(model, { momentum: -0.9 }), /momentum must be >= 0, got -0.9/],
    ['RMSprop centered 1', () => new RMSprop(model, { centered: 1 as unknown as boolean }), /centered must be true or false, got 1/],
    ['RMSprop options not an object', () => new RMSprop(model, 0.01 as unknown as RMSpropOptions), /options must be an object, got 0.01/],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      const heap = model.parameters().rt.heap;
      const before = heap.allocatedBytes;
      let error: unknown = null;
      try { make(); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect(heap.allocatedBytes, 'nothing allocated').toBe(before);
    });
  }
});

describe('disposal: an optimizer never touches freed memory', () => {
  const makers: [string, (m: Sequential) => Optimizer][] = [
    ['SGD momentum', (m) => new SGD(m, { lr: 0.1, momentum: 0.9 })],
    ['SGD', (m) => new SGD(m, { lr: 0.1 })],
    ['Adam', (m) => new Adam(m)],
    ['AdamW', (m) => new AdamW(m)],
    ['RMSprop', (m) => new RMSprop(m, { momentum: 0.9 })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: step() after its own dispose() is a StateError and the weights stay`, () => {
      const model = smallModel();
      const opt = make(model);
      writeGrads(model, gradientSequence(model, 1)[0]);
      opt.step();
      const before = weights(model);
      opt.dispose();
      expect(() => opt.step()).toThrow(StateError);
      expect(() => opt.step()).toThrow(new RegExp(`^${name.split(' ')[0]}: used after dispose\\(\\)$`));
      expect(weights(model)).toEqual(before);
    });
  }

  it('step() after the model was disposed is a StateError', () => {
    const model = smallModel();
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
    model.dispose();
    expect(() => opt.step()).toThrow(/SGD: its model was disposed/);
  });
});

describe('a NaN or Infinity gradient is refused: weights and optimizer state unchanged', () => {
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
  const makers: [string, (m: Sequential) => Optimizer & { state(): Record<string, Float32Array> }, (w: Float64Array[]) => { step(g: ArrayLike<number>[]): void; p: Float64Array[] }][] = [
    ['Adam amsgrad', (m) => new Adam(m, { lr: 1e-2, amsgrad: true, weightDecay: 0.1 }),
      (w) => new AdamRef(w, adamRefOptions('Adam', { lr: 1e-2, amsgrad: true, weightDecay: 0.1 }))],
    ['AdamW', (m) => new AdamW(m, { lr: 1e-2 }), (w) => new AdamRef(w, adamRefOptions('AdamW', { lr: 1e-2 }))],
    ['RMSprop centered momentum', (m) => new RMSprop(m, { centered: true, momentum: 0.9 }),
      (w) => new RmspropRef(w, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0.9, centered: true })],
  ];
  for (const [name, make, makeRef] of makers) {
    it(name, () => {
      const model = smallModel();
      const opt = make(model);
      const ref = makeRef(weights(model));
      const grads = gradientSequence(model, 6);
      for (const g of grads.slice(0, 3)) { writeGrads(model, g); opt.step(); ref.step(g); }
      const w = model.parameters().params.map((p) => bits(p.data));
      const st = Object.fromEntries(Object.entries(opt.state()).map(([k, v]) => [k, bits(v)]));
      for (const bad of [NaN, Infinity, -Infinity]) {
        const g = grads[3].map((x) => x.slice());
        g[2][1] = bad; // the second layer's weight
        writeGrads(model, g);
        expect(() => opt.step()).toThrow(NumericError);
        expect(() => opt.step()).toThrow(/gradient of parameter 'weight' contains NaN or Infinity; the step was not applied/);
        expect(model.parameters().params.map((p) => bits(p.data))).toEqual(w);
        expect(Object.fromEntries(Object.entries(opt.state()).map(([k, v]) => [k, bits(v)]))).toEqual(st);
        expect(opt.stepCount).toBe(3);
      }
      // the refused steps did not count: training goes on exactly as if they never happened
      for (const g of grads.slice(3)) { writeGrads(model, g); opt.step(); ref.step(g); }
      expectClose('weights after the refused steps', weights(model), ref.p);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Schedulers. The expected values are PyTorch's: Python floats through the arithmetic of
// torch/optim/lr_scheduler.py (1.13) — StepLR / ExponentialLR / CosineAnnealingLR get_lr (the
// chainable form) and ReduceLROnPlateau.step / _reduce_lr / is_better — for 20 steps each.

const PY = {
  step5: [0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
    0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
    0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003,
    0.00010000000000000003, 0.00010000000000000003, 1.0000000000000004e-05],
  step3Half: [0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625, 0.00625, 0.00625, 0.003125, 0.003125,
    0.003125, 0.0015625, 0.0015625, 0.0015625, 0.00078125, 0.00078125, 0.00078125],
  exp09: [0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002, 0.05904900000000002,
    0.05314410000000002, 0.04782969000000002, 0.043046721000000024, 0.03874204890000002, 0.03486784401000002,
    0.03138105960900001, 0.028242953648100012, 0.025418658283290013, 0.022876792454961013, 0.020589113209464913,
    0.01853020188851842, 0.01667718169966658, 0.015009463529699923, 0.013508517176729932, 0.01215766545905694],
  // lr 0.1, T_max 7, eta_min 0.001: down to eta_min at 7, the "restart" branch at 8, back up to 0.1 at 14
  cos7: [0.09509795896116975, 0.08136274519200731, 0.061514786230837566, 0.03948521376916245, 0.019637254807992697,
    0.005902041038830259, 0.001, 0.005902041038830253, 0.019637254807992683, 0.03948521376916243,
    0.061514786230837525, 0.08136274519200731, 0.09509795896116978, 0.10000000000000002, 0.09509795896116978,
    0.08136274519200734, 0.06151478623083755, 0.03948521376916246, 0.019637254807992707, 0.005902041038830264],
  cos10: [0.009755282581475769, 0.009045084971874737, 0.007938926261462366, 0.006545084971874737, 0.005,
    0.003454915028125263, 0.0020610737385376348, 0.0009549150281252633, 0.00024471741852423234, 0.0,
    0.00024471741852423234, 0.0009549150281252665, 0.002061073738537643, 0.003454915028125278, 0.005000000000000022,
    0.006545084971874766, 0.007938926261462401, 0.009045084971874779, 0.009755282581475812, 0.010000000000000045],
  // T_max 1: every other step takes the branch after a minimum ((e - 1 - T_max) % (2 T_max) == 0)
  cos1: [0.0, 0.3, 0.0, 0.3, 0.0, 0.3],
  // lr 0.1, factor 0.5, patience 1, cooldown 2, min_lr 0.02 (mode min, threshold 1e-4 rel, eps 1e-8)
  plateauMinMetrics: [1.0, 0.9, 0.95, 0.95, 0.91, 0.8, 0.85, 0.82, 0.81, 0.8, 0.80005, 0.9, 0.7, 0.75, 0.71, 0.72, 0.73,
    0.69, 0.7, 0.7],
  plateauMin: [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,
    0.02, 0.02, 0.02],
  // lr 1, mode max, factor 0.1, patience 2, threshold 0.01 abs, cooldown 1, eps 1e-3 (the last cut is skipped)
  plateauMaxMetrics: [0.5, 0.6, 0.6, 0.61, 0.6, 0.62, 0.62, 0.63, 0.64, 0.6, 0.6, 0.6, 0.6, 0.6, 0.65, 0.65, 0.65, 0.65,
    0.65, 0.65],
  plateauMax: [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002,
    0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
    0.0010000000000000002, 0.0010000000000000002],
};

function sgd(lr: number): SGD {
  return new SGD(smallModel(), { lr });
}

/** lr after each of n steps; also checks getLastLr() and optimizer.lr agree. */
function run(sched: { step(): void; getLastLr(): number; optimizer: Optimizer }, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    sched.step();
    expect(sched.getLastLr()).toBe(sched.optimizer.lr);
    out.push(sched.optimizer.lr);
  }
  return out;
}

describe('learning-rate schedulers give PyTorch\'s values bit for bit', () => {
  it('construction leaves the rate as it is (step 0)', () => {
    const opt = sgd(0.1);
    for (const s of [new StepLR(opt, { stepSize: 1 }), new ExponentialLR(opt, { gamma: 0.5 }), new CosineAnnealingLR(opt, { tMax: 3 }),
      new ReduceLROnPlateau(opt)]) {
      expect(s.getLastLr()).toBe(0.1);
    }
    expect(opt.lr).toBe(0.1);
  });

  it('StepLR', () => {
    expect(run(new StepLR(sgd(0.1), { stepSize: 5 }), 20)).toEqual(PY.step5);
    expect(run(new StepLR(sgd(0.05), { stepSize: 3, gamma: 0.5 }), 20)).toEqual(PY.step3Half);
  });

  it('ExponentialLR', () => {
    expect(run(new ExponentialLR(sgd(0.1), { gamma: 0.9 }), 20)).toEqual(PY.exp09);
  });

  it('CosineAnnealingLR (recursive form, past tMax and back)', () => {
    expect(run(new CosineAnnealingLR(sgd(0.1), { tMax: 7, etaMin: 0.001 }), 20)).toEqual(PY.cos7);
    expect(run(new CosineAnnealingLR(sgd(0.01), { tMax: 10 }), 20)).toEqual(PY.cos10);
    expect(run(new CosineAnnealingLR(sgd(0.3), { tMax: 1 }), 6)).toEqual(PY.cos1);
  });

  it('the cosine behind CosineAnnealingLR is correctly rounded (Math.cos is not, and differs by engine)', () => {
    // [x, cos(x) correctly rounded: Python's float() of a 60-digit Taylor sum]
    const cases: [number, number][] = [
      [Math.PI * 12 / 10, -0.8090169943749476], // V8's Math.cos: -0.8090169943749475 (glibc agrees with us)
      [3.7860219158646227, -0.7994427634035012], // glibc 2.36's cos: -0.7994427634035011
      [8.002169966690982, -0.14764656400248025], // glibc: -0.14764656400248027
      [1.5707963267948968, -1.6081226496766366e-16], [Math.PI / 2, 6.123233995736766e-17], [Math.PI, -1],
      [1e-9, 1], [0, 1], [0.5, 0.8775825618903728], [-0.5, 0.8775825618903728], [100, 0.8623188722876839],
    ];
    for (const [x, want] of cases) expect(roundedCos(x), `cos(${x})`).toBe(want);
    // everywhere within one ulp of Math.cos (itself within one ulp): all four quadrants, many periods
    const bits = new BigInt64Array(2);
    const view = new Float64Array(bits.buffer);
    for (let x = -50; x < 2000; x += 0.0373) {
      view[0] = roundedCos(x); view[1] = Math.cos(x);
      const ulps = Math.sign(view[0]) === Math.sign(view[1]) ? Number(bits[0] - bits[1]) : Math.abs(view[0] - view[1]) / 5e-324;
      expect(Math.abs(ulps), `cos(${x})`).toBeLessThanOrEqual(1);
    }
    expect(roundedCos(NaN)).toBeNaN();
    expect(roundedCos(Infinity)).toBeNaN();
  });

  it('ReduceLROnPlateau: min / rel with patience, cooldown and minLr', () => {
    const opt = sgd(0.1);
    const s = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1, cooldown: 2, minLr: 0.02 });
    const lrs = PY.plateauMinMetrics.map((m) => { s.step(m); expect(s.getLastLr()).toBe(opt.lr); return opt.lr; });
    expect(lrs).toEqual(PY.plateauMin);
    expect(s.best).toBe(0.69);
    expect(s.lastEpoch).toBe(20);
  });

  it('ReduceLROnPlateau: max / abs, and eps skipping a cut too small to matter', () => {
    const opt = sgd(1);
    const s = new ReduceLROnPlateau(opt, { mode: 'max', factor: 0.1, patience: 2, threshold: 0.01, thresholdMode: 'abs', cooldown: 1, eps: 1e-3 });
    expect(PY.plateauMaxMetrics.map((m) => { s.step(m); return opt.lr; })).toEqual(PY.plateauMax);
  });

  it('scheduler option errors are ConfigErrors naming the option and value', () => {
    const opt = sgd(0.1);
    const cases: [() => unknown, RegExp][] = [
      [() => new StepLR(opt, { stepSize: 0 }), /StepLR: stepSize must be an integer >= 1, got 0/],
      [() => new StepLR(opt, { stepSize: 2.5 }), /stepSize must be an integer >= 1, got 2.5/],
      [() => new StepLR(opt, {} as { stepSize: number }), /stepSize .*got undefined/],
      [() => new StepLR(opt, { stepSize: 2, gamma: -0.1 }), /StepLR: gamma must be a positive number, got -0.1/],
      [() => new StepLR({ lr: 0.1 } as unknown as Optimizer, { stepSize: 2 }), /StepLR: the first argument must be an Optimizer/],
      [() => new ExponentialLR(opt, { gamma: 0 }), /ExponentialLR: gamma must be a positive number, got 0/],
      [() => new ExponentialLR(opt, { gama: 0.9 } as unknown as { gamma: number }), /unknown option 'gama'/],
      [() => new CosineAnnealingLR(opt, { tMax: 0 }), /CosineAnnealingLR: tMax must be an integer >= 1, got 0/],
      [() => new CosineAnnealingLR(opt, { tMax: 10, etaMin: -1 }), /etaMin must be >= 0, got -1/],
      [() => new ReduceLROnPlateau(opt, { factor: 1 }), /ReduceLROnPlateau: factor must be in \[0, 1\), got 1/],
      [() => new ReduceLROnPlateau(opt, { factor: 1.5 }), /factor .*got 1.5/],
      [() => new ReduceLROnPlateau(opt, { mode: 'maximum' as 'max' }), /mode must be 'min' or 'max', got 'maximum'/],
      [() => new ReduceLROnPlateau(opt, { thresholdMode: 'pct' as 'rel' }), /thresholdMode must be 'rel' or 'abs', got 'pct'/],
      [() => new ReduceLROnPlateau(opt, { patience: -1 }), /patience must be an integer >= 0, got -1/],
      [() => new ReduceLROnPlateau(opt, { cooldown: 0.5 }), /cooldown must be an integer >= 0, got 0.5/],
      [() => new ReduceLROnPlateau(opt, { minLr: -1e-3 }), /minLr must be >= 0, got -0.001/],
      [() => new ReduceLROnPlateau(opt, { threshold: -1 }), /threshold must be >= 0, got -1/],
      [() => new ReduceLROnPlateau(opt, { eps: -1 }), /eps must be >= 0, got -1/],
      [() => new ReduceLROnPlateau(opt, { monitor: 'val_acc' as 'val_accuracy' }), /monitor must be one of .*got 'val_acc'/],
    ];
    for (const [make, message] of cases) {
      let error: unknown = null;
      try { make(); } catch (e) { error = e; }
      expect(error, String(message)).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
    }
    expect(opt.lr).toBe(0.1);
    expect(() => new ReduceLROnPlateau(opt).step('0.5' as unknown as number)).toThrow(InputError);
  });

  it('ReduceLROnPlateau as a callback reads val_loss when fit has validation data, else loss', () => {
    const logs = (loss: number, valLoss?: number): EpochLogs => ({ loss, accuracy: 0, seconds: 0, ...(valLoss === undefined ? {} : { val_loss: valLoss }) });
    const withVal = new ReduceLROnPlateau(sgd(0.1));
    withVal.onEpochEnd(0, logs(1, 5));
    expect(withVal.best).toBe(5);
    const without = new ReduceLROnPlateau(sgd(0.1));
    without.onEpochEnd(0, logs(1));
    expect(without.best).toBe(1);
    const explicit = new ReduceLROnPlateau(sgd(0.1), { monitor: 'accuracy', mode: 'max' });
    explicit.onEpochEnd(0, { ...logs(1, 5), accuracy: 0.75 });
    expect(explicit.best).toBe(0.75);
    const missing = new ReduceLROnPlateau(sgd(0.1), { monitor: 'val_loss' });
    expect(() => missing.onEpochEnd(0, logs(1))).toThrow(/no 'val_loss' \(give fit a validationSplit or validationData\)/);
  });
});

describe('schedulers as fit() callbacks: one step per epoch', () => {
  const { x, y } = randomData(64, 784, 10, 5);

  /** Records optimizer.lr as each epoch begins (the rate that epoch trains with). */
  function lrRecorder(opt: Optimizer): Callback & { seen: number[] } {
    const seen: number[] = [];
    return { seen, onEpochBegin: () => { seen.push(opt.lr); } };
  }

  async function fitWith(opt: (m: Sequential) => Optimizer, sched: (o: Optimizer) => Callback, epochs: number,
    extra: { validationSplit?: number } = {}): Promise<number[]> {
    const model = courseMlp(0);
    const o = opt(model);
    model.compile({ loss: new NLLLoss(), optimizer: o });
    const rec = lrRecorder(o);
    await model.fit(x, y, { epochs, batchSize: 16, seed: 1, callbacks: [rec, sched(o)], ...extra });
    model.dispose();
    return rec.seen;
  }

  it('StepLR, ExponentialLR and CosineAnnealingLR with SGD, Adam and RMSprop', async () => {
    expect(await fitWith((m) => new SGD(m, { lr: 0.1 }), (o) => new StepLR(o, { stepSize: 2, gamma: 0.5 }), 6))
      .toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
    expect(await fitWith((m) => new Adam(m, { lr: 0.05 }), (o) => new StepLR(o, { stepSize: 5 }), 12))
      .toEqual([0.05, 0.05, 0.05, 0.05, 0.05, 0.005000000000000001, 0.005000000000000001, 0.005000000000000001,
        0.005000000000000001, 0.005000000000000001, 0.0005000000000000001, 0.0005000000000000001]);
    expect(await fitWith((m) => new RMSprop(m, { lr: 0.1 }), (o) => new ExponentialLR(o, { gamma: 0.9 }), 5))
      .toEqual([0.1, ...PY.exp09.slice(0, 4)]);
    expect(await fitWith((m) => new AdamW(m, { lr: 0.1 }), (o) => new CosineAnnealingLR(o, { tMax: 7, etaMin: 0.001 }), 10))
      .toEqual([0.1, ...PY.cos7.slice(0, 9)]);
  });

  it('ReduceLROnPlateau: with an impossible threshold every epoch after the first is bad', async () => {
    const plateau = (o: Optimizer) => new ReduceLROnPlateau(o, { factor: 0.5, patience: 0, threshold: 1e9, thresholdMode: 'abs' });
    expect(await fitWith((m) => new Adam(m, { lr: 0.1 }), plateau, 5)).toEqual([0.1, 0.1, 0.05, 0.025, 0.0125]);
    expect(await fitWith((m) => new Adam(m, { lr: 0.1 }), plateau, 4, { validationSplit: 0.25 })).toEqual([0.1, 0.1, 0.05, 0.025]);
    await expect(fitWith((m) => new Adam(m, { lr: 0.1 }), (o) => new ReduceLROnPlateau(o, { monitor: 'val_loss' }), 2))
      .rejects.toThrow(ConfigError);
  });
});

describe('end to end', () => {
  it('Adam (lr 1e-3) fits a small problem faster than SGD (lr 1e-2) in the same number of steps', async () => {
    // measured: final training loss about 1.2 (Adam) against 2.2 (SGD) after 160 steps
    // labels from a random linear teacher, so there is something to learn
    const { x } = randomData(256, 784, 10, 9);
    const g = new Generator(4);
    const teacher = g.uniform(new Float32Array(784 * 10), -1, 1);
    const y = new Int32Array(256).map((_, i) => {
      let best = 0, bestScore = -Infinity;
      for (let c = 0; c < 10; c++) {
        let score = 0;
        for (let j = 0; j < 784; j++) score += (x[i * 784 + j] - 0.5) * teacher[c * 784 + j];
        if (score > bestScore) { best = c; bestScore = score; }
      }
      return best;
    });
    const finalLoss = async (make: (m: Sequential) => Optimizer) => {
      const model = new Sequential([new Linear(784, 64), new ReLU(), new Linear(64, 10), new LogSoftmax(1)]);
      model.compile({ loss: new NLLLoss(), optimizer: make(model) });
      const h = await model.fit(x, y, { epochs: 20, batchSize: 32, seed: 2 });
      model.dispose();
      return h.history.loss[h.history.loss.length - 1];
    };
    const adam = await finalLoss((m) => new Adam(m));
    const sgdLoss = await finalLoss((m) => new SGD(m, { lr: 1e-2 }));
    expect(adam).toBeLessThan(sgdLoss * 0.8);
  });
});
