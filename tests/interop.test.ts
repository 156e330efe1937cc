// PyTorch interop: state_dicts written by PyTorch load into the matching Sequential, and models
// saved by simdnet load into PyTorch.
//
// The fixtures (tests/fixtures/interop/, written by tests/fixtures/make_interop.py with Debian's
// python3-torch 1.13; see the README there) are committed, so this test needs no Python, except
// the simdnet -> PyTorch round trip at the end, which runs tools/check_in_torch.py and is skipped
// where `/usr/bin/python3 -c "import torch"` fails (CI has no torch).
//
// Tolerance for outputs: elementwise |got - want| <= 1e-5 |want| + 1e-6 max|want| (the parity
// tests' rule), and the largest |got - want| over the whole output at most 1e-5 max|want|.
// Accuracy: the same argmax as torch's for every one of the 10,000 test images, except images
// whose two largest torch outputs are within 1e-4 of each other (expected.json lists them; there
// are none in the committed fixtures), so the accuracies are equal.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  init, loadMnist, scalePixels, manualSeed, argmax, decodeSafetensors, encodeSafetensors,
  Sequential, Linear, Conv2d, MaxPool2d, BatchNorm2d, Dropout, ReLU, Flatten, NLLLoss, CrossEntropyLoss, SGD, Adam,
  Tensor, ShapeError, type Architecture, type Mnist, type TensorToWrite,
} from '../bindings/index.js';
import { buildLayers } from '../bindings/io/architecture.js';
import { comparators, maxAbs } from './helpers/parity.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'tests', 'fixtures', 'interop');
const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;

interface Arr { shape: number[]; data: number[] }
interface MnistModel {
  architecture: Architecture; safetensors: string; onnx: string; preprocessing: 'unit' | 'standard';
  loss: 'NLLLoss' | 'CrossEntropyLoss'; test_count: number; test_correct: number; test_accuracy: number; test_loss: number;
  test_predictions: string; near_ties: { threshold: number; indices: number[] }; outputs: Arr & { images: [number, number] };
}
interface OpsModel { name: string; architecture: Architecture; safetensors: string | null; onnx: string; nodes: string[]; input: Arr; output: Arr }
interface Expected { models: Record<'mlp' | 'cnn', MnistModel>; ops: OpsModel[] }

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;
const bytesOf = (file: string) => new Uint8Array(readFileSync(join(DIR, file)));
const { expectClose } = comparators(1e-5, 1e-6);

const build = (a: Architecture) => new Sequential(buildLayers(a), { inputShape: a.inputShape! });

/** simdnet's preprocessing, which the script mirrors: pixel/255 in float32, then for 'standard' (x - mean) / std. */
function prepare(images: Uint8Array, how: 'unit' | 'standard'): Float32Array {
  const x = scalePixels(images);
  if (how === 'standard') for (let i = 0; i < x.length; i++) x[i] = (x[i] - 0.1307) / 0.3081;
  return x;
}

function compare(got: ArrayLike<number>, want: ArrayLike<number>, what: string): { maxAbs: number; relToMax: number } {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  const scale = maxAbs(want);
  expectClose(got, want, what);
  expect(worst, `${what}: max |diff| ${worst} against max |want| ${scale}`).toBeLessThanOrEqual(1e-5 * scale);
  return { maxAbs: worst, relToMax: worst / scale };
}

const tensors = (bytes: Uint8Array): [string, TensorToWrite][] =>
  [...decodeSafetensors(bytes).tensors].map(([name, t]) => [name, { dtype: t.dtype as 'F32' | 'I64', shape: t.shape, data: t.data }]);

let mnist: Mnist;
const report: Record<string, unknown> = {};
beforeAll(async () => {
  await init();
  mnist = await loadMnist();
});
afterAll(() => { console.log(`interop: ${JSON.stringify(report)}`); });

