// The normalization challenge: train and test scaled differently. [0,1]/[0,1] is the baseline;
// [0,1]/[0,255] tests on inputs 255x larger than training saw; [0,255]/[0,1] trains on raw
// pixels with the same learning rate (the loss may diverge: simdnet stops the step with a
// NumericError and leaves the weights as they were, and the table says so).
import { NLLLoss, SGD, NumericError, toTensor, type Tensor } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { pixelHistogram } from './lib/plots.js';

runExample(async () => {
  const flags = exampleFlags('normalization', { epochs: 10, subset: 20000 }, { epochs: 2, subset: 3000 });
  const data = await mnistTensors(flags);
  const raw = (bytes: Uint8Array, n: number): Tensor => toTensor(bytes, [n, 784], 1);
  const unit = { train: data.xTrain, test: data.xTest };
  const byte = { train: raw(data.rawTrain, data.xTrain.shape[0]), test: raw(data.rawTest, data.xTest.shape[0]) };
  const cases = [
    { name: '[0,1] / [0,1]', train: unit.train, test: unit.test },
    { name: '[0,1] / [0,255]', train: unit.train, test: byte.test },
    { name: '[0,255] / [0,1]', train: byte.train, test: unit.test },
  ];
  const rows = [];
  for (const c of cases) {
    const model = courseMlp(flags.seed);
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01 }) });
    let trainLoss: number | string;
    try {
      const history = await model.fit(c.train, data.yTrain, { epochs: flags.epochs, batchSize: 32, seed: flags.seed });
      trainLoss = history.history.loss.at(-1)!;
    } catch (e) {
      if (!(e instanceof NumericError)) throw e;
      trainLoss = `diverged: ${e.message.split(';')[0]}`;
    }
    const test = model.evaluate(c.test, data.yTest);
    rows.push({ 'train / test scale': c.name, 'final train loss': trainLoss, 'test loss': test.loss, 'test accuracy': test.accuracy });
  }
  printTable(rows);
  const pixels = toTensor(data.rawTrain, [data.rawTrain.length], 1).data;
  await savePlots(flags, {
    'pixels-linear': pixelHistogram(pixels, { title: 'MNIST pixel intensities', xTitle: 'pixel value 0..255' }),
    'pixels-log': pixelHistogram(pixels, { logCount: true, title: 'MNIST pixel intensities (log count)', xTitle: 'pixel value 0..255' }),
  });
  printJson(flags, { results: rows });
});
