// init({ threads }): the kernels split across a worker pool over one shared memory.
//
// The split is by output blocks and never changes the order in which an element is computed, so
// the promise tested here is stronger than "deterministic for a thread count": every thread count
// gives the bits of one thread. The split thresholds are lowered to 1 in most tests, so that every
// call that can split does (with the defaults, the small shapes below would run on one thread).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createRuntime, detectFeatures, Sequential, Linear, ReLU, LogSoftmax, NLLLoss, Adam, SGD, Conv2d, MaxPool2d, Flatten,
  BatchNorm2d, Dropout, Generator, Tensor, ConfigError, type Runtime,
} from '../bindings/index.js';
import { setSplitThresholds } from '../bindings/runtime/threads.js';
import { randomData, weightBits, sameBits } from './helpers/mlp.js';

const relaxed = detectFeatures().relaxedSimd;
const TIERS = relaxed ? (['simd', 'relaxed'] as const) : (['simd'] as const);

const runtimes = new Map<string, Runtime>();
async function runtime(tier: 'simd' | 'relaxed', threads: number): Promise<Runtime> {
  const key = `${tier}/${threads}`;
  if (!runtimes.has(key)) runtimes.set(key, await createRuntime({ tier, threads }));
  return runtimes.get(key)!;
}

beforeAll(() => setSplitThresholds({ gemmFlopsPerThread: 1, pointwisePerThread: 1 }));
afterAll(() => {
  setSplitThresholds();
  for (const rt of runtimes.values()) rt.stopThreads();
});

function fill(rt: Runtime, n: number, seed: number): number {
  const p = rt.heap.alloc(n * 4, 'test array');
  const g = new Generator(seed);
  rt.heap.f32.set(g.uniform(new Float32Array(n), -1, 1), p >>> 2);
  return p;
}
const read = (rt: Runtime, p: number, n: number) => rt.heap.f32.slice(p >>> 2, (p >>> 2) + n);
const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(0));

