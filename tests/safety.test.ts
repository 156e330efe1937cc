// Memory safety and robustness (issue 7): one describe per class of promise, one test per promise,
// each named after what it protects. Every model here shares the one wasm memory of its runtime,
// so the tests look for corruption of *other* models as well as of the model under test.
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  init, createRuntime, Sequential, Linear, ReLU, Conv2d, MaxPool2d, BatchNorm1d, BatchNorm2d, Dropout, Flatten,
  LogSoftmax, NLLLoss, CrossEntropyLoss, MSELoss, BCELoss, SGD, Adam, AdamW, RMSprop, Tensor, Generator, manualSeed, parseIdx,
  TensorDataset, Subset, accuracy, ExponentialLR, StepLR,
  SimdnetError, ShapeError, InputError, ConfigError, NumericError, MemoryError, FormatError, StateError,
  type Runtime, type Optimizer, type Layer,
} from '../bindings/index.js';
import { courseMlp, randomData, sameBits, weightBits } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

/** A small MLP on its own generator, so two calls give identical models. */
function mlp(seed = 1, runtime?: Runtime, extra: Layer[] = []): Sequential {
  const g = new Generator(seed);
  return new Sequential([new Linear(20, 16, { generator: g }), new ReLU(), ...extra, new Linear(16, 5, { generator: g })],
    runtime ? { runtime } : {});
}

