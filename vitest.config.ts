import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Node 20 validates relaxed-SIMD modules only behind this flag; tests of the 'relaxed' tier need it.
    // --expose-gc: the soak test collects garbage before it reads the resident memory.
    execArgv: ['--experimental-wasm-relaxed-simd', '--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