describe('threads: starting', () => {
  it('runs on the threads asked for and says so', async () => {
    const rt = await runtime('simd', 3);
    expect(rt.threads).toBe(3);
    expect(rt.threadsNote).toBeNull();
    expect(rt.heap.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const one = await createRuntime({ tier: 'simd' });
    expect(one.threads).toBe(1);
    expect(one.heap.memory.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('refuses a thread count that is not a positive integer', async () => {
    for (const threads of [0, -1, 1.5, NaN, '2', 1000]) {
      await expect(createRuntime({ threads: threads as number })).rejects.toThrow(ConfigError);
    }
  });

  it('runs on one thread, and says why, when the workers do not start', async () => {
    const { createRuntimeWith } = await import('../bindings/runtime/load.js');
    const { nodeSource } = await import('../bindings/runtime/source-node.js');
    const refused = await createRuntimeWith({ ...nodeSource, startWorker: () => { throw new Error('no workers today'); } }, { tier: 'simd', threads: 2 });
    expect(refused.threads).toBe(1);
    expect(refused.threadsNote).toMatch(/worker threads did not start \(no workers today\)/);
    // a worker that answers with an error instead of 'ready' (its instantiation failed)
    const failing = await createRuntimeWith({
      ...nodeSource,
      startWorker: () => nodeSource.startWorker!("onMessage(() => post({ type: 'error', message: 'instantiation failed' }));"),
    }, { tier: 'simd', threads: 2 });
    expect(failing.threads).toBe(1);
    expect(failing.threadsNote).toMatch(/instantiation failed/);
    // either way the runtime works on one thread
    const p = fill(failing, 64, 1);
    failing.kernels.relu_f32_fwd(p, p, 64);
  });

  it('runs on one thread, and says why, when it is given a precompiled module', async () => {
    const { readFile } = await import('node:fs/promises');
    const module = await WebAssembly.compile(await readFile(new URL('../build/simdnet.wasm', import.meta.url)));
    const rt = await createRuntime({ module, threads: 2 });
    expect(rt.threads).toBe(1);
    expect(rt.threadsNote).toMatch(/precompiled module/);
  });
});

describe('threads: every split kernel gives the bits of one thread (odd shapes)', () => {
  const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [61, 9, 33], [3, 200, 17], [130, 70, 300], [17, 1029, 3]];
  for (const tier of TIERS) {
    for (const threads of [2, 3]) {
      it(`GEMM nn / nt / tn / strided, ${tier} tier, ${threads} threads, against one thread and the scalar reference`, async () => {
        const one = await runtime(tier, 1), many = await runtime(tier, threads);
        for (const [M, N, K] of SHAPES) {
          for (const kind of ['nn', 'nt', 'tn'] as const) {
            for (const accumulate of [0, 1]) {
              const out: Float32Array[] = [];
              for (const rt of [one, many]) {
                const a = fill(rt, M * K, 1), b = fill(rt, K * N, 2), c = fill(rt, M * N, 3);
                rt.kernels[`gemm_f32_${kind}`](M, N, K, a, b, c, accumulate, rt.gemmScratch);
                out.push(read(rt, c, M * N));
                if (rt === many) {
                  const ref = fill(rt, M * N, 3);
                  rt.kernels.gemm_f32_ref(M, N, K, a, kind === 'tn' ? 1 : 0, b, kind === 'nt' ? 1 : 0, ref, accumulate);
                  const want = read(rt, ref, M * N);
                  for (let i = 0; i < M * N; i++) expect(Math.abs(out[1][i] - want[i])).toBeLessThanOrEqual(1e-5 * (K + 1));
                  rt.heap.release(ref);
                }
                for (const p of [a, b, c]) rt.heap.release(p);
              }
              expect(bits(out[1]), `${kind} ${M}x${N}x${K} accumulate ${accumulate}`).toEqual(bits(out[0]));
            }
          }
        }
        // a block of a larger matrix, through the leading dimensions
        const out: Float32Array[] = [];
        for (const rt of [one, many]) {
          const a = fill(rt, 40 * 50, 4), b = fill(rt, 50 * 60, 5), c = fill(rt, 40 * 70, 6);
          rt.kernels.gemm_f32_strided(30, 41, 23, a + 4 * 3, 50, 0, b + 4 * 2, 60, 0, c + 4 * 5, 70, 1, rt.gemmScratch);
          out.push(read(rt, c, 40 * 70));
          for (const p of [a, b, c]) rt.heap.release(p);
        }
        expect(bits(out[1])).toEqual(bits(out[0]));
      });

      it(`pointwise passes, optimizer steps and pooling, ${tier} tier, ${threads} threads`, async () => {
        const one = await runtime(tier, 1), many = await runtime(tier, threads);
        const n = 1000 * threads + 7;
        type Call = (rt: Runtime, p: number[]) => void;
        const calls: [string, number, Call][] = [
          ['relu fwd', 2, (rt, [x, y]) => rt.kernels.relu_f32_fwd(x, y, n)],
          ['relu bwd', 3, (rt, [y, dy, dx]) => rt.kernels.relu_f32_bwd(y, dy, dx, n)],
          ['gelu fwd', 2, (rt, [x, y]) => rt.kernels.gelu_f32_fwd(x, y, n, 0)],
          ['tanh bwd', 3, (rt, [y, dy, dx]) => rt.kernels.tanh_f32_bwd(y, dy, dx, n)],
          ['fill', 1, (rt, [x]) => rt.kernels.fill_f32(x, n, 0.25)],
          ['copy', 2, (rt, [x, y]) => rt.kernels.copy_f32(x, y, n)],
          ['sgd', 3, (rt, [p, g, b]) => rt.kernels.sgd_f32_step(p, g, b, n, 0.1, 0.9, 0, 1e-4, 1, 0)],
          ['adam', 5, (rt, [p, g, m, v, vmax]) => rt.kernels.adam_f32_step(p, g, m, v, vmax, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1e-2, 0.3, 1)],
          ['adam without vmax', 4, (rt, [p, g, m, v]) => rt.kernels.adam_f32_step(p, g, m, v, 0, n, 1e-3, 0.9, 0.999, 1e-8, 0, 1e-2, 0.3, 0)],
          ['rmsprop', 5, (rt, [p, g, s, a, b]) => rt.kernels.rmsprop_f32_step(p, g, s, a, b, n, 1e-2, 0.99, 1e-8, 0, 0.9)],
          ['maxpool fwd', 3, (rt, [x, y, arg]) => rt.kernels.maxpool2d_f32_fwd(x, 10, 9, 11, 3, 2, 2, 2, 1, 0, 5, 5, y, arg)],
          ['bias channels', 2, (rt, [y, b]) => rt.kernels.bias_f32_add_channels(y, b, 7, 3, 13)],
        ];
        for (const [name, arrays, call] of calls) {
          const out: Float32Array[][] = [];
          for (const rt of [one, many]) {
            const ptrs = Array.from({ length: arrays }, (_, i) => fill(rt, n, 10 + i));
            if (name === 'maxpool fwd') rt.heap.i32.fill(0, ptrs[2] >>> 2, (ptrs[2] >>> 2) + n);
            call(rt, ptrs);
            out.push(ptrs.map((p) => read(rt, p, n)));
            for (const p of ptrs) rt.heap.release(p);
          }
          out[0].forEach((a, i) => expect(bits(out[1][i]), `${name}, array ${i}`).toEqual(bits(a)));
        }
        // the pooling backward scatters through the forward's argmax
        const outs: Float32Array[] = [];
        for (const rt of [one, many]) {
          const x = fill(rt, 10 * 99, 20), y = fill(rt, 250, 21), arg = rt.heap.alloc(250 * 4, 'arg');
          const dy = fill(rt, 250, 22), dx = fill(rt, 10 * 99, 23);
          rt.kernels.maxpool2d_f32_fwd(x, 10, 9, 11, 3, 2, 2, 2, 1, 0, 5, 5, y, arg);
          rt.kernels.maxpool2d_f32_bwd(dy, arg, 10, 9, 11, 5, 5, dx);
          outs.push(read(rt, dx, 10 * 99));
          for (const p of [x, y, arg, dy, dx]) rt.heap.release(p);
        }
        expect(bits(outs[1])).toEqual(bits(outs[0]));
      });
    }
  }
});

describe('threads: models', () => {
  for (const tier of TIERS) {
    it(`the course MLP trains to the same bits on 1, 2 and 3 threads (${tier} tier, Adam)`, async () => {
      const { x, y } = randomData(300, 784, 10, 5);
      const weights = [];
      for (const threads of [1, 2, 3]) {
        const rt = await runtime(tier, threads);
        const g = new Generator(7);
        const model = new Sequential([new Linear(784, 64, { generator: g }), new ReLU(), new Linear(64, 32, { generator: g }), new ReLU(),
          new Linear(32, 10, { generator: g }), new LogSoftmax()], { runtime: rt });
        model.compile({ loss: new NLLLoss(), optimizer: new Adam(model, { lr: 1e-3 }) });
        await model.fit(new Tensor(x, [300, 784]), y, { epochs: 2, batchSize: 64, seed: 3 });
        weights.push(weightBits(model));
        model.dispose();
      }
      expect(sameBits(weights[0], weights[1])).toBe(true);
      expect(sameBits(weights[0], weights[2])).toBe(true);
    });

    it(`a CNN (convolutions, BatchNorm, pooling, dropout) trains to the same bits on 1 and 2 threads (${tier} tier)`, async () => {
      const { x, y } = randomData(48, 1 * 14 * 14, 10, 6);
      const weights = [];
      const logits = [];
      for (const threads of [1, 2]) {
        const rt = await runtime(tier, threads);
        const g = new Generator(8);
        const model = new Sequential([
          new Conv2d(1, 8, 5, { padding: 2, generator: g }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
          new Conv2d(8, 12, 3, { generator: g }), new ReLU(), new Flatten(), new Dropout(0.2, { generator: new Generator(2) }),
          new Linear(12 * 5 * 5, 10, { generator: g }), new LogSoftmax(),
        ], { runtime: rt });
        model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr: 0.05, momentum: 0.9 }) });
        await model.fit(new Tensor(x, [48, 1, 14, 14]), y, { epochs: 2, batchSize: 16, seed: 4 });
        weights.push(weightBits(model));
        logits.push(bits(model.predict(new Tensor(x, [48, 1, 14, 14])).data));
        model.dispose();
      }
      expect(sameBits(weights[0], weights[1])).toBe(true);
      expect(logits[1]).toEqual(logits[0]);
    });
  }

  it('keeps working after the shared memory grows under the workers', async () => {
    const rt = await runtime('simd', 2);
    const before = rt.heap.byteLength;
    const big = rt.heap.alloc(before + (64 << 20), 'growth'); // forces a grow well past the old end
    const M = 50, N = 40, K = 30;
    const a = fill(rt, M * K, 1), b = fill(rt, K * N, 2), c = fill(rt, M * N, 3);
    expect(c).toBeGreaterThan(before);
    rt.kernels.gemm_f32_nn(M, N, K, a, b, c, 0, rt.gemmScratch);
    const ref = fill(rt, M * N, 3);
    rt.kernels.gemm_f32_ref(M, N, K, a, 0, b, 0, ref, 0);
    expect(bits(read(rt, c, M * N))).toEqual(bits(read(rt, ref, M * N)));
    for (const p of [a, b, c, ref, big]) rt.heap.release(p);
  });
});

