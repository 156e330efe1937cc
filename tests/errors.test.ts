// Bad input gets a typed error that names the problem, thrown before any state changes: the
// weights (and the optimizer's state) stay bit-identical.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, createRuntime, Sequential, Linear, ReLU, Flatten, LogSoftmax, NLLLoss, SGD, Tensor,
  ShapeError, InputError, ConfigError, StateError, NumericError, MemoryError, SimdnetError,
} from '../bindings/index.js';
import { compiledMlp, courseMlp, randomData, sameBits, weightBits } from './helpers/mlp.js';

beforeAll(async () => { await init(); });

/** Runs `action`, expects an error of `type` whose message matches `message`, and checks the weights did not move. */
async function expectRejected(model: Sequential, action: () => unknown, type: typeof SimdnetError, message: RegExp): Promise<void> {
  const before = weightBits(model);
  let error: unknown = null;
  try { await action(); } catch (e) { error = e; }
  expect(error, 'an error was thrown').toBeInstanceOf(type);
  expect(error).toBeInstanceOf(SimdnetError);
  expect((error as Error).message).toMatch(message);
  expect(sameBits(before, weightBits(model)), 'weights are bit-identical').toBe(true);
}

describe('fit rejects bad input and leaves the weights bit-identical', () => {
  const { x, y } = randomData(64, 784, 10);

  it('wrong input length', async () => {
    const model = compiledMlp();
    await model.fit(x, y, { epochs: 1, batchSize: 16, seed: 1 }); // momentum-free SGD has no state, but train a bit first
    await expectRejected(model, () => model.fit(x.subarray(0, 784 * 3 + 5), y.subarray(0, 3)), ShapeError,
      /length 2357.*not a multiple of the per-sample size 784/);
  });

  it('wrong input shape', async () => {
    const model = compiledMlp();
    await expectRejected(model, () => model.fit(new Tensor(x, [64, 28, 28]), y), ShapeError,
      /per-sample shape \[28, 28\].*expects \[784\]/);
    await expectRejected(model, () => model.fit(new Tensor(x.subarray(0, 784 * 16), [16, 49, 16]), y.subarray(0, 16)), ShapeError, /\[49, 16\]/);
  });

  it('label count differs from the sample count', async () => {
    const model = compiledMlp();
    await expectRejected(model, () => model.fit(x, y.subarray(0, 63)), ShapeError, /63 labels for 64 samples/);
  });

  it('labels out of range', async () => {
    const model = compiledMlp();
    const bad = y.slice(); bad[17] = 10;
    await expectRejected(model, () => model.fit(x, bad), InputError, /label 17 is 10: labels must lie in \[0, 9\]/);
    bad[17] = -1;
    await expectRejected(model, () => model.fit(x, bad), InputError, /label 17 is -1/);
  });

  it('labels that are not integers', async () => {
    const model = compiledMlp();
    const bad = Float32Array.from(y); bad[5] = 2.5;
    await expectRejected(model, () => model.fit(x, bad), InputError, /label 5 is 2.5: labels must be integers/);
    const nan = Array.from(y); nan[9] = NaN;
    await expectRejected(model, () => model.fit(x, nan), InputError, /label 9 is NaN/);
  });

  it('NaN or Infinity in the input', async () => {
    const model = compiledMlp();
    for (const [at, v] of [[100, NaN], [784 * 63 + 783, Infinity], [0, -Infinity]] as const) {
      const bad = x.slice(); bad[at] = v;
      await expectRejected(model, () => model.fit(bad, y), InputError, new RegExp(`contains ${v} at index ${at}`));
    }
  });

  it('batch size 0 and an empty batch', async () => {
    const model = compiledMlp();
    await expectRejected(model, () => model.fit(x, y, { batchSize: 0 }), ConfigError, /batchSize must be an integer >= 1, got 0/);
    await expectRejected(model, () => model.fit(x, y, { batchSize: 2.5 }), ConfigError, /batchSize/);
    await expectRejected(model, () => model.fit(new Float32Array(0), new Int32Array(0)), InputError, /empty \(batch size 0\)/);
    await expectRejected(model, () => model.predict(new Tensor(new Float32Array(0), [0, 784])), InputError, /batch size 0/);
  });

  it('fit before compile', async () => {
    const model = courseMlp();
    await expectRejected(model, () => model.fit(x, y), StateError, /fit\(\) called before compile\(\)/);
    await expectRejected(model, () => model.evaluate(x, y), StateError, /before compile/);
  });

  it('invalid fit options', async () => {
    const model = compiledMlp();
    await expectRejected(model, () => model.fit(x, y, { epochs: -1 }), ConfigError, /epochs must be an integer >= 0/);
    await expectRejected(model, () => model.fit(x, y, { validationSplit: 1.5 }), ConfigError, /validationSplit must be in \(0, 1\)/);
  });

  it('a diverging loss stops the step (NumericError) and keeps the weights of the last good step', async () => {
    const model = compiledMlp();
    const dict = model.stateDict();
    dict['6.weight'].data.fill(3e38); // the last Linear overflows to Infinity, so the loss is not finite
    model.loadStateDict(dict);
    await expectRejected(model, () => model.fit(x, y, { batchSize: 8 }), NumericError, /loss is (NaN|Infinity) at epoch 1, batch 1; the step was not applied/);
  });
});