describe('a PyTorch-trained model, imported from its state_dict (safetensors)', () => {
  for (const kind of ['mlp', 'cnn'] as const) {
    const m = expected.models[kind];
    it(`${kind}: outputs within 1e-5 of torch's on test images 0..63, and torch's test accuracy (${m.test_accuracy})`, () => {
      const model = build(m.architecture);
      const bytes = bytesOf(m.safetensors);
      expect(decodeSafetensors(bytes).metadata).toEqual({ format: 'pt' });   // a plain PyTorch file: no simdnet architecture
      expect(model.loadWeights(bytes)).toBe(model);
      // every weight arrives bit for bit
      const file = decodeSafetensors(bytes).tensors;
      for (const [name, t] of Object.entries(model.stateDict())) {
        expect(t.shape, name).toEqual(file.get(name)!.shape);
        expect(new Uint32Array(t.data.buffer), name).toEqual(new Uint32Array(file.get(name)!.data.buffer));
      }
      const x = prepare(mnist.test.images, m.preprocessing);
      const per = m.architecture.inputShape!.reduce((a, b) => a * b, 1);
      const [from, to] = m.outputs.images;
      const out = model.predict(new Tensor(x.slice(from * per, to * per), [to - from, ...m.architecture.inputShape!]));
      expect(out.shape).toEqual(m.outputs.shape);
      const err = compare(out.data, Float32Array.from(m.outputs.data), `${kind} outputs`);

      // the argmax of every test image, then the accuracy and loss evaluate reports
      const predicted = argmax(model.predict(new Tensor(x, [m.test_count, ...m.architecture.inputShape!])));
      const differ: number[] = [];
      for (let i = 0; i < m.test_count; i++) if (predicted[i] !== Number(m.test_predictions[i])) differ.push(i);
      expect(differ.filter((i) => !m.near_ties.indices.includes(i)), 'images whose argmax differs from torch\'s').toEqual([]);
      model.compile({ loss: m.loss === 'NLLLoss' ? new NLLLoss() : new CrossEntropyLoss(), optimizer: new SGD(model, { lr: 0.01 }) });
      const evaluated = model.evaluate(x, mnist.test.labels);
      if (differ.length === 0) expect(evaluated.accuracy).toBe(m.test_accuracy);
      expect(Math.abs(evaluated.accuracy - m.test_accuracy) * m.test_count).toBeLessThanOrEqual(differ.length);
      expect(Math.abs(evaluated.loss - m.test_loss)).toBeLessThanOrEqual(1e-5 * m.test_loss);
      report[kind] = { ...err, accuracy: evaluated.accuracy, torchAccuracy: m.test_accuracy, argmaxDiffers: differ.length,
        loss: evaluated.loss, torchLoss: m.test_loss };
      model.dispose();
    });
  }

  it('small models of every layer (BatchNorm with I64 num_batches_tracked, pools, activations, eval Dropout) match torch', () => {
    const errs: Record<string, number> = {};
    for (const op of expected.ops) {
      const model = build(op.architecture);
      if (op.safetensors) model.loadWeights(bytesOf(op.safetensors));
      model.eval();
      const out = model.predict(new Tensor(Float32Array.from(op.input.data), op.input.shape));
      expect(out.shape, op.name).toEqual(op.output.shape);
      errs[op.name] = compare(out.data, Float32Array.from(op.output.data), `ops/${op.name}`).relToMax;
      model.dispose();
    }
    report.ops = { models: expected.ops.length, worstRelToMax: Math.max(...Object.values(errs)) };
  });
});

describe('loadWeights: a ShapeError naming each missing, unexpected or mis-shaped tensor, and nothing changed', () => {
  const mlp = expected.models.mlp;
  const good = () => tensors(bytesOf(mlp.safetensors));
  const attempt = (list: [string, TensorToWrite][], options?: { strict?: boolean }) => {
    const model = build(mlp.architecture);
    const before = model.stateDict();
    let error: unknown = null;
    try { model.loadWeights(encodeSafetensors(list, { format: 'pt' }), options); } catch (e) { error = e; }
    const after = model.stateDict();
    const unchanged = Object.keys(before).every((k) => new Uint32Array(before[k].data.buffer).every((v, i) => v === new Uint32Array(after[k].data.buffer)[i]));
    model.dispose();
    return { error: error as Error | null, unchanged };
  };

  it('missing tensors: all named', () => {
    const { error, unchanged } = attempt(good().filter(([n]) => n !== '4.bias' && n !== '6.weight'));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error!.message).toMatch(/missing '4\.bias', '6\.weight'|missing '6\.weight', '4\.bias'/);
    expect(unchanged).toBe(true);
  });

  it('unexpected tensors: all named; optimizer.state.* of a checkpoint is skipped', () => {
    const extra: TensorToWrite = { dtype: 'F32', shape: [3], data: [1, 2, 3] };
    const { error, unchanged } = attempt([...good(), ['8.weight', extra], ['fc.bias', extra]]);
    expect(error).toBeInstanceOf(ShapeError);
    expect(error!.message).toContain("unexpected '8.weight', 'fc.bias'");
    expect(unchanged).toBe(true);
    expect(attempt([...good(), ['optimizer.state.0.momentum_buffer', extra]]).error).toBeNull();
  });

  it('missing and unexpected together (a renamed layer): both named', () => {
    const renamed = good().map(([n, t]): [string, TensorToWrite] => [n.replace(/^2\./, 'fc2.'), t]);
    const { error } = attempt(renamed);
    expect(error).toBeInstanceOf(ShapeError);
    expect(error!.message).toContain("missing '2.weight', '2.bias'");
    expect(error!.message).toContain("unexpected 'fc2.weight', 'fc2.bias'");
  });

  it('a mis-shaped tensor (a transposed weight, a wrong bias length, a flattened weight): named with both shapes', () => {
    const cases: [string, number[]][] = [['2.weight', [64, 32]], ['4.bias', [31]], ['0.weight', [64 * 784]]];
    for (const [name, shape] of cases) {
      const list = good().map(([n, t]): [string, TensorToWrite] => {
        if (n !== name) return [n, t];
        const size = shape.reduce((a, b) => a * b, 1);
        return [n, { ...t, shape, data: Array.from(t.data).slice(0, size).concat(new Array(Math.max(0, size - t.data.length)).fill(0)) }];
      });
      const { error, unchanged } = attempt(list);
      expect(error, name).toBeInstanceOf(ShapeError);
      expect(error!.message).toContain(`'${name}'`);
      expect(error!.message).toContain(`[${shape.join(', ')}]`);
      expect(unchanged, name).toBe(true);
    }
  });

  it('several mis-shaped tensors are all named in one error', () => {
    const list = good().map(([n, t]): [string, TensorToWrite] => (n === '2.weight' || n === '6.weight'
      ? [n, { ...t, shape: [...t.shape].reverse() }] : [n, t]));
    const { error, unchanged } = attempt(list);
    expect(error).toBeInstanceOf(ShapeError);
    expect(error!.message).toMatch(/mis-shaped '2\.weight' is \[64, 32\].*'6\.weight' is \[32, 10\]/);
    expect(unchanged).toBe(true);
  });

  it('strict: false takes a partial file and leaves the rest', () => {
    const { error } = attempt(good().filter(([n]) => n !== '6.bias'), { strict: false });
    expect(error).toBeNull();
  });

  it('CNN: a conv weight of the wrong kernel size is refused, naming it', () => {
    const cnn = expected.models.cnn;
    const list = tensors(bytesOf(cnn.safetensors)).map(([n, t]): [string, TensorToWrite] =>
      n === '0.weight' ? [n, { ...t, shape: [32, 1, 3, 3], data: Array.from(t.data).slice(0, 288) }] : [n, t]);
    const model = build(cnn.architecture);
    expect(() => model.loadWeights(encodeSafetensors(list))).toThrow(ShapeError);
    expect(() => model.loadWeights(encodeSafetensors(list))).toThrow(/mis-shaped '0\.weight' is \[32, 1, 3, 3\], the model needs \[32, 1, 5, 5\]/);
    model.dispose();
  });
});

