// Budgets that keep the build honest: the wasm stays small, and the hot kernels really compile to
// SIMD instructions (read from the .wat that asc writes beside each .wasm).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

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
    it(`${file} is under ${SIZE_BUDGET_GZIP / 1024} KiB gzipped and needs no imports`, async () => {
      const bytes = read(file);
      expect(gzipSync(bytes).length).toBeLessThan(SIZE_BUDGET_GZIP);
      const imports = WebAssembly.Module.imports(await WebAssembly.compile(bytes));
      expect(imports).toEqual([]); // pure kernels: instantiable anywhere, with no host functions
    });
  }

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
