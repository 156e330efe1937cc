// Soak (issue 7): 50 epochs on a small set with every optimizer, callbacks (a scheduler, early
// stopping that restores the best weights, a progress bar drawing to a terminal, evaluate and
// predict in the callbacks) and validation. After the first epoch nothing may grow: not the wasm
// memory, not the heap's blocks, not the process's resident memory (beyond noise).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, Sequential, Linear, ReLU, BatchNorm1d, Dropout, Conv2d, MaxPool2d, Flatten, CrossEntropyLoss,
  SGD, Adam, AdamW, RMSprop, CosineAnnealingLR, StepLR, EarlyStopping, ProgressBar, Generator,
  type Runtime, type Optimizer, type LRScheduler,
} from '../bindings/index.js';
import { randomData } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

const gc = (globalThis as { gc?: () => void }).gc;

function rss(): number {
  gc?.();
  return process.memoryUsage().rss;
}

interface Setup {
  name: string;
  model: () => Sequential;
  optimizer: (m: Sequential) => Optimizer;
  scheduler: (o: Optimizer) => LRScheduler;
}

const mlp = () => {
  const g = new Generator(1);
  return new Sequential([
    new Linear(64, 32, { generator: g }), new BatchNorm1d(32), new ReLU(), new Dropout(0.2, { generator: g }),
    new Linear(32, 10, { generator: g }),
  ]);
};
const cnn = () => {
  const g = new Generator(2);
  return new Sequential([
    new Conv2d(1, 4, 3, { padding: 1, generator: g }), new ReLU(), new MaxPool2d(2), new Flatten(),
    new Linear(64, 10, { generator: g }),
  ], { inputShape: [1, 8, 8] });
};

const setups: Setup[] = [
  { name: 'SGD with momentum, StepLR', model: mlp, optimizer: (m) => new SGD(m, { lr: 0.05, momentum: 0.9 }), scheduler: (o) => new StepLR(o, { stepSize: 10 }) },
  { name: 'Adam (amsgrad), cosine annealing', model: cnn, optimizer: (m) => new Adam(m, { amsgrad: true }), scheduler: (o) => new CosineAnnealingLR(o, { tMax: 50 }) },
  { name: 'AdamW, cosine annealing', model: mlp, optimizer: (m) => new AdamW(m), scheduler: (o) => new CosineAnnealingLR(o, { tMax: 50 }) },
  { name: 'RMSprop (centered, momentum), StepLR', model: cnn, optimizer: (m) => new RMSprop(m, { lr: 1e-3, centered: true, momentum: 0.5 }), scheduler: (o) => new StepLR(o, { stepSize: 20 }) },
];

describe('soak: 50 epochs, every optimizer, callbacks and validation', () => {
  const { x, y } = randomData(240, 64, 10, 7);

  it('the wasm memory, the heap and the resident memory stay flat after the first epoch', async () => {
    const start = { bytes: rt.heap.allocatedBytes, blocks: rt.heap.blockCount };
    let frames = 0, rssFirst = 0, rssLast = 0, wasmFirst = 0;
    const terminal = { isTTY: true, write: () => { frames++; } };
    for (const round of [0, 1]) {   // round 0 warms up the engine (JIT, allocator pools); round 1 is measured
      for (const setup of setups) {
        const model = setup.model();
        const optimizer = setup.optimizer(model);
        model.compile({ loss: new CrossEntropyLoss(), optimizer });
        const at: { wasm: number; allocated: number; blocks: number }[] = [];
        const history = await model.fit(x, y, {
          epochs: 50, batchSize: 16, validationSplit: 0.2, seed: 3,
          callbacks: [
            setup.scheduler(optimizer),
            new EarlyStopping({ monitor: 'val_loss', patience: 1000, restoreBestWeights: true }),
            new ProgressBar({ stream: terminal, intervalMs: 0 }),
            {
              onEpochEnd: (epoch) => {
                model.evaluate(x, y, { batchSize: 64 });
                model.predict(x.subarray(0, 64 * 7), { batchSize: 3 });
                if (epoch === 0 || epoch === 49) at.push({ wasm: rt.heap.byteLength, allocated: rt.heap.allocatedBytes, blocks: rt.heap.blockCount });
                if (round === 1 && epoch === 0 && setup === setups[0]) { rssFirst = rss(); wasmFirst = rt.heap.byteLength; }
                if (round === 1 && epoch === 49 && setup === setups[setups.length - 1]) rssLast = rss();
              },
            },
          ],
        });
        expect(history.epoch.length, setup.name).toBe(50);
        expect(at[1], `${setup.name}: epoch 50 holds what epoch 1 held`).toEqual(at[0]);
        model.dispose();
        expect(rt.heap.allocatedBytes, `${setup.name}: dispose returned everything`).toBe(start.bytes);
        expect(rt.heap.blockCount).toBe(start.blocks);
      }
    }
    expect(frames).toBeGreaterThan(0);
    expect(rt.heap.byteLength, 'the wasm memory did not grow during the measured round').toBe(wasmFirst);
    const grown = (rssLast - rssFirst) / 2 ** 20;
    console.log(`soak: resident memory ${(rssFirst / 2 ** 20).toFixed(1)} -> ${(rssLast / 2 ** 20).toFixed(1)} MiB`);
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    expect(grown, `resident memory grew ${grown.toFixed(1)} MiB over 4 x 50 epochs`).toBeLessThan(8);
  });
});