/** A small CNN with every layer that keeps per-forward state (dropout mask, pooling indices, batch statistics). */
function cnn(seed = 2, runtime?: Runtime): Sequential {
  const g = new Generator(seed);
  return new Sequential([
    new Conv2d(1, 4, 3, { padding: 1, generator: g }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Dropout(0.3, { generator: g }), new Linear(4 * 4 * 4, 5, { generator: g }),
  ], { inputShape: [1, 8, 8], ...(runtime ? { runtime } : {}) });
}

function compiled(model: Sequential, make: (m: Sequential) => Optimizer = (m) => new SGD(m, { lr: 0.05, momentum: 0.9 })): Sequential {
  model.compile({ loss: new CrossEntropyLoss(), optimizer: make(model) });
  return model;
}

function expectThrows(action: () => unknown, type: typeof SimdnetError, message?: RegExp): void {
  let error: unknown = null;
  try { action(); } catch (e) { error = e; }
  expect(error, 'an error was thrown').toBeInstanceOf(type);
  if (message) expect((error as Error).message).toMatch(message);
}

async function expectRejects(action: () => Promise<unknown>, type: typeof SimdnetError, message?: RegExp): Promise<void> {
  let error: unknown = null;
  try { await action(); } catch (e) { error = e; }
  expect(error, 'an error was thrown').toBeInstanceOf(type);
  if (message) expect((error as Error).message).toMatch(message);
}

const data20 = randomData(96, 20, 5, 3);
const data64 = randomData(96, 64, 5, 4);

// 1. Addresses above 2 GiB: tests/high-memory.test.ts (its own process, whose default runtime sits past 2 GiB).

describe('2. async re-entrancy: one fit at a time per model', () => {
  it('while fit runs, fit, forward, backward, add and compile on the same model are refused with a StateError', async () => {
    const model = compiled(mlp());
    const refusals: unknown[] = [];
    const attempt = () => {
      for (const call of [
        () => model.forward(new Tensor(data20.x.subarray(0, 40), [2, 20])),
        () => model.backward(new Tensor(new Float32Array(10), [2, 5])),
        () => model.add(new ReLU()),
        () => model.compile({ loss: new CrossEntropyLoss(), optimizer: 'sgd' }),
      ]) {
        try { call(); refusals.push(null); } catch (e) { refusals.push(e); }
      }
    };
    const first = model.fit(data20.x, data20.y, { epochs: 3, batchSize: 16, seed: 1, callbacks: [{ onEpochEnd: attempt }] });
    await expectRejects(() => model.fit(data20.x, data20.y, { epochs: 1 }), StateError, /busy: fit\(\) is running/);
    attempt();
    await first;
    expect(refusals.length).toBe(16);
    for (const e of refusals) expect(e).toBeInstanceOf(StateError);
    // and the refused calls left the training as if alone
    const alone = compiled(mlp());
    await alone.fit(data20.x, data20.y, { epochs: 3, batchSize: 16, seed: 1 });
    expect(sameBits(weightBits(model), weightBits(alone))).toBe(true);
  });

  it('Promise.all over two fits of one model: the second is refused, the first completes as if alone', async () => {
    const model = compiled(mlp());
    const a = model.fit(data20.x, data20.y, { epochs: 2, batchSize: 8, seed: 2 });
    const b = model.fit(data20.x, data20.y, { epochs: 2, batchSize: 32, seed: 3 });
    await expect(Promise.all([a, b])).rejects.toBeInstanceOf(StateError);
    await a;
    const alone = compiled(mlp());
    await alone.fit(data20.x, data20.y, { epochs: 2, batchSize: 8, seed: 2 });
    expect(sameBits(weightBits(model), weightBits(alone))).toBe(true);
  });

  it('predict and evaluate during fit (any batch size) neither change the training nor the memory of models made meanwhile', async () => {
    const own = await createRuntime();   // a fresh heap, so that first-fit placement is predictable
    const model = compiled(cnn(2, own));
    const others: { model: Sequential; bits: Map<string, Uint32Array> }[] = [];
    const big = new Float32Array(700 * 64);
    const running = model.fit(data64.x, data64.y, {
      epochs: 3, batchSize: 16, seed: 4, validationSplit: 0.25,
      callbacks: [{
        onTrainBegin: () => undefined,   // fit awaits it: the arena is planned, no step taken yet
        onEpochEnd: () => {
          model.predict(big, { batchSize: 700 });   // larger than the training batch: its own arena
          model.evaluate(data64.x, data64.y, { batchSize: 5 });
          const other = mlp(9, own);                // allocated while fit is paused
          others.push({ model: other, bits: weightBits(other) });
        },
        onBatchEnd: () => { model.predict(data64.x.subarray(0, 64 * 3)); },
      }],
    });
    // a model allocated right after the training arena: freeing that arena would now leave a hole
    // below it, which the models made during fit would be placed in
    const blocker = mlp(8, own);
    await running;
    blocker.dispose();
    const alone = compiled(cnn());
    await alone.fit(data64.x, data64.y, { epochs: 3, batchSize: 16, seed: 4, validationSplit: 0.25 });
    expect(sameBits(weightBits(model), weightBits(alone))).toBe(true);
    for (const o of others) expect(sameBits(o.bits, weightBits(o.model)), 'a model made during fit is intact').toBe(true);
  });

  it('two models training concurrently stay independent: the same bits as trained one after the other', async () => {
    const [a, b] = [compiled(cnn(5), (m) => new Adam(m)), compiled(mlp(6), (m) => new RMSprop(m))];
    await Promise.all([
      a.fit(data64.x, data64.y, { epochs: 3, batchSize: 12, seed: 7 }),
      b.fit(data20.x, data20.y, { epochs: 3, batchSize: 10, seed: 8 }),
    ]);
    const [c, d] = [compiled(cnn(5), (m) => new Adam(m)), compiled(mlp(6), (m) => new RMSprop(m))];
    await c.fit(data64.x, data64.y, { epochs: 3, batchSize: 12, seed: 7 });
    await d.fit(data20.x, data20.y, { epochs: 3, batchSize: 10, seed: 8 });
    expect(sameBits(weightBits(a), weightBits(c))).toBe(true);
    expect(sameBits(weightBits(b), weightBits(d))).toBe(true);
  });
});

describe('3. use after dispose: every handle refuses', () => {
  it('a held parameter view, its gradient, Parameter.set and the model methods throw StateError after dispose; the next model is untouched', () => {
    const model = mlp();
    const layer = model.layers[0] as Linear;
    const w = layer.weight.data, g = layer.weight.grad!;
    model.dispose();
    const next = mlp(3);
    const bits = weightBits(next);
    expectThrows(() => w[0], StateError, /disposed model/);
    expectThrows(() => { w[0] = 1; }, StateError);
    expectThrows(() => w.fill(7), StateError);
    expectThrows(() => g[5], StateError);
    expectThrows(() => layer.weight.set(new Float32Array(320)), StateError);
    expectThrows(() => layer.weight.data[0], StateError);
    for (const call of [
      () => model.predict(data20.x), () => model.forward(data20.x), () => model.stateDict(), () => model.zeroGrad(),
      () => model.loadStateDict({}), () => model.parameters(), () => model.add(new ReLU()), () => model.memoryBytes(),
    ]) expectThrows(call, StateError, /disposed/);
    expect(sameBits(bits, weightBits(next))).toBe(true);
  });

  it('methods and iterators taken from a held view re-derive it at each call: after dispose they throw, the next model is untouched', () => {
    const model = mlp();
    const w = (model.layers[0] as Linear).weight.data;
    const fill = w.fill, set = w.set, values = w.values(), every = w.every;
    values.next();
    model.dispose();
    const next = mlp(4);
    const bits = weightBits(next);
    expectThrows(() => fill(123), StateError);
    expectThrows(() => set([9, 9]), StateError);
    expectThrows(() => values.next(), StateError);
    expectThrows(() => every(() => true), StateError);
    expect(sameBits(bits, weightBits(next))).toBe(true);
  });

  it("a model's parameter set and parameters cannot be re-laid-out, re-bound or freed from outside the model", () => {
    const model = mlp();
    const bits = weightBits(model);
    const set = model.parameters();
    const w = (model.layers[0] as Linear).weight;
    expectThrows(() => set.rebuild([]), StateError, /belong to a model/);
    expectThrows(() => set.prepare(set.params), StateError);
    expectThrows(() => set.dispose(), StateError);
    expectThrows(() => w.bind({ heap: rt.heap, disposed: false }, 0, 0), StateError, /only a ParameterSet binds/);
    expect(sameBits(bits, weightBits(model))).toBe(true);
    expect(model.predict(data20.x).shape).toEqual([96, 5]);
  });

  it('a view taken before the layer joins a model follows its values into the model', () => {
    const layer = new Linear(4, 3, { generator: new Generator(1) });
    const w = layer.weight.data;
    const model = new Sequential([layer]);
    layer.weight.set(new Float32Array(12).fill(0.5));
    expect(w[0]).toBe(0.5);
    w[1] = 0.25;
    expect(model.stateDict()['0.weight'].data[1]).toBe(0.25);
    expect(w.buffer.byteLength, 'buffer is a snapshot of the 12 values, not the wasm memory').toBe(48);
    expectThrows(() => { (w as unknown as Record<string, number>).foo = 1; }, InputError);
  });

  it("an optimizer's step and state refuse once its model is disposed, and so does a disposed loss", () => {
    const plain = mlp(5);
    const sgd = new SGD(plain, { lr: 0.1 });
    plain.dispose();
    expectThrows(() => sgd.state(), StateError);
    const model = mlp();
    const opt = new Adam(model);
    const loss = new CrossEntropyLoss();
    model.dispose();
    expectThrows(() => opt.step(), StateError, /its model was disposed/);
    expectThrows(() => opt.state(), StateError);
    loss.dispose();
    expectThrows(() => loss.forward(new Tensor(new Float32Array(10), [2, 5]), [0, 1]), StateError, /disposed/);
    expectThrows(() => loss.backward(), StateError);
  });

  it('dispose() from a callback stops fit with a StateError at once: a model allocated in the freed memory keeps its bytes', async () => {
    const model = compiled(cnn(), (m) => new Adam(m));
    let other: Sequential | null = null, bits: Map<string, Uint32Array> | null = null, batches = 0;
    await expectRejects(() => model.fit(data64.x, data64.y, {
      epochs: 5, batchSize: 8,
      callbacks: [{
        onBatchEnd: (b) => {
          batches++;
          if (b === 2) {
            model.dispose();
            other = cnn(11);               // takes the memory the model just returned
            bits = weightBits(other);
          }
        },
      }],
    }), StateError, /disposed during training/);
    expect(batches).toBe(3);
    expect(sameBits(bits!, weightBits(other!))).toBe(true);
  });

  it('dispose() during the await between epochs stops fit too', async () => {
    const model = compiled(mlp());
    const running = model.fit(data20.x, data20.y, { epochs: 4, batchSize: 16 });
    await new Promise((r) => setTimeout(r, 0));
    model.dispose();
    await expectRejects(() => running, StateError, /disposed during training/);
  });
});

describe('4. half-applied changes: a failing call leaves the model as it was', () => {
  it('add() failing with MemoryError leaves the layers, the weights and the heap as they were', async () => {
    const small = await createRuntime({ maxMemoryBytes: 8 * 2 ** 20 });
    const model = mlp(1, small);
    const bits = weightBits(model), bytes = small.heap.allocatedBytes;
    expectThrows(() => model.add(new Linear(5, 600_000)), MemoryError);
    expect(model.layers.length).toBe(3);
    expect(small.heap.allocatedBytes).toBe(bytes);
    expect(sameBits(bits, weightBits(model))).toBe(true);
    expect(model.predict(data20.x).shape).toEqual([96, 5]);  // and it still works
    model.add(new ReLU());
    expect(model.predict(data20.x).shape).toEqual([96, 5]);
  });

  it('a constructor failing with MemoryError returns everything it allocated', async () => {
    const small = await createRuntime({ maxMemoryBytes: 8 * 2 ** 20 });
    const bytes = small.heap.allocatedBytes, blocks = small.heap.blockCount;
    expectThrows(() => new Sequential([new Linear(100, 100), new ReLU(), new Linear(100, 30_000)], { runtime: small }), MemoryError);
    expect(small.heap.allocatedBytes).toBe(bytes);
    expect(small.heap.blockCount).toBe(blocks);
  });

  it('Linear(100000, 100000) is a MemoryError naming the layer, not a RangeError', () => {
    expectThrows(() => new Linear(100000, 100000), MemoryError, /Linear\(100000, 100000\).*4 GiB/);
  });

  it('a forward that fails for its input keeps the activations of the previous forward for backward', () => {
    const model = mlp(), clean = mlp();
    const x = new Tensor(data20.x.subarray(0, 4 * 20), [4, 20]);
    const dy = new Tensor(Float32Array.from({ length: 20 }, (_, i) => (i % 7) / 7 - 0.4), [4, 5]);
    model.forward(x);
    const bad = data20.x.slice(0, 8 * 20); bad[33] = NaN;
    expectThrows(() => model.forward(new Tensor(bad, [8, 20])), InputError);
    model.zeroGrad();
    model.backward(dy);
    clean.forward(x);
    clean.zeroGrad();
    clean.backward(dy);
    const grads = (m: Sequential) => m.parameters().params.map((p) => Array.from(p.grad!));
    expect(grads(model)).toEqual(grads(clean));
  });
});

describe('4b. layers without parameters are not shared between live models', () => {
  it('adding a MaxPool2d or Dropout of a live model to another is a ConfigError; after its model is disposed it may join another', () => {
    const pool = new MaxPool2d(2), drop = new Dropout(0.5);
    const a = new Sequential([new Conv2d(1, 2, 3, { padding: 1 }), pool, drop], { inputShape: [1, 4, 4] });
    expectThrows(() => new Sequential([new Conv2d(1, 2, 3, { padding: 1 }), pool], { inputShape: [1, 4, 4] }), ConfigError, /already belongs to another model/);
    expectThrows(() => new Sequential([new Flatten(), drop]), ConfigError, /already belongs to another model/);
    a.dispose();
    expect(new Sequential([new Flatten(), drop]).layers.length).toBe(2);
  });
});

describe('4c. untrusted input arrays', () => {
  it('a Tensor over a resizable buffer is copied: growing the buffer later writes nothing into wasm memory', () => {
    const victim = mlp(6);
    const bits = weightBits(victim);
    const buffer = new ArrayBuffer(16, { maxByteLength: 1 << 16 });
    const f = new Float32Array(buffer);
    f.set([0.1, 0.2, 0.3, 0.4]);
    const out = new Tensor(f, [2, 2]);
    buffer.resize(1 << 16);
    f.fill(5, 4);
    expect(out.data.length).toBe(4);
    new MSELoss().forward(out, [0, 0, 0, 0]);
    const model = mlp(7);
    model.forward(new Tensor(data20.x.subarray(0, 20), [1, 20]));
    const grad = new Float32Array(new ArrayBuffer(20, { maxByteLength: 1 << 16 }));
    const dOut = new Tensor(grad, [1, 5]);
    (grad.buffer as ArrayBuffer & { resize(n: number): void }).resize(1 << 16);
    grad.fill(7);
    model.backward(dOut);
    expect(sameBits(bits, weightBits(victim))).toBe(true);
  });

  it('a Tensor whose buffer was detached (transferred) is a StateError, not a silent short copy', () => {
    const model = mlp();
    const data = data20.x.slice(0, 40);
    const t = new Tensor(data, [2, 20]);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expectThrows(() => model.predict(t), StateError, /detached or resized/);
    expectThrows(() => new MSELoss().forward(new Tensor(new Float32Array(4), [2, 2]), t.data), ShapeError);
  });
});

describe('4d. arrays and tensors that lie', () => {
  /** A Float32Array whose species makes subarray / slice return 608 sevens. */
  class Species extends Float32Array {
    static override get [Symbol.species](): Float32ArrayConstructor {
      return function () { return new Float32Array(608).fill(7); } as unknown as Float32ArrayConstructor;
    }
  }
  /** A Float32Array that claims fewer values than it holds. */
  class Short extends Float32Array { override get length(): number { return 6; } }

  it('a Float32Array subclass with a lying species or length never makes a copy past its values', () => {
    const victim = mlp(12);
    const bits = weightBits(victim);
    const model = compiled(mlp(13));
    const x = new Species(40);
    expect(model.predict(x).shape).toEqual([2, 5]);
    model.evaluate(new Species(40), [0, 1]);
    model.forward(new Tensor(new Species(40), [2, 20]));
    model.backward(new Tensor(new Species(10), [2, 5]));
    expectThrows(() => new Tensor(new Short(2000), [2, 3]), ShapeError, /2000 does not fit/);
    expectThrows(() => (model.layers[0] as Linear).bias!.set(new Short(300)), ShapeError, /got 300/);
    const own = Object.defineProperty(new Float32Array(6), 'length', { get: () => 2000 });
    const t = new Tensor(own, [2, 3]);
    Object.defineProperty(own, 'constructor', { value: Species });
    new MSELoss().forward(t, new Float32Array(6));
    expect(sameBits(bits, weightBits(victim))).toBe(true);
  });

  it('a Tensor subclass that lies about its shape is read through its real shape; look-alikes are an InputError', () => {
    class Lying extends Tensor { override get shape(): number[] { return [1000, 2]; } }
    const victim = mlp(14);
    const bits = weightBits(victim);
    const loss = new CrossEntropyLoss();
    expect(loss.forward(new Lying(new Float32Array(2), [1, 2]), [0])).toBeCloseTo(Math.log(2), 6);
    expect(loss.backward().shape).toEqual([1, 2]);
    expect(sameBits(bits, weightBits(victim))).toBe(true);
    for (const fake of [Object.create(Tensor.prototype), new Proxy(new Tensor([1, 2], [1, 2]), {}), { data: new Float32Array(2), shape: [1, 2] }]) {
      expectThrows(() => loss.forward(fake, [0]), InputError, /must be a Tensor/);
      expectThrows(() => mlp().predict(fake), InputError);
    }
  });

  it('labels and indices are integers in range, never wrapped: 2^32 + 1 is not label 1', () => {
    expectThrows(() => new TensorDataset(new Tensor(new Float32Array(4), [2, 2]), [0, 2 ** 32 + 1]), InputError, /labels must be integers in \[0, 2\^31\)/);
    expectThrows(() => accuracy([2 ** 32], [0]), InputError);
    const ds = new TensorDataset(new Tensor(new Float32Array(6), [3, 2]), [0, 1, 2]);
    for (const bad of [1.5, NaN, '1', true, -0.5]) expectThrows(() => new Subset(ds, [bad as number]), InputError, /indices must be integers/);
    expectThrows(() => new Subset(ds, [2 ** 32 + 1]), ShapeError, /out of range/);
    expectThrows(() => ds.gather([0.7]), InputError);
  });
});

describe('4e. numbers that overflow float32', () => {
  it('a batch whose BatchNorm statistics overflow is refused before the step: weights and running statistics as they were', async () => {
    const g = new Generator(5);
    const model = new Sequential([new Linear(4, 3, { generator: g }), new BatchNorm1d(3), new Linear(3, 2, { generator: g })]);
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(model, { lr: 0.1 }) });
    const x = g.uniform(new Float32Array(8 * 4), -1, 1);
    x[5] = 3e38; x[9] = -3e38;
    const before = weightBits(model);
    await expectRejects(() => model.fit(x, new Int32Array(8), { batchSize: 8 }), NumericError, /overflow float32.*not updated/);
    expect(sameBits(before, weightBits(model))).toBe(true);
    model.loadStateDict(model.stateDict());   // its own state dict always loads
  });

  it('an update that overflows float32 is a NumericError at once (the one error that comes after its step)', () => {
    const model = mlp();
    const opt = new SGD(model, { lr: 3e38 });
    model.forward(new Tensor(data20.x.subarray(0, 40), [2, 20]));
    model.zeroGrad();
    model.backward(new Tensor(new Float32Array(10).fill(1), [2, 5]));
    expectThrows(() => opt.step(), NumericError, /update overflowed float32/);
  });

  it('Loss.forward refuses NaN or Infinity outputs (InputError) and a loss that overflows (NumericError); evaluate says which', () => {
    expectThrows(() => new MSELoss().forward(new Tensor([NaN, 0.5, 0.5], [1, 3]), [0, 0, 0]), InputError, /output 0 is NaN/);
    expectThrows(() => new CrossEntropyLoss().forward(new Tensor([Infinity, 0], [1, 2]), [0]), InputError);
    expectThrows(() => new MSELoss().forward(new Tensor([3e38], [1, 1]), [-3e38]), NumericError, /overflows float32/);
    const probs = new Sequential([new Linear(2, 1, { generator: new Generator(1) })]);
    probs.compile({ loss: new BCELoss(), optimizer: 'sgd' });
    probs.loadStateDict({ '0.weight': { data: [5, 5], shape: [1, 2] }, '0.bias': { data: [1], shape: [1] } });
    expectThrows(() => probs.evaluate(new Float32Array([1, 1]), new Float32Array([1])), InputError, /BCELoss takes probabilities/);
    probs.loadStateDict({ '0.weight': { data: [3e38, 3e38], shape: [1, 2] }, '0.bias': { data: [0], shape: [1] } });
    expectThrows(() => probs.evaluate(new Float32Array([1, 1]), new Float32Array([1])), NumericError, /output for sample 0 is Infinity/);
  });

  it('a scheduler step the optimizer refuses leaves the scheduler where it was', () => {
    const opt = new SGD(mlp(), { lr: 1e30 });
    const s = new ExponentialLR(opt, { gamma: 1e10 });
    expectThrows(() => s.step(), ConfigError, /lr must be/);
    expect(s.lastEpoch).toBe(0);
    expect(opt.lr).toBe(1e30);
    opt.dispose();
    expectThrows(() => { opt.lr = 0.1; }, StateError);
    expectThrows(() => new StepLR(opt, { stepSize: 1 }).step(), StateError);
  });
});

