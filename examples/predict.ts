// Evaluates a saved model on MNIST, or predicts one image.
//
//   npm run predict -- --model mlp.safetensors            the test set: accuracy and classification report
//   npm run predict -- --model cnn.onnx --json            (a torch.onnx.export too) last line: one JSON object
//   npm run predict -- --model mlp.safetensors --image 7  test image 7: the class probabilities
//   npm run predict -- --model mlp.safetensors --png digit.png
//
// The model: a safetensors file saved by simdnet (`npm run mnist -- --save FILE`, or model.save())
// or an ONNX file. Input preprocessing: what the file records (`mnist.preprocessing` in a simdnet
// file's metadata), else --preprocess: unit (pixels / 255, torchvision's ToTensor), standard
// (then (x - 0.1307) / 0.3081, PyTorch's MNIST example), raw (0..255), or auto (the default for
// files that record none: whichever of the three gives the highest accuracy on the first 1,000
// test images, said in the output).

import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import {
  init, loadMnist, Sequential, Tensor, argmax, classificationReport, SimdnetError, ConfigError, Softmax, LogSoftmax,
  decodeSafetensors, type Tier,
} from '../bindings/index.js';

const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;
const PREPROCESSINGS = ['unit', 'standard', 'raw'] as const;
type Preprocessing = (typeof PREPROCESSINGS)[number];

const USAGE = 'usage: npm run predict -- --model FILE (.safetensors | .onnx) [--image N | --png FILE] ' +
  '[--preprocess auto|unit|standard|raw] [--test-limit N] [--tier simd|relaxed|auto] [--json]';

