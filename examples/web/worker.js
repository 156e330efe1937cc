// The demo's Web Worker: it owns the data and the model, so training never blocks the page.
//
// Messages from the page:
//   { type: 'train', trainCount, epochs, lr, momentum, batchSize }   a fresh model, trained with fit
//   { type: 'stop' }                                                 stop after the current epoch
//   { type: 'predict', id, pixels: Float32Array(784) }               class probabilities of a drawing
// Messages to the page:
//   ready { info } | begin { epochs, steps, samples }
//   | batch { epoch, batch, steps, loss, accuracy (since the last point), epochLoss, epochAccuracy }
//   | epoch { epoch, loss, accuracy, testLoss, testAccuracy, seconds } | done { confusion, ... }
//   | prediction { id, probs, trained } | error { message }
//
// fit runs an epoch synchronously and yields to the event loop between epochs (and awaits the
// epoch callbacks), so the page's messages (stop, predict) are handled at epoch boundaries: about
// every 0.3 s with 20,000 images in batches of 32. predict is allowed while fit runs (it uses the
// model's inference arena, never the training one), so the drawing is classified by the model as
// it trains.
import {
  init, manualSeed, detectFeatures, scalePixels, argmax, confusionMatrix,
  Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD, Tensor,
} from 'simdnet';
import { fetchDataset } from './dataset.js';

const post = (message, transfer = []) => self.postMessage(message, transfer);

/** Progress points per epoch: enough for smooth live charts, few enough that posting them costs nothing. */
const POINTS_PER_EPOCH = 40;
const SEED = 0;

let data = null;    // { train, test, rows, cols } as bytes
let xTest = null;   // the test images scaled to [0, 1], made once
let model = null;   // the model being trained or last trained (null before the first training)
let trained = false;
let training = false;
let stopRequested = false;

/**
 * Threads: one per core, up to 4, when the page is cross-origin isolated (shared memory needs
 * it); init then says how many it got, and runtime.threadsNote why it got fewer.
 */
const WANTED_THREADS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));

function threadInfo(runtime) {
  const isolated = self.crossOriginIsolated === true;
  const shared = detectFeatures().threads;
  let note;
  if (runtime.threads > 1) note = 'worker pool over shared memory';
  else if (!isolated) note = 'page not cross-origin isolated';
  else if (!shared) note = 'no shared wasm memory here';
  else note = runtime.threadsNote ?? 'one core';
  return { isolated, threads: runtime.threads, note };
}

/** The course MLP: 784-64-32-32-10, ReLU, LogSoftmax (trained with NLLLoss). */
function courseMlp() {
  manualSeed(SEED);
  return new Sequential([
    new Linear(784, 64), new ReLU(),
    new Linear(64, 32), new ReLU(),
    new Linear(32, 32), new ReLU(),
    new Linear(32, 10), new LogSoftmax(1),
  ]);
}

async function start() {
  const runtime = await init({ tier: 'auto', threads: WANTED_THREADS });
  data = await fetchDataset(new URL('mnist.bin.gz', self.location.href));
  xTest = scalePixels(data.test.images);
  post({ type: 'ready', info: { ...threadInfo(runtime), tier: runtime.tier, trainCount: data.train.count, testCount: data.test.count } });
}

async function train({ trainCount, epochs, lr, momentum, batchSize }) {
  if (training) throw new Error('already training');
  training = true;
  stopRequested = false;
  try {
    model?.dispose();
    model = courseMlp();
    trained = false;
    const n = Math.max(1, Math.min(trainCount, data.train.count));
    const x = scalePixels(data.train.images.subarray(0, n * 784));
    const y = data.train.labels.subarray(0, n);
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr, momentum }) });

    // fit's batch logs hold the running mean of the epoch so far; the charts get the mean of the
    // batches since the previous point instead (from the running sums), which shows the model's
    // progress within an epoch rather than an average that lags it and restarts every epoch
    let epochNow = 0, steps = 0, every = 1, seen = 0, lastSeen = 0, lastLossSum = 0, lastCorrect = 0;
    const started = performance.now();
    await model.fit(x, y, {
      epochs, batchSize, seed: SEED,
      callbacks: [{
        onTrainBegin(info) {
          steps = info.steps;
          every = Math.max(1, Math.ceil(steps / POINTS_PER_EPOCH));
          post({ type: 'begin', epochs: info.epochs, steps, samples: info.samples });
        },
        onEpochBegin(epoch) { epochNow = epoch; seen = lastSeen = lastLossSum = lastCorrect = 0; },
        // inside fit's hot loop: a sum and a modulo unless a point is due
        onBatchEnd(batch, logs) {
          seen += logs.size;
          if ((batch + 1) % every !== 0 && batch !== steps - 1) return;
          const lossSum = logs.loss * seen, correct = logs.accuracy * seen, n = seen - lastSeen;
          post({ type: 'batch', epoch: epochNow, batch, steps,
            loss: (lossSum - lastLossSum) / n, accuracy: (correct - lastCorrect) / n,
            epochLoss: logs.loss, epochAccuracy: logs.accuracy });
          lastSeen = seen; lastLossSum = lossSum; lastCorrect = correct;
        },
        async onEpochEnd(epoch, logs) {
          const test = model.evaluate(xTest, data.test.labels, { batchSize: 1000 });
          trained = true;
          post({ type: 'epoch', epoch, loss: logs.loss, accuracy: logs.accuracy, seconds: logs.seconds,
            testLoss: test.loss, testAccuracy: test.accuracy });
          // let the page's queued messages (a stop, a drawing to classify) in before the next epoch
          await new Promise((resolve) => setTimeout(resolve, 0));
          return !stopRequested;
        },
      }],
    });

    const predicted = argmax(model.predict(xTest, { batchSize: 1000 }));
    const matrix = confusionMatrix(data.test.labels, predicted, { classes: 10 });
    let correct = 0;
    for (let c = 0; c < 10; c++) correct += matrix.at(c, c);
    post({ type: 'done', confusion: matrix.toArray(), testAccuracy: correct / data.test.count, stopped: stopRequested,
      seconds: (performance.now() - started) / 1000 });
  } finally {
    training = false;
  }
}

function predict({ id, pixels }) {
  // an untrained model still answers (its guesses are near uniform): the bars work from the start
  model ??= courseMlp();
  const logProbs = model.predict(new Tensor(pixels, [1, 784]));
  post({ type: 'prediction', id, probs: Array.from(logProbs.data, Math.exp), trained });
}

const ready = start();

self.onmessage = async ({ data: message }) => {
  try {
    await ready;
    if (message.type === 'train') await train(message);
    else if (message.type === 'stop') stopRequested = true;
    else if (message.type === 'predict') predict(message);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
ready.catch((e) => post({ type: 'error', message: `could not start: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` }));