describe('5. shared activations: predict and evaluate never disturb a pending backward', () => {
  it('predict and evaluate between forward and backward leave the gradients exactly as without them', () => {
    const run = (interleave: boolean) => {
      const model = compiled(cnn(13));
      model.train();
      const x = new Tensor(data64.x.subarray(0, 6 * 64), [6, 1, 8, 8]);
      const out = model.forward(x);
      if (interleave) {
        model.predict(data64.x, { batchSize: 96 });
        model.predict(data64.x.subarray(0, 64), { batchSize: 1 });
        model.evaluate(data64.x, data64.y, { batchSize: 7 });
      }
      const loss = new CrossEntropyLoss();
      loss.forward(out, data64.y.subarray(0, 6));
      model.zeroGrad();
      model.backward(loss.backward());
      return model.parameters().params.map((p) => Array.from(p.grad!));
    };
    expect(run(true)).toEqual(run(false));
  });

  it('backward after fit (which reuses the arena) is a StateError, not a gradient of stale activations', async () => {
    const model = compiled(mlp());
    model.forward(new Tensor(data20.x.subarray(0, 40), [2, 20]));
    await model.fit(data20.x, data20.y, { epochs: 1 });
    expectThrows(() => model.backward(new Tensor(new Float32Array(10), [2, 5])), StateError, /before forward/);
  });
});

