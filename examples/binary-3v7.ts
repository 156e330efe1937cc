// A binary classifier: 3 against 7, one sigmoid output and binary cross-entropy.
import { Sequential, Linear, ReLU, Sigmoid, BCELoss, SGD, manualSeed, toTensor, Tensor, classificationReport, confusionMatrix } from '../bindings/index.js';
import { exampleFlags, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { loadMnist } from '../bindings/index.js';
import { confusionMatrixHeatmap, trainingCurves } from './lib/plots.js';

/** Images of 3s and 7s with targets 0 (a 3) and 1 (a 7). */
function threesAndSevens(images: Uint8Array, labels: Uint8Array, limit?: number): { x: Tensor; y: Float32Array } {
  const keep: number[] = [];
  for (let i = 0; i < labels.length && (limit === undefined || keep.length < limit); i++) if (labels[i] === 3 || labels[i] === 7) keep.push(i);
  const bytes = new Uint8Array(keep.length * 784);
  keep.forEach((i, r) => bytes.set(images.subarray(i * 784, (i + 1) * 784), r * 784));
  return { x: toTensor(bytes, [keep.length, 784]), y: Float32Array.from(keep, (i) => (labels[i] === 7 ? 1 : 0)) };
}

runExample(async () => {
  const flags = exampleFlags('binary-3v7', { epochs: 5 }, { epochs: 2, subset: 20000 });
  const m = await loadMnist({ subset: flags.subset, testLimit: flags.testLimit });
  const train = threesAndSevens(m.train.images, m.train.labels);
  const test = threesAndSevens(m.test.images, m.test.labels);
  manualSeed(flags.seed);
  const model = new Sequential([new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 1), new Sigmoid()]);
  model.compile({ loss: new BCELoss(), optimizer: new SGD(model, { lr: 0.01 }) });
  const history = await model.fit(train.x, train.y, { epochs: flags.epochs, batchSize: 32, seed: flags.seed, validationSplit: 0.1 });
  const result = model.evaluate(test.x, test.y);
  const p = model.predict(test.x).data;
  const predicted = Int32Array.from(p, (v) => (v > 0.5 ? 1 : 0));
  const truth = Int32Array.from(test.y);
  printTable([
    { set: 'train', images: train.x.shape[0], loss: history.history.loss.at(-1)!, accuracy: history.history.accuracy.at(-1)! },
    { set: 'test', images: test.x.shape[0], loss: result.loss, accuracy: result.accuracy },
  ]);
  if (!flags.json) console.log('\n' + classificationReport(truth, predicted, { targetNames: ['3', '7'] }).toString());
  const curves = await trainingCurves(history, { title: '3 vs 7, sigmoid + BCE' });
  await savePlots(flags, {
    'binary-3v7-loss': curves.loss,
    'binary-3v7-confusion': confusionMatrixHeatmap(confusionMatrix(truth, predicted, { classes: 2 }).toArray(), { labels: ['3', '7'], title: '3 vs 7: test confusion matrix' }),
  });
  printJson(flags, { test_accuracy: result.accuracy, test_loss: result.loss, train_images: train.x.shape[0], test_images: test.x.shape[0] });
});
