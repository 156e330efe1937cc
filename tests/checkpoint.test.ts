// Models that travel (issue 9): save then load is bit-exact; a checkpoint resumes a run exactly
// (stopped after epoch 1, resumed to epoch 2: the same bits as 2 epochs straight), for SGD with
// momentum and Adam, with BatchNorm, Dropout and a scheduler; files are written atomically; the
// main job's --save / --resume / --stop-after; fit's dropLast and namedParameters().
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  init, Sequential, Linear, ReLU, Conv2d, BatchNorm2d, MaxPool2d, Flatten, Dropout, CrossEntropyLoss, SGD, Adam,
  StepLR, Generator, manualSeed, loadCheckpoint, saveModelFile, loadModelFile, loadCheckpointFile, decodeSafetensors,
  ConfigError, FormatError, InputError, Tensor, defaultGenerator, type Optimizer,
} from '../bindings/index.js';
import { sameBits, weightBits } from './helpers/mlp.js';

beforeAll(async () => { await init(); });

const g = new Generator(3);
const x = g.uniform(new Float32Array(200 * 64), 0, 1);
const y = Int32Array.from({ length: 200 }, () => g.randint(5));

/** A CNN with BatchNorm and Dropout (which draws from the default generator). */
function cnn(): Sequential {
  manualSeed(7);
  return new Sequential([
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(),
    new Dropout(0.3), new Linear(64, 5),
  ], { inputShape: [1, 8, 8] });
}

describe('save and load', () => {
  it('Sequential.load(model.save()) gives the same weights, buffers and predictions, bit for bit', async () => {
    const m = cnn();
    m.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(m) });
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 1 });
    const loaded = Sequential.load(m.save());
    expect(sameBits(weightBits(loaded), weightBits(m))).toBe(true);
    expect(Array.from(loaded.predict(x).data)).toEqual(Array.from(m.predict(x).data));
    expect(loaded.summary()).toBe(m.summary());
  });

  it('the file is safetensors as PyTorch writes it: header padded to 8 bytes, no holes, I64 num_batches_tracked, the architecture in __metadata__', () => {
    const bytes = cnn().save();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(bytes[8]).toBe('{'.charCodeAt(0));
    const file = decodeSafetensors(bytes);
    expect([...file.tensors.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '6.weight', '6.bias']);
    expect(file.tensors.get('1.num_batches_tracked')!.dtype).toBe('I64');
    expect(file.tensors.get('0.weight')!.shape).toEqual([4, 1, 3, 3]);
    expect(file.metadata.format).toBe('pt');
    expect(JSON.parse(file.metadata['simdnet.architecture']).layers[5]).toEqual({ type: 'Dropout', p: 0.3 });
  });

  it('a model with a custom layer cannot be saved whole (ConfigError), and a file without architecture cannot be loaded (FormatError)', () => {
    class Twice extends ReLU { override config() { return null; } }
    expect(() => new Sequential([new Linear(2, 2), new Twice()]).save()).toThrow(ConfigError);
    const noArch = new Uint8Array(16);
    new DataView(noArch.buffer).setBigUint64(0, 8n, true);
    noArch.set(new TextEncoder().encode('{}      '), 8);
    expect(() => Sequential.load(noArch)).toThrow(/no simdnet architecture.*loadWeights/);
  });

  it('loading moves no generator: the default generator is where it was', () => {
    const file = cnn().save();
    manualSeed(5);
    const state = defaultGenerator.getState();
    Sequential.load(file);
    expect(defaultGenerator.getState()).toEqual(state);
  });
});