describe.skipIf(!hasTorch)('a model saved by simdnet loads in PyTorch (tools/check_in_torch.py) with the same test accuracy', () => {
  let tmp: string;
  beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'simdnet-interop-')); });
  afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

  const inTorch = (file: string, kind: string) => {
    const stdout = execFileSync(PYTHON, [join(ROOT, 'tools', 'check_in_torch.py'), file, '--model', kind], {
      encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, timeout: 300_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { test_accuracy: number; test_correct: number; test_loss: number; optimizer_tensors_dropped: number };
  };

  it('the course MLP, trained 1 epoch on 10,000 images, saved as a checkpoint (the optimizer tensors are dropped)', async () => {
    manualSeed(0);
    const model = build(expected.models.mlp.architecture);
    const optimizer = new SGD(model, { lr: 0.01, momentum: 0.9 });
    model.compile({ loss: new NLLLoss(), optimizer });
    await model.fit(scalePixels(mnist.train.images.subarray(0, 10000 * 784)), mnist.train.labels.subarray(0, 10000), { epochs: 1, batchSize: 32 });
    const ours = model.evaluate(scalePixels(mnist.test.images), mnist.test.labels);
    const file = join(tmp, 'mlp.safetensors');
    writeFileSync(file, model.save({ optimizer, epoch: 1 }));
    const torch = inTorch(file, 'mlp');
    report.simdnetToTorchMlp = { simdnet: ours.accuracy, torch: torch.test_accuracy, simdnetLoss: ours.loss, torchLoss: torch.test_loss };
    expect(torch.optimizer_tensors_dropped).toBe(8);
    expect(Math.abs(torch.test_correct - Math.round(ours.accuracy * 10000))).toBeLessThanOrEqual(1);
    expect(Math.abs(torch.test_loss - ours.loss)).toBeLessThanOrEqual(1e-5 * ours.loss);
    model.dispose();
  });

  it('a small CNN with BatchNorm2d (num_batches_tracked as I64) and Dropout, trained 100 steps, saved as a model (--model arch)', async () => {
    manualSeed(1);
    const model = new Sequential([
      new Conv2d(1, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
      new Conv2d(8, 16, 3, { padding: 1 }), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Dropout(0.25), new Linear(784, 10),
    ], { inputShape: [1, 28, 28] });
    model.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(model, { lr: 0.002 }) });
    const n = 6400;
    await model.fit(prepare(mnist.train.images.subarray(0, n * 784), 'standard'), mnist.train.labels.subarray(0, n), { epochs: 1, batchSize: 64 });
    expect(model.stateDict()['1.num_batches_tracked'].data[0]).toBe(100);
    const ours = model.evaluate(prepare(mnist.test.images, 'standard'), mnist.test.labels);
    const file = join(tmp, 'cnn-bn.safetensors');
    writeFileSync(file, model.save());
    const torch = inTorch(file, 'arch');
    report.simdnetToTorchCnnBn = { simdnet: ours.accuracy, torch: torch.test_accuracy, simdnetLoss: ours.loss, torchLoss: torch.test_loss };
    expect(Math.abs(torch.test_correct - Math.round(ours.accuracy * 10000))).toBeLessThanOrEqual(1);
    expect(Math.abs(torch.test_loss - ours.loss)).toBeLessThanOrEqual(1e-5 * ours.loss);
    model.dispose();
  });
});
