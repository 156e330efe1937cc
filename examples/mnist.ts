// The main job: the course MLP (784-64-32-32-10, ReLU, LogSoftmax + NLLLoss, SGD) on real MNIST.
//
//   npm run mnist                                   10 epochs, SGD lr 0.01, batch 32
//   npm run mnist -- --model cnn                    the CNN: 3 epochs, Adam lr 0.001 cosine-annealed to 0, batch 64
//   npm run mnist -- --optimizer adam --lr 0.001 --epochs 5
//   npm run mnist -- --validation-split 0.1 --plots charts/
//   npm run mnist -- --epochs 3 --json              last line: one JSON object with the results
//   npm run mnist -- --save mlp.safetensors         a checkpoint after every epoch (weights, optimizer, position)
//   npm run mnist -- --resume mlp.safetensors --epochs 20    continue that run to 20 epochs in all
//   npm run mnist -- --epochs 10 --stop-after 3 --save x.safetensors    stop as if interrupted after epoch 3
//   npm run mnist -- --export-onnx mlp.onnx         the trained model as ONNX

import { parseArgs } from 'node:util';
import {
  init, loadMnist, scalePixels, NLLLoss, CrossEntropyLoss, CosineAnnealingLR, type Optimizer, type Callback, ProgressBar, SimdnetError, argmax, classificationReport,
  confusionMatrix, type Tier, saveModelFile, loadCheckpointFile, Conv2d, type Sequential, ConfigError,
} from '../bindings/index.js';
import { OPTIMIZERS, courseMlp, mnistCnn, makeOptimizer, type OptimizerName } from './lib/common.js';

const MODELS = ['mlp', 'cnn'] as const;
const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;
type ModelName = (typeof MODELS)[number];

const USAGE = `usage: npm run mnist -- [--model mlp|cnn] [--epochs N] [--lr X] [--batch-size N] [--lr-schedule none|cosine] [--optimizer ${OPTIMIZERS.join('|')}] ` +
  `[--validation-split F] [--plots DIR] [--seed N] [--train-limit N] [--test-limit N] [--tier simd|relaxed|auto] ` +
  `[--save FILE] [--resume FILE] [--stop-after N] [--export-onnx FILE] [--json]`;

function options() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'mlp' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      'validation-split': { type: 'string' },
      plots: { type: 'string' },
      'batch-size': { type: 'string' },
      'lr-schedule': { type: 'string' },
      seed: { type: 'string', default: '0' },
      'train-limit': { type: 'string' },
      'test-limit': { type: 'string' },
      tier: { type: 'string', default: 'simd' },
      save: { type: 'string' },
      resume: { type: 'string' },
      'export-onnx': { type: 'string' },
      'stop-after': { type: 'string' },
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
  const model = values.model as ModelName;
  if (!MODELS.includes(model)) throw new Error(`--model must be one of ${MODELS.join(', ')}, got '${model}'\n${USAGE}`);
  // each model's recipe: the course's MLP (SGD), the CNN of issue 4 (Adam, batch 64)
  // (the CNN's rate is annealed to 0 over the run: at a constant 1e-3 its test accuracy wanders
  // by +-0.2% from epoch to epoch, in PyTorch as here)
  const recipe = model === 'cnn' ? { epochs: '3', optimizer: 'adam', batchSize: '64', schedule: 'cosine' }
    : { epochs: '10', optimizer: 'sgd', batchSize: '32', schedule: 'none' };
  const lrSchedule = values['lr-schedule'] ?? recipe.schedule;
  if (lrSchedule !== 'none' && lrSchedule !== 'cosine') throw new Error(`--lr-schedule must be none or cosine, got '${lrSchedule}'\n${USAGE}`);
  const optimizer = (values.optimizer ?? recipe.optimizer) as OptimizerName;
  if (!OPTIMIZERS.includes(optimizer)) throw new Error(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${optimizer}'\n${USAGE}`);
  return {
    model,
    lrSchedule,
    epochs: num('epochs', values.epochs ?? recipe.epochs, true),
    // the usual starting points: 0.01 for SGD, 0.001 for the adaptive methods
    lr: values.lr === undefined ? (optimizer === 'sgd' || optimizer === 'momentum' ? 0.01 : 0.001) : num('lr', values.lr, false),
    optimizer,
    validationSplit: values['validation-split'] === undefined ? undefined : num('validation-split', values['validation-split'], false),
    plots: values.plots,
    batchSize: num('batch-size', values['batch-size'] ?? recipe.batchSize, true),
    seed: num('seed', values.seed, true),
    trainLimit: values['train-limit'] === undefined ? undefined : num('train-limit', values['train-limit'], true),
    testLimit: values['test-limit'] === undefined ? undefined : num('test-limit', values['test-limit'], true),
    tier: values.tier as Tier,
    save: values.save,
    resume: values.resume,
    exportOnnx: values['export-onnx'],
    stopAfter: values['stop-after'] === undefined ? undefined : num('stop-after', values['stop-after'], true),
    json: values.json,
  };
}

