// The course experiment: the MLP on a 20,000-image subset with a 90/10 train/validation split,
// 60 epochs of SGD lr 0.01 (the course reports about 95%), then the test set.
//   node dist/examples/course-mlp.js [--epochs 60] [--subset 20000] [--plots DIR] [--json] [--quick]
import { NLLLoss, SGD, classificationReport, confusionMatrix, argmax } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { trainingCurves, confusionMatrixHeatmap } from './lib/plots.js';

runExample(async () => {
  const flags = exampleFlags('course-mlp', { epochs: 60, subset: 20000 }, { epochs: 3, subset: 3000 });
  const data = await mnistTensors(flags);
  const model = courseMlp(flags.seed);
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01 }) });
  const history = await model.fit(data.xTrain, data.yTrain, { epochs: flags.epochs, batchSize: 32, validationSplit: 0.1, seed: flags.seed });
  const test = model.evaluate(data.xTest, data.yTest);
  const h = history.history, last = h.loss.length - 1;
  printTable([
    { set: 'train (90%)', loss: h.loss[last], accuracy: h.accuracy[last] },
    { set: 'validation (10%)', loss: h.val_loss[last], accuracy: h.val_accuracy[last] },
    { set: 'test', loss: test.loss, accuracy: test.accuracy },
  ]);
  const predicted = argmax(model.predict(data.xTest));
  if (!flags.json) console.log('\n' + classificationReport(data.yTest, predicted).toString());
  const curves = await trainingCurves(history, { title: `Course MLP, ${data.xTrain.shape[0]} images, SGD lr 0.01` });
  await savePlots(flags, {
    'course-mlp-loss': curves.loss,
    'course-mlp-accuracy': curves.accuracy,
    'course-mlp-confusion': confusionMatrixHeatmap(confusionMatrix(data.yTest, predicted, { classes: 10 }).toArray(), { title: 'Test confusion matrix' }),
  });
  printJson(flags, { test_accuracy: test.accuracy, test_loss: test.loss, val_accuracy: h.val_accuracy[last], train_loss: h.loss[last], epochs: flags.epochs });
});
