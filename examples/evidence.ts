// The evidence for every class for one test image (the logits the last Linear layer produces,
// and their softmax), and the list of misclassified test images.
//   node dist/examples/evidence.js [--image 0] ...
import { CrossEntropyLoss, SGD, argmax, Tensor } from '../bindings/index.js';
import { courseMlp, exampleFlags, mnistTensors, printJson, printTable, runExample, savePlots } from './lib/common.js';
import { barChart, digitGrid } from './lib/plots.js';

runExample(async () => {
  const imageFlag = process.argv.indexOf('--image');
  const image = imageFlag > 0 ? Number(process.argv.splice(imageFlag, 2)[1]) : 0;
  const flags = exampleFlags('evidence', { epochs: 10, subset: 20000 }, { epochs: 2, subset: 3000 });
  const data = await mnistTensors(flags);
  if (!Number.isInteger(image) || image < 0 || image >= data.xTest.shape[0]) throw new Error(`--image must be a test index in [0, ${data.xTest.shape[0]})`);
  const model = courseMlp(flags.seed, null); // ends in Linear(32, 10): its outputs are the logits
  model.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(model, { lr: 0.01, momentum: 0.9 }) });
  await model.fit(data.xTrain, data.yTrain, { epochs: flags.epochs, batchSize: 32, seed: flags.seed });

  const logits = model.predict(new Tensor(data.xTest.data.subarray(image * 784, (image + 1) * 784), [1, 784])).data;
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  if (!flags.json) console.log(`Test image ${image}: true label ${data.yTest[image]}, predicted ${argmax(new Tensor(logits, [1, 10]))[0]}`);
  printTable(Array.from(logits, (v, c) => ({ class: c, 'evidence (logit)': v, probability: exps[c] / sum })));

  const predicted = argmax(model.predict(data.xTest));
  const wrong = Array.from(predicted.keys()).filter((i) => predicted[i] !== data.yTest[i]);
  if (!flags.json) {
    console.log(`\n${wrong.length} of ${predicted.length} test images misclassified; the first 20:`);
    printTable(wrong.slice(0, 20).map((i) => ({ index: i, true: data.yTest[i], predicted: predicted[i] })));
  }
  await savePlots(flags, {
    'evidence': barChart({ categories: Array.from({ length: 10 }, (_, c) => String(c)), values: Array.from(logits), title: `Evidence per class for test image ${image} (true ${data.yTest[image]})`, yTitle: 'logit' }),
    'misclassified': digitGrid(wrong.slice(0, 32).map((i) => ({ pixels: data.rawTest.subarray(i * 784, (i + 1) * 784), caption: `${data.yTest[i]} → ${predicted[i]}` })), { columns: 8, title: 'Misclassified test digits (true → predicted)' }),
  });
  printJson(flags, { image, label: data.yTest[image], logits: Array.from(logits), misclassified: wrong.length, test_images: predicted.length });
});
