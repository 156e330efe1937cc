// The entry with the wasm embedded and files read through node: APIs: Deno (package exports
// "deno": no permission needed to start, --allow-read only for loadMnist) and CommonJS (exports
// "require", bundled to dist/cjs/index.cjs by tools/build-cjs.mjs).
import { initWith, createRuntimeWith, type InitOptions, type Runtime, type WasmSource } from '../runtime/load.js';
import { inlineSource } from '../runtime/source-inline.js';
import { readWasmFile } from '../runtime/read-file.js';

export * from '../api.js';
export { saveModelFile, loadModelFile, loadCheckpointFile } from '../io/files-node.js';
export { loadMnist } from '../data/mnist-node.js';

/** The embedded bytes by default; init({ wasm: path }) still reads files. */
const embeddedSource: WasmSource = { ...inlineSource, readPath: readWasmFile };

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export function init(options?: InitOptions): Promise<Runtime> { return initWith(embeddedSource, options); }

/** A runtime of its own (its own wasm instance and memory), for models given { runtime }. */
export function createRuntime(options?: InitOptions): Promise<Runtime> { return createRuntimeWith(embeddedSource, options); }
