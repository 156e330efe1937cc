// Evaluates a saved model on MNIST, or predicts one image.
//
//   npm run predict -- --model mlp.safetensors            the test set: accuracy and classification report
//   npm run predict -- --model cnn.onnx --json            (a torch.onnx.export too) last line: one JSON object
//   npm run predict -- --model mlp.safetensors --image 7  test image 7: the class probabilities
//   npm run predict -- --model mlp.safetensors --png digit.png
//
// The model: a safetensors file saved by simdnet (`npm run mnist -- --save FILE`, or model.save()),
// an ONNX file, or a PyTorch state_dict of an MLP in safetensors (its Linear layers chained by
// shape from 784 inputs; the activation between them, which the file does not hold, the best of
// ReLU, Tanh, Sigmoid and GELU on the first 1,000 test images, as for the preprocessing).
// Input preprocessing: what the file records (`mnist.preprocessing` in a simdnet file's metadata), else --preprocess: unit (pixels / 255, torchvision's ToTensor), standard
// (then (x - 0.1307) / 0.3081, PyTorch's MNIST example), raw (0..255), or auto (the default for
// files that record none: whichever of the three gives the highest accuracy on the first 1,000
// test images, said in the output; within 0.5% of the highest, the first of unit, standard, raw).

import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import {
  init, loadMnist, Sequential, Tensor, argmax, classificationReport, SimdnetError, ConfigError, FormatError, Softmax, LogSoftmax,
  Linear, ReLU, Tanh, Sigmoid, GELU, decodeSafetensors, type SafeTensor, type SafetensorsFile, type Tier,
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
async function loadAnyModel(path: string): Promise<{ model: Sequential | null; linears?: LinearWeights[]; recorded: Preprocessing | null }> {
  const bytes = new Uint8Array(await readFile(path));
  if (/\.onnx$/i.test(path)) {
    const { importOnnx } = await import('../bindings/entry/onnx.js');
    return { model: importOnnx(bytes), recorded: null };
  }
  const file = decodeSafetensors(bytes, path);
  if (!('simdnet.architecture' in file.metadata)) return { model: null, linears: linearChain(file, path), recorded: null };
  const recorded = file.metadata['mnist.preprocessing'];
  return { model: Sequential.load(bytes), recorded: PREPROCESSINGS.includes(recorded as Preprocessing) ? recorded as Preprocessing : null };
}

interface LinearWeights { name: string; weight: SafeTensor; bias: SafeTensor | null }

/**
 * A safetensors file without simdnet's architecture (a PyTorch state_dict saved with
 * safetensors.torch.save_file): the Linear layers of an MLP, in the order their shapes chain from
 * 784 inputs. Anything but Linear weights and biases is a FormatError: a CNN's architecture cannot
 * be read off its weights (export it to ONNX instead).
 */
function linearChain(file: SafetensorsFile, path: string): LinearWeights[] {
  const groups = new Map<string, { weight?: SafeTensor; bias?: SafeTensor }>();
  for (const [key, t] of file.tensors) {
    const m = /^(.*)\.(weight|bias)$/.exec(key);
    if (!m || (m[2] === 'weight' ? t.shape.length !== 2 : t.shape.length !== 1)) {
      throw new FormatError(`${path} records no architecture (a PyTorch state_dict?) and '${key}' ${JSON.stringify(t.shape)} is not a Linear weight or bias: ` +
        'only an MLP of Linear layers can be rebuilt from its weights; export the model with torch.onnx.export, or save it with simdnet');
    }
    const g = groups.get(m[1]) ?? {};
    g[m[2] as 'weight' | 'bias'] = t;
    groups.set(m[1], g);
  }
  const layers: LinearWeights[] = [];
  for (const [name, g] of groups) {
    if (!g.weight) throw new FormatError(`${path}: '${name}.bias' has no '${name}.weight'`);
    if (g.bias && g.bias.shape[0] !== g.weight.shape[0]) throw new FormatError(`${path}: '${name}.bias' ${JSON.stringify(g.bias.shape)} does not match '${name}.weight' ${JSON.stringify(g.weight.shape)}`);
    layers.push({ name, weight: g.weight, bias: g.bias ?? null });
  }
  // the chain: from 784 inputs, each layer's in_features the previous one's out_features (ties: natural order of names)
  const natural = (a: LinearWeights, b: LinearWeights) => a.name.localeCompare(b.name, 'en', { numeric: true });
  const left = [...layers].sort(natural), chain: LinearWeights[] = [];
  let features = 784;
  while (left.length) {
    const next = left.findIndex((l) => l.weight.shape[1] === features);
    if (next < 0) {
      throw new FormatError(`${path} records no architecture and its Linear weights do not chain from 784 inputs: after ${chain.map((l) => l.name).join(', ') || 'the input'} ` +
        `(${features} features), none of ${left.map((l) => `${l.name} ${JSON.stringify(l.weight.shape)}`).join(', ')} takes ${features}`);
    }
    chain.push(left.splice(next, 1)[0]);
    features = chain[chain.length - 1].weight.shape[0];
  }
  if (!chain.length) throw new FormatError(`${path} holds no tensors`);
  return chain;
}

const ACTIVATIONS = { relu: () => new ReLU(), tanh: () => new Tanh(), sigmoid: () => new Sigmoid(), gelu: () => new GELU() } as const;
type ActivationName = keyof typeof ACTIVATIONS;

/** The MLP of `chain`, with `activation` between its Linear layers. */
function buildMlp(chain: LinearWeights[], activation: ActivationName): Sequential {
  const layers = chain.flatMap((l, i) => {
    const linear = new Linear(l.weight.shape[1], l.weight.shape[0], { bias: l.bias !== null });
    return i < chain.length - 1 ? [linear, ACTIVATIONS[activation]()] : [linear];
  });
  const model = new Sequential(layers, { inputShape: [784] });
  const state: Record<string, { data: Float32Array; shape: number[] }> = {};
  chain.forEach((l, i) => {
    state[`${2 * i}.weight`] = { data: l.weight.data, shape: l.weight.shape };
    if (l.bias) state[`${2 * i}.bias`] = { data: l.bias.data, shape: l.bias.shape };
  });
  model.loadStateDict(state);
  model.eval();
  return model;
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
  const loaded = await loadAnyModel(opts.model);
  const log = opts.json ? () => {} : (s: string) => console.log(s);
  const mnist = await loadMnist({ testLimit: opts.testLimit });
  const { images, labels, count } = mnist.test;

  // a PyTorch state_dict of an MLP: its activation is not in the file; each is tried as below
  const candidates: [string, Sequential][] = loaded.model ? [['', loaded.model]]
    : (Object.keys(ACTIVATIONS) as ActivationName[]).map((a) => [a, buildMlp(loaded.linears!, a)]);
  // the preprocessing: recorded in the file, given, or the best of the three on 1,000 test images
  // (with the activation, for a state_dict)
  let how: Preprocessing, chosen: string, model: Sequential;
  const choices = loaded.recorded ? [loaded.recorded] : opts.preprocess !== 'auto' ? [opts.preprocess] : [...PREPROCESSINGS];
  if (choices.length === 1 && candidates.length === 1) {
    [how, model] = [choices[0], candidates[0][1]];
    chosen = loaded.recorded ? 'recorded in the file' : '--preprocess';
  } else {
    const n = Math.min(1000, count);
    const sample = images.subarray(0, n * 784);
    const scored = candidates.flatMap(([activation, m]) => choices.map((p) => {
      const predicted = argmax(m.predict(asInput(m, preprocess(sample, p), n)));
      return { activation, model: m, how: p, correct: predicted.reduce((s, v, i) => s + (v === labels[i] ? 1 : 0), 0) };
    }));
    // the most likely wins unless another is clearly better (by more than 0.5%): raw pixels score
    // near unit ones on a ReLU MLP (a positive scale barely moves the argmax), so a tie is noise
    const top = Math.max(...scored.map((c) => c.correct));
    const best = scored.find((c) => c.correct >= top - Math.ceil(n * 0.005))!;
    [how, model] = [best.how, best.model];
    chosen = `auto: the best on the first ${n} test images (${scored.map((c) => `${c.activation ? `${c.activation} ` : ''}${c.how} ${c.correct}`).join(', ')})`;
    for (const [, m] of candidates) if (m !== model) m.dispose();
  }
  if (loaded.linears) {
    log(`${opts.model} records no architecture (a PyTorch state_dict): rebuilt as the MLP ` +
      `${[784, ...loaded.linears.map((l) => l.weight.shape[0])].join('-')} of ${loaded.linears.map((l) => l.name).join(', ')}`);
  }
  log(`${opts.model}: ${model.layers.length} layers (${model.layers.map((l) => l.constructor.name).join(', ')}), input ${JSON.stringify(model.inputShape)}; preprocessing '${how}' (${chosen})`);

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
