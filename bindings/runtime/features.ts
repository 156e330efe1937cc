// Feature detection by validating the smallest module that uses each feature
// (the technique of GoogleChromeLabs/wasm-feature-detect).

const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253,
  15, 253, 128, 2, 11,
]);

export interface Features {
  simd: boolean;
  relaxedSimd: boolean;
  /** Shared memory can be created (threads need it; browsers also need crossOriginIsolated). */
  threads: boolean;
}

export function detectFeatures(): Features {
  let threads = false;
  try {
    threads = typeof SharedArrayBuffer !== 'undefined' &&
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch { threads = false; }
  return {
    simd: WebAssembly.validate(SIMD_PROBE),
    relaxedSimd: WebAssembly.validate(RELAXED_SIMD_PROBE),
    threads,
  };
}
