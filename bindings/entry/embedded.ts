// The entry with the wasm embedded and files read through node: APIs: Deno (package exports
// "deno": no permission needed to start, --allow-read only for loadMnist) and CommonJS (exports
// "require", bundled to dist/cjs/index.cjs by tools/build-cjs.mjs).
import { initWith, createRuntimeWith, type InitOptions, type Runtime, type WasmSource } from '../runtime/load.js';
import { inlineSource } from '../runtime/source-inline.js';
import { readWasmFile } from '../runtime/read-file.js';
import { nodeWorkerStarter, type NodeWorkerClass } from '../runtime/worker-node.js';

export * from '../api.js';
export { saveModelFile, loadModelFile, loadCheckpointFile } from '../io/files-node.js';
export { loadMnist } from '../data/mnist-node.js';

// Deno has Web Workers; Node running the CommonJS bundle has worker_threads, found at run time
// (process.getBuiltinModule, Node 20.16+) so that this entry imports no Node module statically
const nodeThreads = typeof Worker === 'function' ? null
  : (globalThis as { process?: { getBuiltinModule?: (id: string) => { Worker?: NodeWorkerClass } | undefined } })
    .process?.getBuiltinModule?.('node:worker_threads')?.Worker ?? null;

/** The embedded bytes by default; init({ wasm: path }) still reads files. */
const embeddedSource: WasmSource = {
  ...inlineSource,
  readPath: readWasmFile,
  ...(nodeThreads ? { startWorker: nodeWorkerStarter(nodeThreads), noWorkers: () => null } : {}),
};

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export function init(options?: InitOptions): Promise<Runtime> { return initWith(embeddedSource, options); }

/** A runtime of its own (its own wasm instance and memory), for models given { runtime }. */
export function createRuntime(options?: InitOptions): Promise<Runtime> { return createRuntimeWith(embeddedSource, options); }
