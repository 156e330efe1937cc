// The main job: the course MLP (784-64-32-32-10, ReLU, LogSoftmax + NLLLoss, SGD) on real MNIST.
//
//   npm run mnist                      10 epochs, SGD lr 0.01, batch 32
//   npm run mnist -- --epochs 3 --json last line: one JSON object with the results

import { parseArgs } from 'node:util';
import {
  init, manualSeed, loadMnist, scalePixels, Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD,
  ProgressBar, SimdnetError, type Tier,
} from '../bindings/index.js';

const USAGE = `usage: npm run mnist -- [--epochs N] [--lr X] [--batch-size N] [--seed N] [--train-limit N] [--tier simd|relaxed|auto] [--json]`;

function options() {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '10' },
      lr: { type: 'string', default: '0.01' },
      'batch-size': { type: 'string', default: '32' },
      seed: { type: 'string', default: '0' },
      'train-limit': { type: 'string' },
      tier: { type: 'string', default: 'simd' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  const num = (name: string, v: string | undefined, integer: boolean) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new Error(`--${name} needs ${integer ? 'an integer' : 'a number'}, got '${v}'\n${USAGE}`);
    }
    return n;
  };
  return {
    epochs: num('epochs', values.epochs, true),
    lr: num('lr', values.lr, false),
    batchSize: num('batch-size', values['batch-size'], true),
    seed: num('seed', values.seed, true),
    trainLimit: values['train-limit'] === undefined ? undefined : num('train-limit', values['train-limit'], true),
    tier: values.tier as Tier,
    json: values.json,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const rt = await init({ tier: opts.tier });
  const mnist = await loadMnist({ trainLimit: opts.trainLimit });
  const xTrain = scalePixels(mnist.train.images);
  const xTest = scalePixels(mnist.test.images);
  const log = opts.json ? () => {} : (s: string) => console.log(s);

  manualSeed(opts.seed);
  const model = new Sequential([
    new Linear(784, 64), new ReLU(),
    new Linear(64, 32), new ReLU(),
    new Linear(32, 32), new ReLU(),
    new Linear(32, 10), new LogSoftmax(1),
  ]);
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: opts.lr }) });
  log(model.summary());
  log(`MNIST: ${mnist.train.count} training and ${mnist.test.count} test images; ` +
    `SGD lr ${opts.lr}, batch ${opts.batchSize}, seed ${opts.seed}, wasm tier '${rt.tier}'`);

  const testAccuracy: number[] = [];
  const history = await model.fit(xTrain, mnist.train.labels, {
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    seed: opts.seed,
    callbacks: [
      new ProgressBar(),
      {
        onEpochEnd(epoch, logs) {
          const test = model.evaluate(xTest, mnist.test.labels);
          testAccuracy.push(test.accuracy);
          log(`epoch ${String(epoch + 1).padStart(2)}/${opts.epochs}  train loss ${logs.loss.toFixed(4)}  ` +
            `train acc ${(logs.accuracy * 100).toFixed(2)}%  test acc ${(test.accuracy * 100).toFixed(2)}%  ` +
            `(${logs.seconds.toFixed(2)} s)`);
        },
      },
    ],
  });
  const final = testAccuracy[testAccuracy.length - 1] ?? model.evaluate(xTest, mnist.test.labels).accuracy;
  log(`final test accuracy: ${(final * 100).toFixed(2)}%`);
  if (opts.json) {
    console.log(JSON.stringify({
      test_accuracy: final,
      test_accuracy_per_epoch: testAccuracy,
      epoch_seconds: history.history.seconds,
      final_train_loss: history.history.loss[history.history.loss.length - 1] ?? null,
      train_accuracy_per_epoch: history.history.accuracy,
      train_loss_per_epoch: history.history.loss,
      config: { epochs: opts.epochs, lr: opts.lr, batch_size: opts.batchSize, seed: opts.seed, tier: rt.tier, train_images: mnist.train.count },
    }));
  }
}

main().catch((e) => {
  console.error(e instanceof SimdnetError ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
