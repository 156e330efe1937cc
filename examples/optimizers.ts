// SGD against Momentum, RMSprop and Adam on the same MLP, from the same initial weights.
import { NLLLoss } from '../bindings/index.js';
import { courseMlp, exampleFlags, makeOptimizer, mnistTensors, printJson, printTable, runExample, savePlots, type OptimizerName } from './lib/common.js';
import { lossAccuracyCurves } from './lib/plots.js';

const RUNS: { name: OptimizerName; label: string; lr: number }[] = [
  { name: 'sgd', label: 'SGD lr 0.01', lr: 0.01 },
  { name: 'momentum', label: 'SGD momentum 0.9, lr 0.01', lr: 0.01 },
  { name: 'rmsprop', label: 'RMSprop lr 0.001', lr: 0.001 },
  { name: 'adam', label: 'Adam lr 0.001', lr: 0.001 },
];

runExample(async () => {
  const flags = exampleFlags('optimizers', { epochs: 10, subset: 20000 }, { epochs: 2, subset: 3000 });
  const data = await mnistTensors(flags);
  const rows = [], loss = [], acc = [];
  for (const run of RUNS) {
    const model = courseMlp(flags.seed);
    model.compile({ loss: new NLLLoss(), optimizer: makeOptimizer(run.name, model, run.lr) });
    const history = await model.fit(data.xTrain, data.yTrain, { epochs: flags.epochs, batchSize: 32, seed: flags.seed });
    const test = model.evaluate(data.xTest, data.yTest);
    rows.push({ optimizer: run.label, 'final train loss': history.history.loss.at(-1)!, 'test accuracy': test.accuracy, 'seconds/epoch': history.history.seconds.reduce((a, b) => a + b, 0) / history.history.seconds.length });
    loss.push({ name: run.label, values: history.history.loss });
    acc.push({ name: run.label, values: history.history.accuracy });
  }
  printTable(rows);
  await savePlots(flags, {
    'optimizers-loss': lossAccuracyCurves({ title: 'Training loss by optimizer', series: loss, yTitle: 'train loss' }),
    'optimizers-accuracy': lossAccuracyCurves({ title: 'Training accuracy by optimizer', series: acc, yTitle: 'train accuracy' }),
  });
  printJson(flags, { results: rows });
});
