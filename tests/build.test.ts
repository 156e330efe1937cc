// Budgets that keep the build honest: the wasm stays small, and the hot kernels really compile to
// SIMD instructions (read from the .wat that asc writes beside each .wasm).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { findMemoryImport, withSharedMemory } from '../bindings/runtime/wasm-binary.js';
import { FormatError } from '../bindings/index.js';

const read = (name: string) => readFileSync(new URL(`../build/${name}`, import.meta.url));
const SIZE_BUDGET_GZIP = 16 * 1024;

/** The body of one function in a .wat file. */
function watFunction(wat: string, name: string): string {
  const start = wat.indexOf(`(func $${name} `);
  if (start < 0) throw new Error(`function ${name} not found in the .wat`);
  const next = wat.indexOf('\n (func ', start + 1);
  return wat.slice(start, next < 0 ? undefined : next);
}

describe('wasm build', () => {
  for (const file of ['simdnet.wasm', 'simdnet-relaxed.wasm']) {
    it(`${file} is under ${SIZE_BUDGET_GZIP / 1024} KiB gzipped and imports only its memory (1 to 65536 pages, shareable)`, async () => {
      const bytes = read(file);
      expect(gzipSync(bytes).length).toBeLessThan(SIZE_BUDGET_GZIP);
      const imports = WebAssembly.Module.imports(await WebAssembly.compile(bytes));
      // pure kernels: no host functions; the memory comes from the host so that the thread pool
      // can give every worker the same shared one
      expect(imports).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      expect(findMemoryImport(bytes)).toMatchObject({ initialPages: 1, maximumPages: 65536, shared: false });
      const shared = withSharedMemory(bytes);
      expect(findMemoryImport(shared)).toMatchObject({ initialPages: 1, maximumPages: 65536, shared: true });
      expect(shared.length).toBe(bytes.length);
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(shared), { env: { memory } });
      expect(instance.exports.memory).toBe(memory);
    });
  }

  it('the memory-import reader refuses a binary that is not wasm, or is cut short', () => {
    const bytes = read('simdnet.wasm');
    expect(() => findMemoryImport(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(FormatError);
    expect(() => findMemoryImport(bytes.subarray(0, 40))).toThrow(/malformed/);
    // a module that defines its memory has no import to share
    const own = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 1, 1, 2]);
    expect(findMemoryImport(own)).toBeNull();
    expect(() => withSharedMemory(own)).toThrow(FormatError);
  });

  /** The k loop of the GEMM microkernel. */
  const microLoop = (file: string) => {
    const micro = watFunction(read(file).toString(), 'assembly/gemm/micro_tile');
    return micro.slice(micro.indexOf('loop'), micro.indexOf('end', micro.indexOf('br $for-loop')));
  };

  it('the plain GEMM microkernel is a 5x8 f32x4 tile: 10 multiply-adds on 2 vector loads + 5 broadcasts per k', () => {
    const loop = microLoop('simdnet.wat');
    expect(loop.match(/f32x4\.mul/g)?.length).toBe(10);
    expect(loop.match(/f32x4\.add/g)?.length).toBe(10);
    expect(loop.match(/v128\.load32_splat/g)?.length).toBe(5);
    expect(loop.match(/v128\.load(?!32)/g)?.length).toBe(2);
  });

  it('the relaxed GEMM microkernel is a 6x8 tile of 12 fused multiply-adds per k', () => {
    const loop = microLoop('simdnet-relaxed.wat');
    expect(loop.match(/f32x4\.relaxed_fma/g)?.length).toBe(12);
    expect(loop.match(/v128\.load32_splat/g)?.length).toBe(6);
    expect(loop).not.toMatch(/f32x4\.mul/);
  });

  it('the elementwise, activation, loss and optimizer kernels use SIMD', () => {
    const wat = read('simdnet.wat').toString();
    // every optimizer is one f32x4 pass over the slab; sigmoid/tanh/GELU forward stay scalar (libm-exact)
    for (const [fn, op] of [['elementwise/relu_f32_fwd', 'f32x4.max'], ['elementwise/relu_f32_bwd', 'f32x4.gt'],
      ['elementwise/bias_f32_add', 'f32x4.add'], ['elementwise/find_nonfinite_f32', 'f32x4.ne'], ['elementwise/fill_f32', 'v128.store'],
      ['optim/sgd_f32_step', 'f32x4.mul'], ['optim/adam_f32_step', 'f32x4.sqrt'], ['optim/rmsprop_f32_step', 'f32x4.sqrt'],
      ['activations/leaky_relu_f32_fwd', 'v128.bitselect'], ['activations/sigmoid_f32_bwd', 'f32x4.mul'],
      ['activations/tanh_f32_bwd', 'f32x4.mul'], ['activations/dropout_f32_fwd', 'f32x4.mul'],
      ['losses/mse_f32_fwd_bwd', 'f32x4.mul'], ['losses/l1_f32_fwd_bwd', 'f32x4.abs'],
      // the CNN kernels: im2col / col2im move 4-wide spans, 2x2 max pooling selects 4-wide
      ['conv/im2col_f32', 'v128.store'], ['conv/col2im_f32', 'f32x4.add'], ['conv/bias_f32_add_channels', 'f32x4.add'],
      ['pool/maxpool2x2s2', 'v128.bitselect'], ['batchnorm/batchnorm_f32_fwd', 'f32x4.mul'],
      ['batchnorm/batchnorm_f32_stats', 'f64x2.promote_low_f32x4']]) {
      expect(watFunction(wat, `assembly/${fn}`), fn).toContain(op);
    }
  });
});