describe('threads: the pool', () => {
  afterEach(() => setSplitThresholds({ gemmFlopsPerThread: 1, pointwisePerThread: 1 }));

  it('sleeps when idle: the process uses almost no CPU while the workers wait', async () => {
    const rt = await runtime('simd', 3);
    const M = 200, a = fill(rt, M * M, 1), c = fill(rt, M * M, 2);
    rt.kernels.gemm_f32_nn(M, M, M, a, a, c, 0, rt.gemmScratch); // the workers have run once
    const cpu = process.cpuUsage(), wall = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const used = process.cpuUsage(cpu), elapsed = performance.now() - wall;
    // user + system time of every thread of the process: spinning workers would use ~2 x 400 ms
    expect((used.user + used.system) / 1000).toBeLessThan(0.25 * elapsed);
    rt.heap.release(a); rt.heap.release(c);
  });

  it('lets a Node process exit while its workers sleep', () => {
    const entry = fileURLToPath(new URL('../dist/bindings/index.js', import.meta.url));
    const script = `const s = await import(${JSON.stringify(entry)}); const rt = await s.init({ threads: 2 });` +
      'console.log(rt.threads, rt.threadsNote);';
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('2 null');
    expect(run.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('splits nothing below the default thresholds and the results are the same either way', async () => {
    setSplitThresholds();
    const rt = await runtime('simd', 2), one = await runtime('simd', 1);
    const out: Float32Array[] = [];
    for (const r of [one, rt]) {
      const M = 256, a = fill(r, M * M, 1), c = fill(r, M * M, 2);
      r.kernels.gemm_f32_nt(M, M, M, a, a, c, 0, r.gemmScratch); // 33 MFLOP: split with the defaults
      out.push(read(r, c, M * M));
      r.heap.release(a); r.heap.release(c);
    }
    expect(bits(out[1])).toEqual(bits(out[0]));
  });

  it('a trap in a worker\'s share is a StateError for the caller, and the pool goes on working', async () => {
    const rt = await runtime('simd', 2);
    const M = 20, N = 16, K = 1;
    const a = fill(rt, M * K, 1), b = fill(rt, K * N, 2);
    // C placed so that the calling thread's rows (0..9) fit in the memory and the worker's (10..19) do not
    const c = rt.heap.byteLength - 10 * N * 4;
    expect(() => rt.kernels.gemm_f32_nn(M, N, K, a, b, c, 0, rt.gemmScratch)).toThrow(/failed on a worker thread/);
    const d = fill(rt, M * N, 3), ref = fill(rt, M * N, 3);
    rt.kernels.gemm_f32_nn(M, N, K, a, b, d, 0, rt.gemmScratch);
    rt.kernels.gemm_f32_ref(M, N, K, a, 0, b, 0, ref, 0);
    expect(bits(read(rt, d, M * N))).toEqual(bits(read(rt, ref, M * N)));
    for (const p of [a, b, d, ref]) rt.heap.release(p);
  });

  it('runs on one thread after stopThreads, to the same bits, and other runtimes are unaffected', async () => {
    const rt = await createRuntime({ tier: 'simd', threads: 2 });
    const M = 64, a = fill(rt, M * M, 1), c = fill(rt, M * M, 2);
    rt.kernels.gemm_f32_nn(M, M, M, a, a, c, 0, rt.gemmScratch);
    const before = read(rt, c, M * M);
    rt.stopThreads();
    expect(rt.threads).toBe(1);
    rt.kernels.gemm_f32_nn(M, M, M, a, a, c, 0, rt.gemmScratch);
    expect(bits(read(rt, c, M * M))).toEqual(bits(before));
    const other = await runtime('simd', 2);
    const b = fill(other, M * M, 1), d = fill(other, M * M, 2);
    other.kernels.gemm_f32_nn(M, M, M, b, b, d, 0, other.gemmScratch);
    other.heap.release(b); other.heap.release(d);
  });
});
