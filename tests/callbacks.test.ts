import { beforeAll, describe, expect, it } from 'vitest';
import { init, EarlyStopping, ConfigError, Sequential, Linear, CrossEntropyLoss, SGD, Generator } from '../bindings/index.js';
import { randomData, sameBits, weightBits } from './helpers/mlp.js';

beforeAll(async () => { await init(); });

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and restores the best weights', async () => {
    // memorising random labels: training loss falls while validation loss rises
    const { x, y } = randomData(300, 20, 5, 8);
    const g = new Generator(2);
    const model = new Sequential([new Linear(20, 64, { generator: g }), new Linear(64, 5, { generator: g })]);
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(model, { lr: 0.5, momentum: 0.9 }) });
    const stop = new EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
    let bestBits: Map<string, Uint32Array> | null = null;
    const history = await model.fit(x, y, {
      epochs: 50, batchSize: 10, validationSplit: 0.3, seed: 1,
      callbacks: [stop, { onEpochEnd: (e) => { if (e === stop.bestEpoch) bestBits = weightBits(model); } }],
    });
    expect(stop.stoppedEpoch).toBeGreaterThan(0);
    expect(history.epoch.length).toBe(stop.stoppedEpoch + 1);
    expect(stop.stoppedEpoch - stop.bestEpoch).toBe(2); // patience 2: the second epoch without improvement stops
    expect(Math.min(...history.history.val_loss)).toBe(stop.best);
    expect(sameBits(weightBits(model), bestBits!)).toBe(true);
  });

  it('mode auto: accuracies are maximised, losses minimised; bad options and a missing log are errors', async () => {
    expect(new EarlyStopping({ monitor: 'val_accuracy' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'loss' }).mode).toBe('min');
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(ConfigError);
    expect(() => new EarlyStopping({ mode: 'up' as never })).toThrow(ConfigError);
    const model = new Sequential([new Linear(4, 2)]);
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(model, { lr: 0.1 }) });
    const { x, y } = randomData(20, 4, 2, 1);
    // refused before the first step: the weights stay as they were
    const before = weightBits(model);
    await expect(model.fit(x, y, { epochs: 2, callbacks: [new EarlyStopping()] })).rejects.toThrow(/monitors 'val_loss', but fit has no validation data.*validationSplit/);
    expect(sameBits(before, weightBits(model))).toBe(true);
  });
});
