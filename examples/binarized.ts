// Binarized images (every inked pixel -> 1) against grey levels scaled to [0, 1].
import { NLLLoss, SGD, transforms, toTensor } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { lossAccuracyCurves, pixelHistogram } from './lib/plots.js';

runExample(async () => {
  const flags = exampleFlags('binarized', { epochs: 10, subset: 20000 }, { epochs: 2, subset: 3000 });
  const data = await mnistTensors(flags);
  const binarize = new transforms.Binarize(0);
  const variants = [
    { name: 'grey [0, 1]', train: data.xTrain, test: data.xTest },
    { name: 'binarized (pixel > 0)', train: binarize.apply(data.xTrain), test: binarize.apply(data.xTest) },
  ];
  const rows = [], curves = [];
  for (const v of variants) {
    const model = courseMlp(flags.seed);
    model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01 }) });
    const history = await model.fit(v.train, data.yTrain, { epochs: flags.epochs, batchSize: 32, seed: flags.seed });
    const test = model.evaluate(v.test, data.yTest);
    rows.push({ images: v.name, 'final train loss': history.history.loss.at(-1)!, 'test loss': test.loss, 'test accuracy': test.accuracy });
    curves.push({ name: v.name, values: history.history.loss });
  }
  printTable(rows);
  await savePlots(flags, {
    'binarized-loss': lossAccuracyCurves({ title: 'Training loss: grey-level vs binarized images', series: curves, yTitle: 'train loss' }),
    'binarized-pixels': pixelHistogram(toTensor(data.rawTrain, [data.rawTrain.length], 1).data, { logCount: true, title: 'Pixel intensities (log count)', xTitle: 'pixel value 0..255' }),
  });
  printJson(flags, { results: rows });
});