describe('6. state that changes on error', () => {
  it('a step refused for a non-finite loss leaves BatchNorm running statistics and num_batches_tracked as they were', async () => {
    const g = new Generator(3);
    const model = new Sequential([new Linear(4, 3, { generator: g }), new BatchNorm1d(3), new Linear(3, 2, { generator: g })]);
    model.compile({ loss: new MSELoss(), optimizer: new SGD(model, { lr: 0.1 }) });
    const x = g.uniform(new Float32Array(16 * 4), -1, 1);
    await model.fit(x, g.uniform(new Float32Array(32), -1, 1), { epochs: 1, batchSize: 8 });
    const before = weightBits(model);
    expect(model.stateDict()['1.num_batches_tracked'].data[0]).toBe(2);
    const huge = new Float32Array(32).fill(3e38);   // (out - 3e38)^2 overflows: the loss is Infinity
    await expectRejects(() => model.fit(x, huge, { epochs: 1, batchSize: 8 }), NumericError, /not applied/);
    expect(sameBits(before, weightBits(model)), 'weights, running_mean, running_var, num_batches_tracked').toBe(true);
  });

  it('a last batch of one sample is refused before the first step when the model has BatchNorm', async () => {
    const g = new Generator(4);
    const model = new Sequential([new Linear(20, 6, { generator: g }), new BatchNorm1d(6), new ReLU(), new Linear(6, 5, { generator: g })]);
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model) });
    const before = weightBits(model);
    await expectRejects(() => model.fit(data20.x.subarray(0, 33 * 20), data20.y.subarray(0, 33), { batchSize: 32 }),
      InputError, /33 samples in batches of 32 give a batch of 1.*more than 1 value per channel.*choose another batchSize/);
    expect(sameBits(before, weightBits(model))).toBe(true);
    await model.fit(data20.x.subarray(0, 33 * 20), data20.y.subarray(0, 33), { batchSize: 11 });
  });

  it('loadStateDict checks values as float32: 1e39 overflows and is refused, nothing is written', () => {
    const model = mlp();
    const before = weightBits(model);
    const dict = model.stateDict();
    const weight = Array.from(dict['0.weight'].data);
    weight[7] = 1e39;
    const bias = Array.from(dict['0.bias'].data).map(() => 0.5);
    expectThrows(() => model.loadStateDict({ ...dict, '0.bias': { data: bias, shape: [16] }, '0.weight': { data: weight, shape: [16, 20] } }),
      InputError, /'0.weight' contains 1e\+39 at index 7, which overflows float32/);
    expect(sameBits(before, weightBits(model))).toBe(true);
  });
});

