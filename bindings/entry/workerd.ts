// The entry for Cloudflare workerd and other edge runtimes that refuse to compile wasm from bytes
// (package exports "workerd", "worker", "edge-light"): the builds are imported as modules, which
// the runtime (or wrangler's bundler) compiles ahead of time. MNIST comes over fetch.
import simdModule from '../../build/simdnet.wasm';
import relaxedModule from '../../build/simdnet-relaxed.wasm';
import { initWith, createRuntimeWith, type InitOptions, type Runtime, type WasmSource } from '../runtime/load.js';

export * from '../api.js';
export { loadMnist } from '../data/mnist-fetch.js';

const moduleSource: WasmSource = {
  describe: "simdnet's workerd entry (the .wasm files imported as modules)",
  module: (tier) => (tier === 'simd' ? simdModule : relaxedModule),
};

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export function init(options?: InitOptions): Promise<Runtime> { return initWith(moduleSource, options); }

/** A runtime of its own (its own wasm instance and memory), for models given { runtime }. */
export function createRuntime(options?: InitOptions): Promise<Runtime> { return createRuntimeWith(moduleSource, options); }
