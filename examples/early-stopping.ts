// Train / validation / test: a seeded random split of the training images into training and
// validation sets, EarlyStopping on the validation loss that puts back the best epoch's
// weights, and the untouched test set at the end.
import { NLLLoss, SGD, EarlyStopping, TensorDataset, randomSplit, toArrays } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { trainingCurves } from './lib/plots.js';

runExample(async () => {
  const flags = exampleFlags('early-stopping', { epochs: 100, subset: 20000 }, { epochs: 4, subset: 3000 });
  const data = await mnistTensors(flags);
  const [trainSet, valSet] = randomSplit(new TensorDataset(data.xTrain, data.yTrain), [0.8, 0.2], { seed: flags.seed });
  const train = toArrays(trainSet), val = toArrays(valSet);
  const model = courseMlp(flags.seed);
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01, momentum: 0.9 }) });
  const stopper = new EarlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true });
  const history = await model.fit(train.x, train.y, { epochs: flags.epochs, batchSize: 32, seed: flags.seed, validationData: [val.x, val.y], callbacks: [stopper] });
  const test = model.evaluate(data.xTest, data.yTest);
  const best = stopper.bestEpoch;
  printTable([
    { '': 'images', train: train.x.shape[0], validation: val.x.shape[0], test: data.xTest.shape[0] },
    { '': `loss (best epoch ${best + 1})`, train: history.history.loss[best], validation: history.history.val_loss[best], test: test.loss },
    { '': `accuracy (best epoch ${best + 1})`, train: history.history.accuracy[best], validation: history.history.val_accuracy[best], test: test.accuracy },
  ]);
  if (!flags.json) {
    console.log(stopper.stoppedEpoch >= 0
      ? `stopped after epoch ${stopper.stoppedEpoch + 1}: no val_loss improvement for ${stopper.patience} epochs; weights of epoch ${best + 1} restored`
      : `ran all ${flags.epochs} epochs; weights of the best epoch ${best + 1} restored`);
  }
  const curves = await trainingCurves(history, { title: 'Train vs validation, early stopping on val_loss' });
  await savePlots(flags, { 'early-stopping-loss': curves.loss, 'early-stopping-accuracy': curves.accuracy });
  printJson(flags, { best_epoch: best, stopped_epoch: stopper.stoppedEpoch, test_accuracy: test.accuracy, val_loss: history.history.val_loss[best] });
});
