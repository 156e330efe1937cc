// Softmax against LogSoftmax outputs, both trained with NLLLoss. NLLLoss expects log-probabilities:
// fed probabilities, it minimises -p[label], whose gradient vanishes as p saturates, so the
// softmax model learns far more slowly. The table shows by how much.
import { NLLLoss, SGD, Softmax, LogSoftmax } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { lossAccuracyCurves } from './lib/plots.js';

runExample(async () => {
  const flags = exampleFlags('softmax-vs-logsoftmax', { epochs: 10, subset: 20000 }, { epochs: 2, subset: 3000 });
  const data = await mnistTensors(flags);
  const rows = [], curves = [];
  for (const [name, output] of [['LogSoftmax + NLLLoss', new LogSoftmax(1)], ['Softmax + NLLLoss', new Softmax(1)]] as const) {
    const model = courseMlp(flags.seed, output);
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01 }) });
    const history = await model.fit(data.xTrain, data.yTrain, { epochs: flags.epochs, batchSize: 32, seed: flags.seed });
    const test = model.evaluate(data.xTest, data.yTest);
    rows.push({ output: name, 'final train loss': history.history.loss.at(-1)!, 'train accuracy': history.history.accuracy.at(-1)!, 'test accuracy': test.accuracy });
    curves.push({ name, values: history.history.accuracy });
  }
  printTable(rows);
  await savePlots(flags, { 'softmax-vs-logsoftmax': lossAccuracyCurves({ title: 'Train accuracy: softmax vs log-softmax output with NLLLoss', series: curves, yTitle: 'train accuracy' }) });
  printJson(flags, { results: rows });
});
