// Loading: Node file (default), caller-supplied bytes, a precompiled WebAssembly.Module (the edge
// path), tier selection and feature detection.
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import {
  createRuntime, detectFeatures, Sequential, Linear, ReLU, NLLLoss, LogSoftmax, SGD, Generator, ConfigError, StateError, FormatError,
} from '../bindings/index.js';
import { randomData } from './helpers/mlp.js';

const wasmUrl = (name: string) => new URL(`../build/${name}`, import.meta.url);

function tinyModel(rt: Awaited<ReturnType<typeof createRuntime>>) {
  const g = new Generator(1);
  const m = new Sequential([new Linear(784, 32, { generator: g }), new ReLU(), new Linear(32, 10, { generator: g }), new LogSoftmax()], { runtime: rt });
  m.compile({ loss: new NLLLoss(), optimizer: new SGD(m, { lr: 0.05 }) });
  return m;
}

describe('runtime loading', () => {
  it('detects SIMD, and relaxed SIMD (Node 22+ ship it; Node 20 only with --experimental-wasm-relaxed-simd)', () => {
    const f = detectFeatures();
    expect(f.simd).toBe(true);
    const major = Number(process.versions.node.split('.')[0]);
    expect(f.relaxedSimd).toBe(major >= 22 || process.execArgv.includes('--experimental-wasm-relaxed-simd'));
  });

  it('builds a model before init() with a clear StateError', async () => {
    const { getRuntime } = await import('../bindings/runtime/load.js');
    // this file never calls init(), so the default runtime does not exist
    expect(() => getRuntime()).toThrow(StateError);
    expect(() => new Sequential([new Linear(2, 2)])).toThrow(/call `await init\(\)` first/);
  });

  it('loads from a precompiled WebAssembly.Module (edge), from bytes, and from the default file; all agree bit for bit', async () => {
    const bytes = await readFile(wasmUrl('simdnet.wasm'));
    const fromModule = await createRuntime({ module: await WebAssembly.compile(bytes) });
    const fromBytes = await createRuntime({ wasm: new Uint8Array(bytes) });
    const fromFile = await createRuntime({ tier: 'simd' });
    // caller-given modules and bytes are labelled simd unless the caller says otherwise
    expect([fromModule.tier, fromBytes.tier]).toEqual(['simd', 'simd']);
    const { x, y } = randomData(300, 784, 10);
    const results = [];
    for (const rt of [fromModule, fromBytes, fromFile]) {
      const m = tinyModel(rt);
      await m.fit(x, y, { epochs: 1, seed: 3 });
      results.push(Array.from(m.predict(x.subarray(0, 784 * 5)).data));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("tier 'relaxed' (fused multiply-add) trains to the same result within float tolerance", async () => {
    // vitest.config.ts passes --experimental-wasm-relaxed-simd to Node 20 workers (22+ need none), so this never skips
    expect(detectFeatures().relaxedSimd, 'relaxed SIMD is enabled in the test workers').toBe(true);
    const simd = await createRuntime({ tier: 'simd' });
    const relaxed = await createRuntime({ tier: 'relaxed' });
    expect(relaxed.tier).toBe('relaxed');
    expect((await createRuntime({ tier: 'auto' })).tier).toBe('relaxed');
    expect((await createRuntime()).tier, "the default is 'auto': the fastest tier the runtime validates").toBe('relaxed');
    const { x, y } = randomData(300, 784, 10);
    const [a, b] = [tinyModel(simd), tinyModel(relaxed)];
    const ha = await a.fit(x, y, { epochs: 2, seed: 3 });
    const hb = await b.fit(x, y, { epochs: 2, seed: 3 });
    expect(hb.history.loss[1]).toBeCloseTo(ha.history.loss[1], 3);
    const pa = a.predict(x.subarray(0, 784 * 20)).data, pb = b.predict(x.subarray(0, 784 * 20)).data;
    for (let i = 0; i < pa.length; i++) expect(Math.abs(pa[i] - pb[i])).toBeLessThan(1e-3);
  });

  it('rejects an unknown tier', async () => {
    await expect(createRuntime({ tier: 'fast' as never })).rejects.toThrow(ConfigError);
  });

  it('a wasm module that is not a working simdnet build is a FormatError at init, whatever it exports', async () => {
    const { default: binaryen } = await import('binaryen');
    const { KERNEL_FUNCTIONS } = await import('../bindings/runtime/kernels.js');
    const moduleOf = (body: string) => {
      const m = binaryen.parseText(`(module (memory (export "memory") 1) ${body})`);
      const bytes = m.emitBinary();
      m.dispose();
      return bytes;
    };
    const kernels = (heapBase: string) => KERNEL_FUNCTIONS.map((name) => name === 'heap_base' ? heapBase
      : name === 'gemm_f32_scratch_bytes' ? '(func (export "gemm_f32_scratch_bytes") (result i32) (i32.const 64))'
      : `(func (export "${name}"))`).join(' ');
    const cases: [string, string, RegExp][] = [
      ['kernel names exported as globals', KERNEL_FUNCTIONS.map((n) => `(global (export "${n}") i32 (i32.const 0))`).join(' '), /does not export the function 'heap_base'/],
      ['only some kernels', '(func (export "heap_base") (result i32) (i32.const 1024))', /does not export the function 'gemm_f32_scratch_bytes'/],
      ['heap_base traps', kernels('(func (export "heap_base") (result i32) (unreachable))'), /failed while starting/],
      ['heap_base past the memory', kernels('(func (export "heap_base") (result i32) (i32.const -1))'), /heap base/],
    ];
    for (const [what, body, message] of cases) {
      let error: unknown = null;
      try { await createRuntime({ wasm: moduleOf(body) }); } catch (e) { error = e; }
      expect(error, what).toBeInstanceOf(FormatError);
      expect((error as Error).message, what).toMatch(message);
    }
  });

  it('the kernel manifest lists exactly the functions both builds export', async () => {
    const { KERNEL_FUNCTIONS } = await import('../bindings/runtime/kernels.js');
    for (const file of ['simdnet.wasm', 'simdnet-relaxed.wasm']) {
      const exported = WebAssembly.Module.exports(new WebAssembly.Module(await readFile(wasmUrl(file))));
      expect(exported.filter((e) => e.kind === 'function').map((e) => e.name).sort(), file).toEqual([...KERNEL_FUNCTIONS].sort());
    }
  });
});