/** Steps a scheduler after every batch (the CNN's cosine schedule runs over all steps of the run). */
function everyBatch(schedule: CosineAnnealingLR): Callback {
  return { onBatchEnd() { schedule.step(); } };
}

/** The input preprocessing a model of this kind trains on, recorded in its files. */
const PREPROCESSING = { mlp: 'unit', cnn: 'standard' } as const;

async function main(): Promise<void> {
  const opts = options();
  const rt = await init({ tier: opts.tier });
  const mnist = await loadMnist({ trainLimit: opts.trainLimit, testLimit: opts.testLimit });
  // The CNN also standardises with MNIST's pixel mean and std, as PyTorch's MNIST example does
  // (transforms.Normalize((0.1307,), (0.3081,))); the course MLP trains on [0, 1].
  const prepare = (images: Uint8Array) => {
    const x = scalePixels(images);
    if (opts.model === 'cnn') for (let i = 0; i < x.length; i++) x[i] = (x[i] - MNIST_MEAN) / MNIST_STD;
    return x;
  };
  const xTrain = prepare(mnist.train.images);
  const xTest = prepare(mnist.test.images);
  const log = opts.json ? () => {} : (s: string) => console.log(s);

  // a run resumed from a checkpoint (weights, optimizer, scheduler, epoch, generators) continues
  // exactly where it stopped; otherwise the model of --model, as the recipe makes it
  const stepsPerEpoch = Math.ceil((mnist.train.count - Math.floor(mnist.train.count * (opts.validationSplit ?? 0))) / opts.batchSize);
  let model: Sequential, optimizer: Optimizer, schedule: CosineAnnealingLR | null = null, initialEpoch = 0;
  if (opts.resume) {
    const ck = await loadCheckpointFile(opts.resume);
    if (!ck.optimizer || ck.epoch === null) throw new ConfigError(`--resume: ${opts.resume} is a model without an optimizer or epoch, not a checkpoint (save one with --save)`);
    if ((ck.model.layers[0] instanceof Conv2d ? 'cnn' : 'mlp') !== opts.model) throw new ConfigError(`--resume: ${opts.resume} holds the other model; pass --model ${opts.model === 'cnn' ? 'mlp' : 'cnn'}`);
    ({ model, optimizer } = { model: ck.model, optimizer: ck.optimizer });
    schedule = ck.scheduler instanceof CosineAnnealingLR ? ck.scheduler : null;
    initialEpoch = ck.epoch;
    if (initialEpoch >= opts.epochs) throw new ConfigError(`--resume: ${opts.resume} has ${initialEpoch} epochs already; --epochs (the total) must be more`);
  } else {
    model = opts.model === 'cnn' ? mnistCnn(opts.seed) : courseMlp(opts.seed);
    optimizer = makeOptimizer(opts.optimizer, model, opts.lr);
    if (opts.lrSchedule === 'cosine') schedule = new CosineAnnealingLR(optimizer, { tMax: stepsPerEpoch * opts.epochs });
  }
  // the MLP ends in LogSoftmax (NLLLoss), the CNN in logits (CrossEntropyLoss)
  model.compile({ loss: opts.model === 'cnn' ? new CrossEntropyLoss() : new NLLLoss(), optimizer });
  const metadata = { 'mnist.preprocessing': PREPROCESSING[opts.model] };
  log(model.summary());
  log(`MNIST: ${mnist.train.count} training and ${mnist.test.count} test images; ` +
    `${opts.optimizer} lr ${opts.lr}${opts.lrSchedule === 'cosine' ? ' cosine-annealed to 0 over the run' : ''}, batch ${opts.batchSize}, seed ${opts.seed}` +
    `${opts.validationSplit ? `, validation split ${opts.validationSplit}` : ''}, wasm tier '${rt.tier}'`);

  const testAccuracy: number[] = [], testLoss: number[] = [];
  if (initialEpoch) log(`resuming ${opts.resume} after epoch ${initialEpoch}`);
  const history = await model.fit(xTrain, mnist.train.labels, {
    epochs: opts.epochs,
    initialEpoch,
    batchSize: opts.batchSize,
    seed: opts.seed,
    validationSplit: opts.validationSplit,
    callbacks: [
      new ProgressBar(),
      ...(schedule ? [everyBatch(schedule)] : []),
      {
        async onEpochEnd(epoch, logs) {
          if (opts.save) await saveModelFile(model, opts.save, { optimizer, scheduler: schedule ?? undefined, epoch: epoch + 1, metadata });
          const test = model.evaluate(xTest, mnist.test.labels);
          testAccuracy.push(test.accuracy);
          testLoss.push(test.loss);
          const val = logs.val_loss === undefined ? '' : `  val loss ${logs.val_loss.toFixed(4)}  val acc ${(logs.val_accuracy! * 100).toFixed(2)}%`;
          log(`epoch ${String(epoch + 1).padStart(2)}/${opts.epochs}  train loss ${logs.loss.toFixed(4)}  ` +
            `train acc ${(logs.accuracy * 100).toFixed(2)}%${val}  test acc ${(test.accuracy * 100).toFixed(2)}%  ` +
            `(${logs.seconds.toFixed(2)} s)`);
          // --stop-after N: stop as an interrupted run would, checkpoint written (resume with --resume)
          if (opts.stopAfter !== undefined && epoch + 1 >= opts.stopAfter) return false;
        },
      },
    ],
  });
  const final = testAccuracy[testAccuracy.length - 1] ?? model.evaluate(xTest, mnist.test.labels).accuracy;
  log(`final test accuracy: ${(final * 100).toFixed(2)}%`);
  const predicted = argmax(model.predict(xTest));
  const report = classificationReport(mnist.test.labels, predicted, { classes: 10 });
  log('\n' + report.toString());
  if (opts.save) log(`checkpoint written to ${opts.save}`);
  if (opts.exportOnnx) {
    const { exportOnnx } = await import('../bindings/entry/onnx.js');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(opts.exportOnnx, exportOnnx(model));
    log(`ONNX model written to ${opts.exportOnnx}`);
  }
  if (opts.plots) {
    const { trainingCurves, confusionMatrixHeatmap, writeSvg } = await import('./lib/plots.js');
    const { join } = await import('node:path');
    const curves = await trainingCurves(history, { title: `${opts.model === 'cnn' ? 'CNN' : 'Course MLP'}, ${opts.optimizer} lr ${opts.lr}`, test: { loss: testLoss, accuracy: testAccuracy } });
    const files = { 'mnist-loss.svg': curves.loss, 'mnist-accuracy.svg': curves.accuracy,
      'mnist-confusion.svg': await confusionMatrixHeatmap(confusionMatrix(mnist.test.labels, predicted, { classes: 10 }).toArray(), { title: 'MNIST test confusion matrix' }) };
    for (const [name, svg] of Object.entries(files)) if (svg !== undefined) await writeSvg(join(opts.plots, name), svg);
    log(`charts written to ${opts.plots}: ${Object.keys(files).join(', ')}`);
  }
  if (opts.json) {
    console.log(JSON.stringify({
      test_accuracy: final,
      test_accuracy_per_epoch: testAccuracy,
      epoch_seconds: history.history.seconds,
      final_train_loss: history.history.loss[history.history.loss.length - 1] ?? null,
      train_accuracy_per_epoch: history.history.accuracy,
      train_loss_per_epoch: history.history.loss,
      val_accuracy_per_epoch: history.history.val_accuracy,
      macro_f1: report.macroAvg.f1,
      config: { model: opts.model, optimizer: opts.optimizer, lr_schedule: opts.lrSchedule, validation_split: opts.validationSplit ?? 0, epochs: opts.epochs, lr: opts.lr, batch_size: opts.batchSize, seed: opts.seed, tier: rt.tier, train_images: mnist.train.count },
    }));
  }
}

main().catch((e) => {
  console.error(e instanceof SimdnetError ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