describe('checkpoints resume exactly', () => {
  const optimizers: [string, (m: Sequential) => Optimizer][] = [
    ['SGD with momentum', (m) => new SGD(m, { lr: 0.05, momentum: 0.9 })],
    ['Adam', (m) => new Adam(m)],
  ];
  for (const [name, make] of optimizers) {
    for (const shuffling of ['seed', 'generator'] as const) {
      it(`${name}, shuffled by a ${shuffling}: stopped after epoch 1 and resumed to epoch 2 = 2 epochs straight, bit for bit`, async () => {
        const straight = cnn();
        straight.compile({ loss: new CrossEntropyLoss(), optimizer: make(straight) });
        manualSeed(11);
        await straight.fit(x, y, { epochs: 2, batchSize: 16, ...(shuffling === 'seed' ? { seed: 9 } : { generator: new Generator(5) }) });

        const first = cnn();
        const opt = make(first);
        first.compile({ loss: new CrossEntropyLoss(), optimizer: opt });
        manualSeed(11);
        const gen = new Generator(5);
        await first.fit(x, y, { epochs: 1, batchSize: 16, ...(shuffling === 'seed' ? { seed: 9 } : { generator: gen }) });
        const file = first.save({ optimizer: opt, epoch: 1, generator: gen });
        first.dispose();
        manualSeed(999);   // the checkpoint restores the default generator (Dropout's masks)

        const ck = loadCheckpoint(file);
        expect(ck.epoch).toBe(1);
        expect(ck.optimizer!.stepCount).toBe(Math.ceil(200 / 16));
        ck.model.compile({ loss: new CrossEntropyLoss(), optimizer: ck.optimizer! });
        await ck.model.fit(x, y, { epochs: 2, initialEpoch: ck.epoch!, batchSize: 16, ...(shuffling === 'seed' ? { seed: 9 } : { generator: ck.generator! }) });
        expect(sameBits(weightBits(ck.model), weightBits(straight))).toBe(true);
      });
    }
  }

  it('a scheduler is saved and restored with its optimizer', async () => {
    const m = cnn();
    const opt = new SGD(m, { lr: 0.1, momentum: 0.5 });
    const sched = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    m.compile({ loss: new CrossEntropyLoss(), optimizer: opt });
    await m.fit(x, y, { epochs: 2, batchSize: 32, seed: 2, callbacks: [sched] });
    const ck = loadCheckpoint(m.save({ optimizer: opt, scheduler: sched, epoch: 2 }));
    expect(ck.scheduler).toBeInstanceOf(StepLR);
    expect(ck.scheduler!.lastEpoch).toBe(2);
    expect(ck.optimizer!.lr).toBe(0.025);
    expect(ck.scheduler!.getLastLr()).toBe(0.025);
  });

  it('a checkpoint whose optimizer state does not fit its model is a FormatError, and nothing is left allocated', async () => {
    const m = cnn();
    const opt = new Adam(m);
    const file = m.save({ optimizer: opt, epoch: 0 });
    const broken = file.slice();
    const text = new TextDecoder().decode(broken);
    const at = text.indexOf('optimizer.state.0.exp_avg"');
    broken.set(new TextEncoder().encode('optimizer.state.0.exp_zzz"'), at);
    const before = (await import('../bindings/index.js')).getRuntime().heap.allocatedBytes;
    expect(() => loadCheckpoint(broken)).toThrow(FormatError);
    expect((await import('../bindings/index.js')).getRuntime().heap.allocatedBytes).toBe(before);
  });
});

describe('files, fit options, names', () => {
  it('saveModelFile writes atomically (a temporary file renamed over the target) and loads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdnet-save-'));
    const m = cnn();
    const opt = new SGD(m, { lr: 0.1 });
    await saveModelFile(m, join(dir, 'm.safetensors'), { optimizer: opt, epoch: 0 });
    expect(readdirSync(dir)).toEqual(['m.safetensors']);
    expect(sameBits(weightBits(await loadModelFile(join(dir, 'm.safetensors'))), weightBits(m))).toBe(true);
    expect((await loadCheckpointFile(join(dir, 'm.safetensors'))).optimizer).toBeInstanceOf(SGD);
    await expect(saveModelFile(m, join(dir, 'no', 'such', 'dir.safetensors'))).rejects.toThrow(ConfigError);
    expect(readdirSync(dir)).toEqual(['m.safetensors']);
  });

  it("fit's dropLast drops the last partial batch as PyTorch's drop_last does", async () => {
    const m = cnn();
    m.compile({ loss: new CrossEntropyLoss(), optimizer: new SGD(m, { lr: 0.01 }) });
    let batches = 0;
    await m.fit(x, y, { epochs: 1, batchSize: 64, dropLast: true, callbacks: [{ onBatchEnd: () => { batches++; } }] });
    expect(batches).toBe(3);
    await expect(m.fit(x.subarray(0, 10 * 64), y.subarray(0, 10), { batchSize: 16, dropLast: true })).rejects.toThrow(InputError);
  });

  it('namedParameters() gives PyTorch\'s names and live data and grad views', () => {
    const m = cnn();
    const named = m.namedParameters();
    expect(named.map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '6.weight', '6.bias']);
    expect(named[0][1]).toBe((m.layers[0] as Conv2d).weight);
    m.forward(new Tensor(x.subarray(0, 4 * 64), [4, 1, 8, 8]));
    m.zeroGrad();
    m.backward(new Tensor(new Float32Array(20).fill(0.1), [4, 5]));
    expect(named[4][1].grad!.some((v) => v !== 0)).toBe(true);
  });
});

describe('the main job: --save, --stop-after, --resume', () => {
  it('a run stopped after epoch 1 and resumed to epoch 2 writes the same checkpoint, byte for byte, as a 2-epoch run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdnet-resume-'));
    const main = new URL('../dist/examples/mnist.js', import.meta.url).pathname;
    const run = (...args: string[]) => execFileSync(process.execPath, [main, '--model', 'cnn', '--train-limit', '640', '--test-limit', '200', '--json', ...args], { encoding: 'utf8' });
    run('--epochs', '2', '--save', join(dir, 'straight.safetensors'));
    run('--epochs', '2', '--stop-after', '1', '--save', join(dir, 'resumed.safetensors'));
    const out = run('--epochs', '2', '--resume', join(dir, 'resumed.safetensors'), '--save', join(dir, 'resumed.safetensors'));
    expect(JSON.parse(out.trim().split('\n').pop()!).test_accuracy_per_epoch.length).toBe(1);
    expect(Buffer.compare(readFileSync(join(dir, 'straight.safetensors')), readFileSync(join(dir, 'resumed.safetensors')))).toBe(0);
  }, 120_000);
});