describe('7. limits and leaks', () => {
  it('fit caps the batch at the number of samples: 8 samples with batchSize 1e6 plan for 8', async () => {
    const own = await createRuntime();
    const model = compiled(mlp(1, own));
    const before = own.heap.byteLength;
    await model.fit(data20.x.subarray(0, 8 * 20), data20.y.subarray(0, 8), { batchSize: 1e6, epochs: 2 });
    expect(own.heap.byteLength - before).toBeLessThan(2 ** 20);
    expect(model.memoryBytes()).toBeLessThanOrEqual(model.memoryBytes({ batchSize: 8, training: true }));
  });

  it('create / train / dispose cycles with every optimizer return the heap to where it started, and the memory stops growing', async () => {
    const own = await createRuntime();
    const start = { bytes: own.heap.allocatedBytes, blocks: own.heap.blockCount };
    const makers: ((m: Sequential) => Optimizer)[] = [
      (m) => new SGD(m, { lr: 0.01, momentum: 0.9 }), (m) => new Adam(m, { amsgrad: true }), (m) => new AdamW(m),
      (m) => new RMSprop(m, { centered: true, momentum: 0.5 }),
    ];
    let size = 0;
    for (let cycle = 0; cycle < 3; cycle++) {
      for (const make of makers) {
        const model = cnn(cycle, own);
        model.compile({ loss: new CrossEntropyLoss(), optimizer: make(model) });
        await model.fit(data64.x, data64.y, { epochs: 1, batchSize: 16, validationSplit: 0.2 });
        model.predict(data64.x, { batchSize: 50 });
        model.forward(new Tensor(data64.x.subarray(0, 128), [2, 1, 8, 8]));
        model.dispose();    // frees the optimizer's state as well
        expect(own.heap.allocatedBytes).toBe(start.bytes);
        expect(own.heap.blockCount).toBe(start.blocks);
      }
      if (cycle === 0) size = own.heap.byteLength;
    }
    expect(own.heap.byteLength, 'no growth after the first cycle').toBe(size);
  });

  it('an explicit-loop loss holds no memory between calls', () => {
    const bytes = rt.heap.allocatedBytes;
    const loss = new NLLLoss();
    for (let i = 0; i < 5; i++) loss.forward(new Tensor(new Float32Array(300 * 10).fill(-2.3), [300, 10]), new Int32Array(300));
    expect(loss.backward().shape).toEqual([300, 10]);
    expect(rt.heap.allocatedBytes).toBe(bytes);
  });
});

