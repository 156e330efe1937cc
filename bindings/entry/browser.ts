// The entry for browsers, bundlers (esbuild, Vite, webpack), Deno and everything else (package
// exports "browser", "deno", "default"): the wasm is embedded, so nothing has to be served,
// configured or allowed; nothing here imports node:*. MNIST comes over fetch (loadMnist({ url })).
import { initWith, createRuntimeWith, type InitOptions, type Runtime } from '../runtime/load.js';
import { inlineSource } from '../runtime/source-inline.js';

export * from '../api.js';
export { loadMnist } from '../data/mnist-fetch.js';

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export function init(options?: InitOptions): Promise<Runtime> { return initWith(inlineSource, options); }

/** A runtime of its own (its own wasm instance and memory), for models given { runtime }. */
export function createRuntime(options?: InitOptions): Promise<Runtime> { return createRuntimeWith(inlineSource, options); }
