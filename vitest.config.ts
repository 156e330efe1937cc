import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Node 20 validates relaxed-SIMD modules only behind this flag; tests of the 'relaxed' tier need it.
    execArgv: ['--experimental-wasm-relaxed-simd'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