describe('8. aliasing inputs', () => {
  it("a Tensor keeps a frozen copy of its shape: mutating the caller's array afterwards changes nothing", () => {
    const model = mlp();
    const shape = [3, 20];
    const t = new Tensor(data20.x.subarray(0, 60), shape);
    shape[0] = 96;
    expect(t.shape).toEqual([3, 20]);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(model.predict(t).shape).toEqual([3, 5]);
    expectThrows(() => { (t as { data: Float32Array }).data = new Float32Array(960); }, InputError);
    expectThrows(() => { (t as { shape: number[] }).shape = [96, 20]; }, InputError);
    model.layers.push(new ReLU());   // a copy too
    expect(model.layers.length).toBe(3);
  });

  it('a Tensor takes plain arrays of numbers (copied) and refuses anything else with a typed error', () => {
    const t = new Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expectThrows(() => new Tensor(null as never, [1]), InputError, /Float32Array or an array of numbers, got null/);
    expectThrows(() => new Tensor(['a', 'b'] as never, [2]), InputError, /element 0 is 'a'/);
    expectThrows(() => new Tensor([1, 2], 'abc' as never), ShapeError);
    expectThrows(() => new Tensor([1, 2], [2.5] as never), ShapeError);
    expectThrows(() => new Tensor([1, 2], [3]), ShapeError);
    expectThrows(() => mlp().predict([1, 2, 3] as never), InputError, /must be a Float32Array or a Tensor/);
  });

  it('an input that is a view of the wasm memory itself is copied before the memory can grow under it', async () => {
    const own = await createRuntime();
    const model = mlp(1, own);
    const w = (model.layers[0] as Linear).weight;
    // 16 rows of the weight matrix, used as 16 samples of 20 values: a live view, and a plain one
    const live = new Tensor(w.data, [16, 20]);
    const want = mlp(1).predict(new Tensor(w.data.slice(), [16, 20]));
    expect(Array.from(model.predict(live, { batchSize: 3 }).data)).toEqual(Array.from(want.data));
    // a plain view of a block of wasm memory holding 5000 samples, and a predict whose arena grows the memory
    const block = own.heap.alloc(5000 * 20 * 4, 'samples');
    const plain = own.heap.f32.subarray(block >>> 2, (block >>> 2) + 5000 * 20);
    new Generator(5).uniform(plain, 0, 1);
    const expected = mlp(1).predict(plain.slice());
    const grows = own.heap.growCount;
    expect(Array.from(model.predict(plain, { batchSize: 5000 }).data)).toEqual(Array.from(expected.data));
    expect(own.heap.growCount, 'the call grew the memory, detaching plain views').toBeGreaterThan(grows);
  });
});

