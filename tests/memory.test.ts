// Plan once, allocate never: after the first training step the wasm memory does not grow and
// the heap hands out no new blocks, over many steps of fit and of the explicit loop.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, NLLLoss, SGD, Tensor, type Runtime } from '../bindings/index.js';
import { courseMlp, randomData } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

describe('memory plan', () => {
  it('fit: no growth and no allocation after the first step, over 3 epochs x 63 steps', async () => {
    const model = courseMlp();
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01, momentum: 0.9 }) });
    const { x, y } = randomData(2000, 784, 10);
    let bytesAfterFirst = -1, growsAfterFirst = -1, allocatedAfterFirst = -1, steps = 0;
    const buffers = new Set<ArrayBuffer>();
    await model.fit(x, y, {
      epochs: 3, batchSize: 32, validationSplit: 0.1,
      callbacks: [{
        onBatchEnd() {
          steps++;
          buffers.add(rt.kernels.memory.buffer);
          if (steps === 1) {
            bytesAfterFirst = rt.kernels.memory.buffer.byteLength;
            growsAfterFirst = rt.heap.growCount;
            allocatedAfterFirst = rt.heap.allocatedBytes;
          }
        },
      }],
    });
    expect(steps).toBe(3 * Math.ceil(1800 / 32));
    expect(rt.kernels.memory.buffer.byteLength).toBe(bytesAfterFirst);
    expect(rt.heap.growCount).toBe(growsAfterFirst);
    expect(rt.heap.allocatedBytes).toBe(allocatedAfterFirst);
    expect(buffers.size, 'the memory buffer was never replaced').toBe(1);
  });

  it('explicit loop: no growth after the first iteration', () => {
    const model = courseMlp(3);
    const lossFn = new NLLLoss();
    const opt = new SGD(model, { lr: 0.05 });
    const { x, y } = randomData(64, 784, 10, 4);
    const step = () => {
      const out = model.forward(new Tensor(x, [64, 784]));
      const loss = lossFn.forward(out, y);
      model.zeroGrad();
      model.backward(lossFn.backward());
      opt.step();
      return loss;
    };
    const first = step();
    const bytes = rt.kernels.memory.buffer.byteLength, allocated = rt.heap.allocatedBytes;
    let last = first;
    for (let i = 0; i < 200; i++) last = step();
    expect(rt.kernels.memory.buffer.byteLength).toBe(bytes);
    expect(rt.heap.allocatedBytes).toBe(allocated);
    expect(last).toBeLessThan(first); // and it learns: 64 random samples get memorised
  });

  it('dispose returns the model memory to the heap', () => {
    const before = rt.heap.allocatedBytes;
    const model = courseMlp();
    model.predict(new Float32Array(784 * 300));
    expect(rt.heap.allocatedBytes).toBeGreaterThan(before);
    model.dispose();
    expect(rt.heap.allocatedBytes).toBe(before);
  });
});