describe('explicit loop and API misuse', () => {
  it('optimizer.step refuses NaN gradients and applies nothing', async () => {
    const model = courseMlp();
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
    (model.layers[2] as Linear).weight.grad![3] = NaN;
    await expectRejected(model, () => opt.step(), NumericError, /gradient of parameter 'weight' contains NaN or Infinity; the step was not applied/);
  });

  it('backward before forward, and a gradient of the wrong shape', async () => {
    const model = courseMlp();
    await expectRejected(model, () => model.backward(new Tensor(new Float32Array(10), [1, 10])), StateError, /before forward/);
    model.forward(new Tensor(new Float32Array(2 * 784), [2, 784]));
    await expectRejected(model, () => model.backward(new Tensor(new Float32Array(30), [3, 10])), ShapeError,
      /\[3, 10\] does not match the last output \[2, 10\]/);
  });

  it('a layer that does not fit the previous output is refused by add()', () => {
    const model = new Sequential([new Linear(784, 64), new ReLU()]);
    expect(() => model.add(new Linear(32, 10))).toThrow(ShapeError);
    expect(() => model.add(new Linear(32, 10))).toThrow(/cannot add Linear\(in_features=32.*output shape \[64\].*expects per-sample input shape \[32\]/);
    expect(model.layers.length).toBe(2);
    const image = new Sequential([new Linear(784, 10)]);
    expect(() => new Sequential([], { inputShape: [1, 28, 28] }).add(new Linear(784, 10))).toThrow(/add Flatten\(\) before it/);
    expect(new Sequential([new Flatten(), new Linear(784, 10)], { inputShape: [1, 28, 28] }).outputShape).toEqual([10]);
    image.dispose();
  });

  it('loadStateDict checks every name and shape before writing anything', async () => {
    const model = courseMlp();
    const dict = model.stateDict();
    const wrong = { ...dict, '0.weight': new Tensor(new Float32Array(784 * 63), [63, 784]) };
    dict['6.bias'].data.fill(1); // a valid change that must not be applied either
    await expectRejected(model, () => model.loadStateDict({ ...wrong, '6.bias': dict['6.bias'] }), ShapeError, /'0.weight' has shape \[63, 784\], the model needs \[64, 784\]/);
    const { ['2.bias']: _, ...missing } = dict;
    await expectRejected(model, () => model.loadStateDict(missing), ShapeError, /missing parameter '2.bias'/);
    await expectRejected(model, () => model.loadStateDict({ ...dict, 'extra.weight': dict['0.bias'] }), ShapeError, /unexpected parameter 'extra.weight'/);
  });

  it('invalid hyperparameters and layer sizes', () => {
    const model = courseMlp();
    expect(() => new SGD(model, { lr: 0 })).toThrow(/SGD: lr must be a positive number, got 0/);
    expect(() => new SGD(model, { lr: -1 })).toThrow(ConfigError);
    expect(() => new SGD(model, { lr: NaN })).toThrow(ConfigError);
    expect(() => new SGD(model, { lr: 0.1, weightDecay: -1 })).toThrow(/weightDecay must be >= 0/);
    expect(() => new SGD(model, { lr: 0.1, momentum: -0.5 })).toThrow(/momentum must be >= 0/);
    expect(() => new SGD(model, { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires momentum > 0/);
    expect(() => new Linear(0, 3)).toThrow(/inFeatures must be a positive integer, got 0/);
    expect(() => new Linear(3, 2.5)).toThrow(ConfigError);
    expect(() => new LogSoftmax(0)).toThrow(ConfigError);
    expect(() => model.compile({ loss: 'mse' as never, optimizer: 'sgd' })).toThrow(/loss must be a Loss/);
    const other = courseMlp();
    expect(() => model.compile({ loss: new NLLLoss(), optimizer: new SGD(other, { lr: 0.1 }) })).toThrow(/another model/);
  });

  it('an optimizer made before a layer was added refuses to step', () => {
    const model = new Sequential([new Linear(4, 3)]);
    const opt = new SGD(model, { lr: 0.1 });
    model.add(new ReLU());
    expect(() => opt.step()).toThrow(StateError);
  });

  it('use after dispose', () => {
    const model = courseMlp();
    model.dispose();
    expect(() => model.forward(new Float32Array(784))).toThrow(/disposed/);
  });

  it('a plan over the memory limit is a MemoryError that names the allocation', async () => {
    const rt = await createRuntime({ maxMemoryBytes: 8 * 1024 * 1024 });
    const model = new Sequential([new Linear(784, 64), new ReLU(), new Linear(64, 10)], { runtime: rt });
    const before = weightBits(model);
    expect(() => model.predict(new Float32Array(784 * 4000), { batchSize: 4000 }))
      .toThrow(/out of memory: inference arena for batch 4000 needs the wasm memory to reach .* MiB, over the limit of 8.0 MiB/);
    expect(sameBits(before, weightBits(model))).toBe(true);
    expect(model.predict(new Float32Array(784 * 10)).shape).toEqual([10, 10]); // still usable
    expect(() => new Sequential([new Linear(5000, 1000)], { runtime: rt })).toThrow(MemoryError);
  });
});

describe('predict and forward check every batch for NaN / Infinity', () => {
  it('names the position of the bad value, in any batch', () => {
    const model = courseMlp();
    const x = new Float32Array(784 * 40);
    x[784 * 33 + 5] = NaN;
    expect(() => model.predict(x, { batchSize: 16 })).toThrow(InputError);
    expect(() => model.predict(x, { batchSize: 16 })).toThrow(/predict: x contains NaN at index 25877: inputs must be finite/);
    x[784 * 33 + 5] = 0; x[3] = -Infinity;
    expect(() => model.forward(new Tensor(x, [40, 784]))).toThrow(/forward: x contains -Infinity at index 3/);
  });
});

describe('evaluate checks its input too', () => {
  it('NaN in evaluation data is an InputError naming its position', async () => {
    const model = compiledMlp();
    const { x, y } = randomData(50, 784, 10, 3);
    x[784 * 49 + 1] = Infinity;
    await expectRejected(model, () => model.evaluate(x, y, { batchSize: 20 }), InputError, /evaluate: x contains Infinity at index 38417/);
  });

  it('NaN in validationData is refused before the first step', async () => {
    const model = compiledMlp();
    const { x, y } = randomData(50, 784, 10, 3);
    const vx = x.slice(); vx[7] = NaN;
    await expectRejected(model, () => model.fit(x, y, { validationData: [vx, y] }), InputError, /validationData x contains NaN at index 7/);
  });
});