describe('9. unvalidated options are ConfigErrors naming the option', () => {
  it('fit refuses typos, non-objects and wrong types', async () => {
    const model = compiled(mlp());
    const before = weightBits(model);
    await expectRejects(() => model.fit(data20.x, data20.y, { epoch: 3 } as never), ConfigError, /unknown option 'epoch' \(did you mean 'epochs'\?\)/);
    await expectRejects(() => model.fit(data20.x, data20.y, 'abc' as never), ConfigError, /options must be an object/);
    await expectRejects(() => model.fit(data20.x, data20.y, { shuffle: 'yes' } as never), ConfigError, /shuffle must be true or false/);
    await expectRejects(() => model.fit(data20.x, data20.y, { seed: 1.5 }), ConfigError, /seed/);
    await expectRejects(() => model.fit(data20.x, data20.y, { epochs: -1 }), ConfigError, /epochs/);
    await expectRejects(() => model.fit(data20.x, data20.y, { callbacks: [{ onEpochEnd: 5 }] } as never), ConfigError, /onEpochEnd must be a function/);
    await expectRejects(() => model.fit(data20.x, data20.y, { validationSplit: 0.2, validationData: [data20.x, data20.y] }), ConfigError, /not both/);
    expectThrows(() => model.predict(data20.x, { batchsize: 3 } as never), ConfigError, /did you mean 'batchSize'/);
    expectThrows(() => model.evaluate(data20.x, data20.y, { batchSize: 0 }), ConfigError, /batchSize/);
    expect(sameBits(before, weightBits(model))).toBe(true);
  });

  it('optimizers refuse unknown options, and lr = NaN leaves the rate as it was', () => {
    const model = mlp();
    expectThrows(() => new SGD(model, { lr: 0.1, momentun: 0.9 } as never), ConfigError, /unknown option 'momentun' \(did you mean 'momentum'\?\)/);
    expectThrows(() => new SGD(model, undefined as never), ConfigError, /lr/);
    expectThrows(() => new SGD(null as never, { lr: 0.1 }), ConfigError, /first argument/);
    const opt = new Adam(model, { lr: 0.01 });
    for (const bad of [NaN, Infinity, -1, '0.1']) expectThrows(() => { opt.lr = bad as number; }, ConfigError, /lr must be/);
    expect(opt.lr).toBe(0.01);
    opt.lr = 0;  // schedulers may anneal to 0
    expect(opt.lr).toBe(0);
  });

  it('init refuses a maxMemoryBytes of NaN, 2^40 or a fraction, and unknown options', async () => {
    for (const bad of [NaN, 2 ** 40, 1e6 + 0.5, -1, '1e6']) {
      await expectRejects(() => createRuntime({ maxMemoryBytes: bad as number }), ConfigError, /maxMemoryBytes/);
    }
    await expectRejects(() => createRuntime({ teir: 'simd' } as never), ConfigError, /unknown option 'teir' \(did you mean 'tier'\?\)/);
  });

  it('layers and losses refuse unknown options and wrong types', () => {
    expectThrows(() => new Linear(3, 2, { bais: false } as never), ConfigError, /did you mean 'bias'/);
    expectThrows(() => new Linear(3, 2, { bias: 'no' } as never), ConfigError, /bias must be true or false/);
    expectThrows(() => new Conv2d(1, 2, 3, { paddding: 1 } as never), ConfigError, /unknown option 'paddding'/);
    expectThrows(() => new BatchNorm2d(3, { momentun: 0.1 } as never), ConfigError, /unknown option/);
    expectThrows(() => new MaxPool2d(2, { strides: 2 } as never), ConfigError, /did you mean 'stride'/);
    expectThrows(() => new CrossEntropyLoss({ label_smoothing: 0.1 } as never), ConfigError, /unknown option 'label_smoothing'/);
    expectThrows(() => new Sequential([], { input_shape: [3] } as never), ConfigError, /unknown option/);
  });
});

describe('10. memory that only grows: inference plans no gradients and reuses what it has', () => {
  /** The MNIST CNN of the main job. */
  const mnistCnn = (runtime: Runtime) => {
    manualSeed(0);
    return new Sequential([
      new Conv2d(1, 32, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
      new Conv2d(32, 64, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Linear(3136, 128), new ReLU(), new Linear(128, 10),
    ], { inputShape: [1, 28, 28], runtime });
  };

  it('evaluate({ batchSize: 1000 }) on the MNIST CNN grows the memory by what memoryBytes said, a fifth of a training plan', async () => {
    const own = await createRuntime();
    const model = mnistCnn(own);
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model) });
    const planned = model.memoryBytes({ batchSize: 1000 });
    const training = model.memoryBytes({ batchSize: 1000, training: true });
    expect(planned).toBeLessThan(training / 4);
    expect(planned).toBeLessThan(140 * 2 ** 20);
    const before = own.heap.byteLength;
    model.evaluate(new Float32Array(1000 * 784), new Int32Array(1000), { batchSize: 1000 });
    expect(own.heap.byteLength - before).toBeLessThanOrEqual(planned);
    expect(model.memoryBytes()).toBeLessThanOrEqual(planned + model.memoryBytes({ batchSize: 1, training: false }));
  });

  it("predict's default batch (256) on the MNIST CNN needs under 48 MiB", async () => {
    const model = mnistCnn(await createRuntime());
    expect(model.memoryBytes({ batchSize: 256 })).toBeLessThan(48 * 2 ** 20);
  });

  it('predict and validation after fit reuse the training arena when it is large enough: nothing is allocated', async () => {
    const own = await createRuntime();
    const model = compiled(cnn(1, own));
    await model.fit(data64.x, data64.y, { epochs: 1, batchSize: 32, validationSplit: 0.25 });
    const bytes = own.heap.allocatedBytes, size = own.heap.byteLength;
    model.predict(data64.x, { batchSize: 32 });
    model.evaluate(data64.x, data64.y, { batchSize: 20 });
    expect(own.heap.allocatedBytes).toBe(bytes);
    expect(own.heap.byteLength).toBe(size);
  });

  it('memoryBytes needs a known input shape and valid options', () => {
    const model = new Sequential([new ReLU()]);
    expectThrows(() => model.memoryBytes({ batchSize: 4 }), StateError, /input shape is not known/);
    expectThrows(() => mlp().memoryBytes({ batchSize: 0 }), ConfigError);
    expectThrows(() => mlp().memoryBytes({ batch: 4 } as never), ConfigError, /unknown option/);
  });
});