function options() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, image: { type: 'string' }, png: { type: 'string' }, preprocess: { type: 'string' },
      'test-limit': { type: 'string' }, tier: { type: 'string', default: 'simd' }, json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  if (!values.model) throw new ConfigError(`--model FILE is required\n${USAGE}`);
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} needs an integer >= 0, got '${v}'\n${USAGE}`);
    return n;
  };
  const preprocess = values.preprocess ?? 'auto';
  if (preprocess !== 'auto' && !PREPROCESSINGS.includes(preprocess as Preprocessing)) throw new ConfigError(`--preprocess must be auto, ${PREPROCESSINGS.join(', ')}, got '${preprocess}'`);
  if (values.image !== undefined && values.png !== undefined) throw new ConfigError('give --image or --png, not both');
  return { model: values.model, image: int('image', values.image), png: values.png, preprocess: preprocess as Preprocessing | 'auto',
    testLimit: int('test-limit', values['test-limit']), tier: values.tier as Tier, json: values.json };
}

/** The model of a .safetensors or .onnx file, and the preprocessing it records (if any). */
async function loadAnyModel(path: string): Promise<{ model: Sequential; recorded: Preprocessing | null }> {
  const bytes = new Uint8Array(await readFile(path));
  if (/\.onnx$/i.test(path)) {
    const onnxEntry = '../bindings/entry/onnx.js';
    const { importOnnx } = await import(onnxEntry) as { importOnnx(b: Uint8Array): Sequential };
    return { model: importOnnx(bytes), recorded: null };
  }
  const recorded = decodeSafetensors(bytes, path).metadata['mnist.preprocessing'];
  return { model: Sequential.load(bytes), recorded: PREPROCESSINGS.includes(recorded as Preprocessing) ? recorded as Preprocessing : null };
}

function preprocess(pixels: Uint8Array, how: Preprocessing): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    out[i] = how === 'raw' ? v : how === 'unit' ? v / 255 : (v / 255 - MNIST_MEAN) / MNIST_STD;
  }
  return out;
}

/** A batch of 28x28 images as the model's input tensor: [N, 784] or [N, 1, 28, 28]. */
function asInput(model: Sequential, x: Float32Array, n: number): Tensor {
  const shape = model.inputShape ?? [784];
  return new Tensor(x, [n, ...shape]);
}

/** Class probabilities from the model's outputs: as they are after Softmax, exp after LogSoftmax, else softmax of the logits. */
function probabilities(model: Sequential, out: Float32Array): number[] {
  const last = model.layers[model.layers.length - 1];
  if (last instanceof Softmax) return Array.from(out);
  if (last instanceof LogSoftmax) return Array.from(out, Math.exp);
  const max = Math.max(...out);
  const e = Array.from(out, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** A PNG as 28x28 MNIST pixels: grey, downscaled by area, inverted when the digit is dark on light. */
async function readPng(path: string): Promise<Uint8Array> {
  const { PNG } = await import('pngjs');
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(await readFile(path));
  } catch (e) {
    throw new ConfigError(`--png: ${path} is not a PNG file (${(e as Error).message})`, { cause: e });
  }
  const { width, height, data } = png;
  const grey = new Float64Array(28 * 28), area = new Float64Array(28 * 28);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4, a = data[i + 3] / 255;
      const v = (0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]) * a + 255 * (1 - a);
      const cell = Math.min(27, Math.floor(y * 28 / height)) * 28 + Math.min(27, Math.floor(x * 28 / width));
      grey[cell] += v; area[cell]++;
    }
  }
  const pixels = Uint8Array.from(grey, (v, i) => Math.round(v / Math.max(area[i], 1)));
  const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
  return mean > 127 ? pixels.map((v) => 255 - v) : pixels;   // MNIST is a light digit on black
}

async function main(): Promise<void> {
  const opts = options();
  await init({ tier: opts.tier });
  const { model, recorded } = await loadAnyModel(opts.model);
  const log = opts.json ? () => {} : (s: string) => console.log(s);
  const mnist = await loadMnist({ testLimit: opts.testLimit });
  const { images, labels, count } = mnist.test;

  // the preprocessing: recorded in the file, given, or the best of the three on 1,000 test images
  let how: Preprocessing, chosen: string;
  if (recorded) { how = recorded; chosen = 'recorded in the file'; }
  else if (opts.preprocess !== 'auto') { how = opts.preprocess; chosen = '--preprocess'; }
  else {
    const n = Math.min(1000, count);
    const sample = images.subarray(0, n * 784);
    const scores = PREPROCESSINGS.map((p) => {
      const predicted = argmax(model.predict(asInput(model, preprocess(sample, p), n)));
      return predicted.reduce((s, v, i) => s + (v === labels[i] ? 1 : 0), 0);
    });
    how = PREPROCESSINGS[scores.indexOf(Math.max(...scores))];
    chosen = `auto: the best on the first ${n} test images (${PREPROCESSINGS.map((p, i) => `${p} ${scores[i]}`).join(', ')})`;
  }
  log(`${opts.model}: ${model.layers.length} layers, input ${JSON.stringify(model.inputShape)}; preprocessing '${how}' (${chosen})`);

  if (opts.image !== undefined || opts.png !== undefined) {
    let pixels: Uint8Array, label: number | null = null;
    if (opts.png !== undefined) pixels = await readPng(opts.png);
    else {
      if (opts.image! >= count) throw new ConfigError(`--image ${opts.image} is past the ${count} test images`);
      pixels = images.subarray(opts.image! * 784, (opts.image! + 1) * 784);
      label = labels[opts.image!];
    }
    const p = probabilities(model, model.predict(asInput(model, preprocess(pixels, how), 1)).data);
    const predicted = p.indexOf(Math.max(...p));
    for (let c = 0; c < 10; c++) log(`  ${c}  ${(p[c] * 100).toFixed(2).padStart(6)}%  ${'#'.repeat(Math.round(p[c] * 40))}`);
    log(`predicted ${predicted}${label === null ? '' : `, label ${label}`}`);
    if (opts.json) console.log(JSON.stringify({ predicted, label, probabilities: p, preprocessing: how }));
    return;
  }

  const predicted = argmax(model.predict(asInput(model, preprocess(images, how), count)));
  let correct = 0;
  for (let i = 0; i < count; i++) if (predicted[i] === labels[i]) correct++;
  const report = classificationReport(labels, predicted, { classes: 10 });
  log(`test accuracy: ${(correct / count * 100).toFixed(2)}% of ${count} images\n\n${report.toString()}`);
  if (opts.json) {
    console.log(JSON.stringify({ test_accuracy: correct / count, test_images: count, macro_f1: report.macroAvg.f1, preprocessing: how, model: opts.model }));
  }
}

main().catch((e) => {
  console.error(e instanceof SimdnetError ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
