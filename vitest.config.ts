import { defineConfig } from 'vitest/config';

// Node 20 validates relaxed-SIMD modules only behind --experimental-wasm-relaxed-simd; Node 22+
// ship relaxed SIMD and Node 24 refuses the flag. The probe is the smallest module using a
// relaxed-SIMD opcode (the same as bindings/runtime/features.ts).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253,
  15, 253, 128, 2, 11,
]);
const relaxedFlag = WebAssembly.validate(RELAXED_SIMD_PROBE) ? [] : ['--experimental-wasm-relaxed-simd'];

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // the relaxed-tier tests need relaxed SIMD in the workers; the soak test collects garbage
    // (--expose-gc) before it reads the resident memory
    execArgv: [...relaxedFlag, '--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
