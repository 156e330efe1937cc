import { describe, expect, it, beforeAll } from 'vitest';
import {
  init, TensorDataset, Subset, DataLoader, randomSplit, toArrays, transforms, toTensor, Tensor, loadMnist,
  ShapeError, ConfigError, InputError, Generator,
} from '../bindings/index.js';

beforeAll(async () => { await init(); });

const dataset = (n: number) => new TensorDataset(
  new Tensor(Float32Array.from({ length: n * 3 }, (_, i) => i), [n, 3]), Int32Array.from({ length: n }, (_, i) => i % 4));

describe('datasets', () => {
  it('TensorDataset gathers samples and labels in the order asked', () => {
    const ds = dataset(10);
    const b = ds.gather([4, 1]);
    expect(b.x.shape).toEqual([2, 3]);
    expect(Array.from(b.x.data)).toEqual([12, 13, 14, 3, 4, 5]);
    expect(Array.from(b.y)).toEqual([0, 1]);
    expect(() => ds.gather([10])).toThrow(ShapeError);
    expect(() => new TensorDataset(new Tensor(new Float32Array(6), [2, 3]), [1])).toThrow(/1 labels for 2 samples/);
    expect(() => new TensorDataset(new Tensor(new Float32Array(6), [2, 3]), [1, 0.5])).toThrow(InputError);
  });

  it('dense targets keep their rows', () => {
    const ds = new TensorDataset(new Tensor(new Float32Array(4), [4, 1]), new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(ds.targetWidth).toBe(2);
    expect(Array.from(ds.gather([3, 0]).y)).toEqual([7, 8, 1, 2]);
  });

  it('randomSplit: disjoint, complete, seeded; counts or fractions (PyTorch remainder rule)', () => {
    const ds = dataset(103);
    const [a, b, c] = randomSplit(ds, [0.8, 0.1, 0.1], { seed: 3 });
    expect([a.length, b.length, c.length]).toEqual([83, 10, 10]); // floor 82/10/10, one left over goes to the first
    const all = [...a.indices, ...b.indices, ...c.indices].map((i) => i).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 103 }, (_, i) => i));
    const [a2] = randomSplit(ds, [83, 20], { seed: 3 });
    expect(Array.from(a2.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(randomSplit(ds, [83, 20], { seed: 4 })[0].indices)).not.toEqual(Array.from(a.indices));
    expect(() => randomSplit(ds, [50, 50])).toThrow(ConfigError);
    expect(() => randomSplit(ds, [0.5, 0.6])).toThrow(/summing to 103 or fractions summing to 1/);
    // a Subset of a Subset maps indices through both
    const inner = new Subset(a, [0, 1]);
    expect(Array.from(inner.gather([1]).x.data)).toEqual(Array.from(ds.gather([a.indices[1]]).x.data));
    expect(toArrays(b).x.shape).toEqual([10, 3]);
  });

  it('DataLoader: batch size, drop_last, shuffle reproducible by seed and fresh every epoch', () => {
    const ds = dataset(10);
    const plain = [...new DataLoader(ds, { batchSize: 4 })];
    expect(plain.map((b) => b.x.shape[0])).toEqual([4, 4, 2]);
    expect(Array.from(plain[0].indices)).toEqual([0, 1, 2, 3]);
    expect([...new DataLoader(ds, { batchSize: 4, dropLast: true })].length).toBe(2);
    expect(new DataLoader(ds, { batchSize: 4, dropLast: true }).length).toBe(2);
    const loader = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5 });
    const e1 = Array.from([...loader][0].indices), e2 = Array.from([...loader][0].indices);
    expect(e1).not.toEqual(e2);
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const again = new DataLoader(ds, { batchSize: 10, shuffle: true, generator: new Generator(5) });
    expect(Array.from([...again][0].indices)).toEqual(e1);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(ConfigError);
  });
});

describe('transforms', () => {
  const bytes = new Uint8Array([0, 1, 127, 128, 254, 255]);

  it('toTensor scales bytes (to [0, 1] by default, or keeps [0, 255])', () => {
    const t = toTensor(bytes, [1, 2, 3]);
    expect(t.shape).toEqual([1, 2, 3]);
    expect(t.data[5]).toBe(1);
    expect(t.data[2]).toBeCloseTo(127 / 255, 7);
    expect(Array.from(toTensor(bytes, [6], 1).data)).toEqual([0, 1, 127, 128, 254, 255]);
    expect(() => toTensor(bytes, [5])).toThrow(ShapeError);
  });

  it('Normalize(0.5, 0.5) maps [0, 1] to [-1, 1]; Binarize keeps inked pixels; Flatten reshapes; Compose chains', () => {
    const pipeline = new transforms.Compose([new transforms.Normalize(0.5, 0.5), new transforms.Flatten()]);
    const out = pipeline.apply(toTensor(bytes, [2, 3]));
    expect(out.shape).toEqual([2, 3]);
    expect(out.data[0]).toBe(-1);
    expect(out.data[5]).toBe(1);
    expect(Array.from(new transforms.Binarize().apply(toTensor(bytes, [6])).data)).toEqual([0, 1, 1, 1, 1, 1]);
    expect(new transforms.Flatten().apply(toTensor(new Uint8Array(8), [2, 2, 2])).shape).toEqual([2, 4]);
    expect(Array.from(new transforms.Scale(255).apply(toTensor(bytes, [6])).data)).toEqual([0, 1, 127, 128, 254, 255]);
    expect(String(pipeline)).toBe('Compose([Normalize(mean=[0.5], std=[0.5]), Flatten()])');
  });

  it('per-channel Normalize and invalid settings', () => {
    const t = new Tensor(new Float32Array([1, 1, 3, 3]), [1, 2, 2]);
    expect(Array.from(new transforms.Normalize([1, 2], [1, 0.5]).apply(t).data)).toEqual([0, 0, 2, 2]);
    expect(() => new transforms.Normalize(0.5, 0)).toThrow(ConfigError);
    expect(() => new transforms.Normalize([0.5, 0.5], [1])).toThrow(ConfigError);
    expect(() => new transforms.Normalize([0, 0, 0], [1, 1, 1]).apply(t)).toThrow(ShapeError);
  });

  it('loadMnist({ subset }) keeps the first images, and checks its options', async () => {
    const m = await loadMnist({ subset: 20000, testLimit: 500 });
    expect(m.train.count).toBe(20000);
    expect(m.test.count).toBe(500);
    await expect(loadMnist({ subset: 0 })).rejects.toThrow(ConfigError);
  });
});