describe('11. views that go stale', () => {
  it('a held Parameter.data or .grad view stays valid, for reading and writing, after the memory grows', () => {
    const model = compiled(mlp());
    const layer = model.layers[0] as Linear;
    const w = layer.weight.data, g = layer.weight.grad!;
    const first = w[0];
    const grows = rt.heap.growCount;
    model.predict(new Float32Array(20 * 200_000), { batchSize: 200_000 });   // the memory grows
    expect(rt.heap.growCount).toBeGreaterThan(grows);
    expect(w.length).toBe(320);
    expect(w[0]).toBe(first);
    w[0] = 0.25;
    expect(model.stateDict()['0.weight'].data[0]).toBe(0.25);
    g[1] = 2;
    expect(layer.weight.grad![1]).toBe(2);
    expect(Array.from(w.subarray(0, 2))).toEqual([0.25, layer.weight.data[1]]);
    expect(w).toBeInstanceOf(Float32Array);
  });
});

function detached(): ArrayBuffer {
  const b = new ArrayBuffer(8);
  structuredClone(b, { transfer: [b] });
  return b;
}

describe('12. untyped errors: whatever the platform throws reaches the caller as a SimdnetError', () => {
  it('null or undefined labels, bad seeds, malformed state dicts', async () => {
    const model = compiled(mlp());
    await expectRejects(() => model.fit(data20.x, null as never), InputError, /labels must be an array/);
    await expectRejects(() => model.fit(data20.x, undefined as never), InputError);
    expectThrows(() => model.evaluate(data20.x, { length: 96 } as never), InputError);
    expectThrows(() => manualSeed(1.5), ConfigError, /seed must be an integer/);
    expectThrows(() => new Generator('x' as never), ConfigError);
    await expectRejects(() => model.fit(data20.x, data20.y, { seed: NaN }), ConfigError);
    expectThrows(() => model.loadStateDict(null as never), InputError, /expected an object of tensors/);
    expectThrows(() => model.loadStateDict({ ...model.stateDict(), '0.weight': 5 } as never), InputError, /'0.weight' must be a tensor/);
    expectThrows(() => model.loadStateDict({ ...model.stateDict(), '0.weight': { data: 'abc', shape: [16, 20] } } as never), InputError);
    expectThrows(() => model.loadStateDict({ ...model.stateDict(), '0.weight': { data: new Float32Array(320) } } as never), InputError, /no valid shape/);
  });

  it('parseIdx on anything but bytes is a FormatError; init with bad bytes or a missing path is typed, with the cause', async () => {
    expectThrows(() => parseIdx('abc' as never), FormatError, /must be bytes/);
    expectThrows(() => parseIdx(null as never), FormatError);
    let error: unknown = null;
    try { await createRuntime({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9]) }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).cause).toBeInstanceOf(WebAssembly.CompileError);
    error = null;
    try { await createRuntime({ wasm: '/nonexistent/simdnet.wasm' }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ConfigError);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    await expectRejects(() => createRuntime({ wasm: 42 as never }), ConfigError);
    await expectRejects(() => createRuntime({ module: {} as never }), ConfigError);
    // a valid wasm module that is not simdnet's
    await expectRejects(() => createRuntime({ wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) }), FormatError, /not a simdnet build/);
    // modules that export the kernels' names but do not work: tests/runtime.test.ts
    expectThrows(() => parseIdx(detached()), FormatError);
  });

  it('Parameter.set with BigInts or strings is an InputError', () => {
    const p = (mlp().layers[0] as Linear).bias!;
    expectThrows(() => p.set(new Array(16).fill(1n) as never), InputError, /not a number/);
    expectThrows(() => p.set(new BigInt64Array(16) as never), InputError);
    expectThrows(() => p.set('abcdefghijklmnop' as never), InputError);
  });

  it('error names survive minification: they are string literals', async () => {
    const result = await build({
      entryPoints: [new URL('../bindings/index.ts', import.meta.url).pathname],
      bundle: true, write: false, format: 'esm', platform: 'node', minify: true, logLevel: 'silent',
    });
    const dir = await mkdtemp(join(tmpdir(), 'simdnet-min-'));
    const file = join(dir, 'simdnet.min.mjs');
    await writeFile(file, result.outputFiles[0].text);
    const lib = await import(pathToFileURL(file).href);
    expect(lib.ShapeError.name).not.toBe('ShapeError');    // the minifier did rename the classes
    const names = ['SimdnetError', 'ShapeError', 'InputError', 'ConfigError', 'NumericError', 'MemoryError', 'FormatError', 'StateError'];
    for (const name of names) expect(new lib[name]('x').name).toBe(name);
    let error: Error | null = null;
    try { new lib.Linear(0, 3); } catch (e) { error = e as Error; }
    expect(error!.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(lib.SimdnetError);
  });
});
