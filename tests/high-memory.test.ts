// Addresses at or above 2 GiB (issue 7, item 1). wasm32 addresses 4 GiB, and byte pointers past
// 2^31 turn negative under a signed shift: this file puts everything of its default runtime above
// 2 GiB (a 2 GiB block that is never touched, so it costs address space, not RAM) and checks that
// training, inference and the explicit loop give the same bits as the same models below 2 GiB.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, createRuntime, Sequential, Linear, ReLU, Conv2d, BatchNorm2d, MaxPool2d, Dropout, Flatten, LogSoftmax,
  NLLLoss, CrossEntropyLoss, SGD, Adam, Generator, Tensor, type Runtime,
} from '../bindings/index.js';
import { randomData, sameBits, weightBits } from './helpers/mlp.js';

let high: Runtime, low: Runtime;
beforeAll(async () => {
  high = await init();
  high.heap.alloc(2 ** 31, 'padding: everything after it lies above 2 GiB');
  low = await createRuntime();
});

function mlp(rt: Runtime): Sequential {
  const g = new Generator(1);
  return new Sequential([new Linear(784, 64, { generator: g }), new ReLU(), new Linear(64, 10, { generator: g }), new LogSoftmax(1)], { runtime: rt });
}

function cnn(rt: Runtime): Sequential {
  const g = new Generator(2);
  return new Sequential([
    new Conv2d(1, 8, 5, { padding: 2, generator: g }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
    new Conv2d(8, 8, 5, { padding: 2, generator: g }), new ReLU(), new MaxPool2d(2),   // Winograd (>= 8 input channels)
    new Flatten(), new Dropout(0.25, { generator: g }), new Linear(8 * 7 * 7, 10, { generator: g }),
  ], { inputShape: [1, 28, 28], runtime: rt });
}

describe('models whose buffers sit above 2 GiB', () => {
  const { x, y } = randomData(200, 784, 10, 5);

  it('live above 2 GiB: parameters, gradients and arenas', () => {
    const model = mlp(high);
    model.predict(x.subarray(0, 784));
    expect(model.parameters().ptr).toBeGreaterThanOrEqual(2 ** 31);
    expect(model.parameters().gradPtr).toBeGreaterThanOrEqual(2 ** 31);
    expect(high.heap.byteLength).toBeGreaterThan(2 ** 31);
  });

  it('the MLP trains (labels in i32 views, validation), predicts and evaluates with the same bits as below 2 GiB', async () => {
    const results = [];
    for (const rt of [high, low]) {
      const model = mlp(rt);
      model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.05, momentum: 0.9 }) });
      const history = await model.fit(x, y, { epochs: 2, batchSize: 16, seed: 3, validationSplit: 0.2 });
      results.push({ bits: weightBits(model), history: history.history, p: model.predict(x, { batchSize: 64 }).data, e: model.evaluate(x, y) });
    }
    const [a, b] = results;
    expect(a.history.loss[1]).toBeLessThan(a.history.loss[0]);  // it learned, so the labels arrived
    expect(sameBits(a.bits, b.bits)).toBe(true);
    for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy'] as const) expect(a.history[key]).toEqual(b.history[key]);
    expect(Array.from(a.p)).toEqual(Array.from(b.p));
    expect(a.e).toEqual(b.e);
  });

  it('the CNN (Conv2d im2col and Winograd, BatchNorm, MaxPool, Dropout) trains with Adam with the same bits as below 2 GiB', async () => {
    const results = [];
    for (const rt of [high, low]) {
      const model = cnn(rt);
      model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model) });
      await model.fit(x.subarray(0, 96 * 784), y.subarray(0, 96), { epochs: 1, batchSize: 32, seed: 4 });
      results.push({ bits: weightBits(model), p: model.predict(x.subarray(0, 20 * 784)).data });
    }
    expect(sameBits(results[0].bits, results[1].bits)).toBe(true);
    expect(Array.from(results[0].p)).toEqual(Array.from(results[1].p));
  });

  it('the explicit loop (forward, loss, backward, step, held views) gives the same bits as below 2 GiB', () => {
    const grads = [];
    for (const rt of [high, low]) {
      const model = mlp(rt);
      const opt = new SGD(model, { lr: 0.1 });
      const lossFn = new NLLLoss();
      const w = (model.layers[0] as Linear).weight;
      for (let i = 0; i < 5; i++) {
        const out = model.forward(new Tensor(x.subarray(i * 32 * 784, (i + 1) * 32 * 784), [32, 784]));
        lossFn.forward(out, y.subarray(i * 32, (i + 1) * 32));
        model.zeroGrad();
        model.backward(lossFn.backward());
        opt.step();
      }
      w.data[3] = 0.5;
      grads.push({ g: Array.from(w.grad!), bits: weightBits(model) });
    }
    expect(grads[0].g).toEqual(grads[1].g);
    expect(sameBits(grads[0].bits, grads[1].bits)).toBe(true);
  });
});

describe('the thread pool above 2 GiB', () => {
  it('splits its kernels over pointers past 2^31 (on the workers too) to the bits of one thread below 2 GiB', async () => {
    const { setSplitThresholds } = await import('../bindings/runtime/threads.js');
    const threaded = await createRuntime({ threads: 2 });
    threaded.heap.alloc(2 ** 31, 'padding: everything after it lies above 2 GiB');
    setSplitThresholds({ gemmFlopsPerThread: 1, pointwisePerThread: 1 });
    try {
      const { x, y } = randomData(120, 784, 10, 6);
      const results = [];
      for (const rt of [threaded, low]) {
        const model = mlp(rt);
        model.compile({ loss: new NLLLoss(), optimizer: new Adam(model, { lr: 1e-3 }) });
        await model.fit(x, y, { epochs: 1, batchSize: 40, seed: 4 });
        if (rt === threaded) expect(model.parameters().ptr).toBeGreaterThanOrEqual(2 ** 31);
        results.push({ bits: weightBits(model), p: model.predict(x).data });
        model.dispose();
      }
      expect(threaded.threads).toBe(2);
      expect(sameBits(results[0].bits, results[1].bits)).toBe(true);
      expect(new Uint32Array(results[0].p.buffer)).toEqual(new Uint32Array(results[1].p.buffer));
    } finally {
      setSplitThresholds();
      threaded.stopThreads();
    }
  });
});
