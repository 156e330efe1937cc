// Sequential's API: determinism, fit vs the explicit loop, predict / evaluate, state dicts.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, Sequential, Linear, ReLU, LogSoftmax, Flatten, NLLLoss, CrossEntropyLoss, SGD, Tensor, manualSeed, Generator,
} from '../bindings/index.js';
import { compiledMlp, courseMlp, randomData, sameBits, weightBits } from './helpers/mlp.js';

beforeAll(async () => { await init(); });

describe('Sequential', () => {
  const { x, y } = randomData(500, 784, 10, 9);

  it('is deterministic: the same seed gives bit-identical weights after training; another seed does not', async () => {
    const train = async (seed: number) => {
      const model = compiledMlp(seed);
      await model.fit(x, y, { epochs: 2, batchSize: 32, seed });
      const bits = weightBits(model);
      model.dispose();
      return bits;
    };
    const a = await train(42), b = await train(42), c = await train(43);
    expect(sameBits(a, b)).toBe(true);
    expect(sameBits(a, c)).toBe(false);
  });

  it('initialises like PyTorch: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias', () => {
    manualSeed(1);
    const layer = new Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    const w = layer.weight.data;
    expect(layer.weight.shape).toEqual([300, 400]);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(bound * 0.99);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(bound * 0.01);
    expect(variance).toBeCloseTo(bound * bound / 3, 5);
  });

  it('fit without shuffling equals the explicit loop over the same batches, bit for bit', async () => {
    const a = courseMlp(5), b = courseMlp(5);
    a.compile({ loss: new NLLLoss(), optimizer: new SGD(a, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) });
    await a.fit(x, y, { epochs: 1, batchSize: 50, shuffle: false });
    const lossFn = new NLLLoss();
    const opt = new SGD(b, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    for (let begin = 0; begin < 500; begin += 50) {
      const out = b.forward(new Tensor(x.subarray(begin * 784, (begin + 50) * 784), [50, 784]));
      lossFn.forward(out, y.subarray(begin, begin + 50));
      b.zeroGrad();
      b.backward(lossFn.backward());
      opt.step();
    }
    expect(sameBits(weightBits(a), weightBits(b))).toBe(true);
  });

  it('predict matches forward in eval mode, in any batch size, and evaluate agrees with predict', async () => {
    const model = compiledMlp(2);
    await model.fit(x, y, { epochs: 1, batchSize: 25 });
    const p1 = model.predict(x, { batchSize: 7 });
    const p2 = model.predict(new Tensor(x, [500, 784]), { batchSize: 500 });
    expect(p1.shape).toEqual([500, 10]);
    expect(Array.from(p1.data)).toEqual(Array.from(p2.data));
    // log-probabilities: each row's exp sums to 1
    for (let r = 0; r < 500; r += 97) {
      let s = 0;
      for (let c = 0; c < 10; c++) s += Math.exp(p1.data[r * 10 + c]);
      expect(s).toBeCloseTo(1, 5);
    }
    let correct = 0, nll = 0;
    for (let r = 0; r < 500; r++) {
      const row = Array.from(p1.data.subarray(r * 10, r * 10 + 10));
      if (row.indexOf(Math.max(...row)) === y[r]) correct++;
      nll -= row[y[r]];
    }
    const ev = model.evaluate(x, y, { batchSize: 64 });
    expect(ev.accuracy).toBe(correct / 500);
    expect(ev.loss).toBeCloseTo(nll / 500, 5);
  });

  it('fit reports loss and accuracy in its history, with validation', async () => {
    const model = compiledMlp(3, 0.1);
    const history = await model.fit(x, y, { epochs: 3, batchSize: 20, validationSplit: 0.2 });
    expect(history.epoch).toEqual([0, 1, 2]);
    expect(history.history.loss.length).toBe(3);
    expect(history.history.val_loss.length).toBe(3);
    expect(history.history.loss[2]).toBeLessThan(history.history.loss[0]);
    expect(history.history.seconds.every((s) => s > 0)).toBe(true);
    const v = model.evaluate(x.subarray(400 * 784), y.subarray(400));
    expect(history.history.val_loss[2]).toBeCloseTo(v.loss, 6);
    expect(history.history.val_accuracy[2]).toBe(v.accuracy);
  });

  it('a callback can stop training early', async () => {
    const model = compiledMlp();
    const history = await model.fit(x, y, { epochs: 10, callbacks: [{ onEpochEnd: (e) => e < 1 }] });
    expect(history.epoch).toEqual([0, 1]);
  });

  it('stateDict names parameters like PyTorch and round-trips', () => {
    const a = courseMlp(1), b = courseMlp(2);
    const dict = a.stateDict();
    expect(Object.keys(dict)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias', '6.weight', '6.bias']);
    expect(dict['0.weight'].shape).toEqual([64, 784]);
    expect(sameBits(weightBits(a), weightBits(b))).toBe(false);
    b.loadStateDict(dict);
    expect(sameBits(weightBits(a), weightBits(b))).toBe(true);
    expect(a.parameterCount).toBe(784 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10);
  });

  it('CrossEntropyLoss on logits trains the same network as LogSoftmax + NLLLoss', async () => {
    const gen = () => new Generator(8);
    const g1 = gen(), g2 = gen();
    const withLogSoftmax = new Sequential([new Linear(784, 32, { generator: g1 }), new ReLU(), new Linear(32, 10, { generator: g1 }), new LogSoftmax()]);
    const logits = new Sequential([new Linear(784, 32, { generator: g2 }), new ReLU(), new Linear(32, 10, { generator: g2 })]);
    withLogSoftmax.compile({ loss: new NLLLoss(), optimizer: new SGD(withLogSoftmax, { lr: 0.1 }) });
    logits.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(logits, { lr: 0.1 }) });
    const h1 = await withLogSoftmax.fit(x, y, { epochs: 2, seed: 4 });
    const h2 = await logits.fit(x, y, { epochs: 2, seed: 4 });
    expect(h2.history.loss[1]).toBeCloseTo(h1.history.loss[1], 4);
    const w1 = withLogSoftmax.stateDict()['2.weight'].data, w2 = logits.stateDict()['2.weight'].data;
    for (let i = 0; i < w1.length; i++) expect(Math.abs(w1[i] - w2[i])).toBeLessThan(1e-4);
  });

  it('Flatten lets a model take images shaped [N, 1, 28, 28]', () => {
    const model = new Sequential([new Flatten(), new Linear(784, 10)]);
    const out = model.predict(new Tensor(x.subarray(0, 784 * 3), [3, 1, 28, 28]));
    expect(out.shape).toEqual([3, 10]);
    expect(model.inputShape).toEqual([1, 28, 28]);
    expect(model.summary()).toContain('Flatten');
  });
});
