// Finding and instantiating the wasm, once per runtime, and choosing the build tier.
//
// Where the wasm comes from is the one thing that differs between environments, so each package
// entry (bindings/entry/*) hands init a WasmSource:
//   Node, Bun:             reads dist/build/simdnet*.wasm next to the package (node:fs)
//   browsers, bundlers,
//   Deno, default:         the bytes embedded in the entry (no asset, path or permission to set up)
//   workerd (Cloudflare):  the .wasm files imported as modules: precompiled, never compiled from
//                          bytes (workerd refuses that)
// init({ module }) and init({ wasm: bytes | URL | path }) override the entry's source.

import { StateError, ConfigError, FormatError, MemoryError, describe } from '../errors.js';
import { Heap, WASM32_MAX_BYTES } from '../memory/heap.js';
import { checkOptions } from '../options.js';
import { detectFeatures, type Features } from './features.js';
import { KERNEL_FUNCTIONS, type Kernels } from './kernels.js';
import { MAX_THREADS, WorkerPool, parallelKernels, type StartWorker } from './threads.js';
import { findMemoryImport, withSharedMemory } from './wasm-binary.js';

/**
 * 'simd': the plain SIMD build, bit-exact on every runtime and CPU: ask for it to get the same bits everywhere.
 * 'relaxed': the relaxed-SIMD build (fused multiply-add, about 1.5x faster; last bits may differ by CPU).
 * 'auto' (default): relaxed where the runtime validates it (Node 22+, Chromium, Firefox, Deno,
 * workerd), else simd (Node 20 without --experimental-wasm-relaxed-simd, Safari). runtime.tier says which.
 */
export type Tier = 'simd' | 'relaxed' | 'auto';

export interface InitOptions {
  /** A precompiled module (edge runtimes); `tier` (default 'simd' here) then only labels it. */
  module?: WebAssembly.Module;
  /** Where to get the wasm bytes instead of the default location: a path, URL, or the bytes. */
  wasm?: string | URL | ArrayBuffer | Uint8Array;
  tier?: Tier;
  /** Upper bound for the wasm memory in bytes; plans that need more throw MemoryError. */
  maxMemoryBytes?: number;
  /**
   * Threads to run the kernels on (default 1): the calling thread and threads - 1 workers over one
   * shared memory. Where that is impossible (workerd, a page that is not cross-origin isolated, a
   * precompiled module) the runtime runs on one and runtime.threadsNote says why.
   */
  threads?: number;
}

/** A started pool: the calling thread's kernels over the shared memory, and how large that memory may grow. */
interface Threading { pool: WorkerPool; kernels: Kernels; maxBytes: number }

/** Rows of the GEMM microkernel of each build (MR in assembly/gemm.ts): GEMM rows split on multiples of it. */
const GEMM_MR = { simd: 5, relaxed: 6 } as const;

export class Runtime {
  readonly heap: Heap;
  /** Packing scratch for GEMM calls on the calling thread (each worker has its own). */
  readonly gemmScratch: number;
  /** The kernels; with threads, the large ones split their work across the pool. */
  readonly kernels: Kernels;
  readonly tier: 'simd' | 'relaxed';
  readonly features: Features;
  /** Why the runtime runs on fewer threads than init asked for; null when it got them all. */
  readonly threadsNote: string | null;
  readonly #pool: WorkerPool | null;

  /** @internal: made by init / createRuntime. `kernels` run on this thread; with a pool, over its shared memory. */
  constructor(kernels: Kernels, tier: 'simd' | 'relaxed', features: Features, maxMemoryBytes?: number,
    pool: WorkerPool | null = null, threadsNote: string | null = null) {
    this.tier = tier;
    this.features = Object.freeze({ ...features });
    const heapBase = kernels.heap_base() >>> 0, scratch = kernels.gemm_f32_scratch_bytes();
    if (!(heapBase <= kernels.memory.buffer.byteLength) || !(scratch > 0 && scratch < 2 ** 28)) {
      throw new FormatError(`the module's heap base ${heapBase} or GEMM scratch size ${scratch} is not a simdnet build's`);
    }
    this.heap = new Heap(kernels.memory, heapBase, maxMemoryBytes);
    this.gemmScratch = this.heap.alloc(scratch, 'GEMM packing scratch');
    if (pool) {
      const scratches = [this.gemmScratch];
      for (let t = 1; t < pool.threads; t++) scratches.push(this.heap.alloc(scratch, `GEMM packing scratch of thread ${t}`));
      this.kernels = parallelKernels(kernels, pool, scratches, GEMM_MR[tier]);
    } else {
      this.kernels = kernels;
    }
    this.#pool = pool;
    this.threadsNote = threadsNote;
    Object.freeze(this);
  }

  /** Threads the kernels run on, the calling one included (init's `threads`, or 1 where that was impossible or after stopThreads). */
  get threads(): number { return this.#pool && !this.#pool.stopped ? this.#pool.threads : 1; }

  /**
   * Stops the worker threads (the runtime then runs on one, and models built on it keep working).
   * Node lets a process exit while they sleep, so this is for long-lived programs that are done with them.
   */
  stopThreads(): void {
    this.#pool?.stop();
  }
}

const INIT_OPTIONS = ['module', 'wasm', 'tier', 'maxMemoryBytes', 'threads'] as const;

/** The file name of each build, in dist/build/ (and the package's ./simdnet*.wasm subpaths). */
export const WASM_FILES = { simd: 'simdnet.wasm', relaxed: 'simdnet-relaxed.wasm' } as const;

/** How an entry finds the wasm (see the file comment). Each member is optional. */
export interface WasmSource {
  /** Where this source is, for messages ("the bytes embedded in simdnet's browser entry"). */
  describe: string;
  /** The build of a tier, precompiled (workerd). */
  module?(tier: 'simd' | 'relaxed'): WebAssembly.Module;
  /** The bytes of a tier's build (embedded, or read from the package's files). */
  bytes?(tier: 'simd' | 'relaxed'): Promise<Uint8Array>;
  /** Reads init({ wasm: path }) (Node, Bun); without it a path is fetched as a URL. */
  readPath?(url: URL): Promise<Uint8Array>;
  /** Starts a worker thread for the pool (threads.ts); absent where the runtime has none (workerd). */
  startWorker?: StartWorker;
  /** Why this environment cannot start workers, when it cannot (checked when init asks for threads). */
  noWorkers?(): string | null;
}

let defaultRuntime: Runtime | null = null;

/** Loads the kernels (from `source` unless the options say otherwise) and makes them the default runtime. */
export async function initWith(source: WasmSource, options: InitOptions = {}): Promise<Runtime> {
  const runtime = await createRuntimeWith(source, options);
  defaultRuntime = runtime;
  return runtime;
}

/** The runtime `init` made; throws a StateError before that. */
export function getRuntime(): Runtime {
  if (!defaultRuntime) throw new StateError('simdnet is not initialised: call `await init()` first');
  return defaultRuntime;
}

/** A runtime of its own (its own wasm instance and memory), from `source` unless the options say otherwise. */
export async function createRuntimeWith(source: WasmSource, options: InitOptions = {}): Promise<Runtime> {
  checkOptions('init', options, INIT_OPTIONS);
  options ??= {};
  const features = detectFeatures();
  if (!features.simd) throw new StateError('this runtime has no WebAssembly SIMD; simdnet needs it');
  // a module or bytes given by the caller are one build, which only the caller knows: labelled
  // 'simd' unless the caller says 'relaxed'; otherwise the fastest build the runtime validates
  const requested = options.tier ?? (options.module !== undefined || options.wasm !== undefined ? 'simd' : 'auto');
  if (typeof requested !== 'string' || !['simd', 'relaxed', 'auto'].includes(requested)) {
    throw new ConfigError(`tier must be 'simd', 'relaxed' or 'auto', got ${describe(requested)}`);
  }
  const max = options.maxMemoryBytes;
  if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 65536 && max <= WASM32_MAX_BYTES)) {
    throw new ConfigError(`init: maxMemoryBytes must be an integer number of bytes in [65536, 4 GiB = ${WASM32_MAX_BYTES}], ` +
      `got ${describe(max)}`);
  }
  if (options.module !== undefined && !(options.module instanceof WebAssembly.Module)) {
    throw new ConfigError(`init: module must be a WebAssembly.Module, got ${describe(options.module)}`);
  }
  const tier = requested === 'auto' ? (features.relaxedSimd ? 'relaxed' : 'simd') : requested as 'simd' | 'relaxed';
  if (tier === 'relaxed' && !features.relaxedSimd && !options.module) {
    throw new ConfigError("tier 'relaxed' was requested but this runtime does not support relaxed SIMD " +
      '(Node 20 needs --experimental-wasm-relaxed-simd)');
  }
  const threads = options.threads ?? 1;
  if (!(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new ConfigError(`init: threads must be an integer in [1, ${MAX_THREADS}], got ${describe(threads)}`);
  }
  let module = options.module ?? (options.wasm === undefined ? source.module?.(tier) : undefined);
  const bytes = module ? null : toBytes(await wasmBytes(source, options.wasm, tier));
  let threading: Threading | null = null;
  let threadsNote: string | null = null;
  if (threads > 1) {
    threadsNote = whyNoThreads(source, features, bytes);
    if (!threadsNote) {
      try {
        threading = await startThreads(source.startWorker!, threads, bytes!, max);
      } catch (e) {
        threadsNote = `the worker threads did not start (${(e as Error).message})`;
      }
    }
  }
  let kernels: Kernels;
  if (threading) {
    kernels = threading.kernels;
  } else {
    module ??= await compile(bytes!);
    // the memory the build imports (a precompiled module's limits cannot be read: ours are 1..65536 pages),
    // or none for a build that defines its own
    const limits = bytes ? findMemoryImport(bytes) : importsMemory(module) ? { initialPages: 1, maximumPages: 65536 } : null;
    kernels = await instantiateKernels(module, limits ? newMemory(limits.initialPages, limits.maximumPages ?? 65536, false) : null);
  }
  try {
    return new Runtime(kernels, tier, features, threading ? threading.maxBytes : max, threading?.pool ?? null, threadsNote);
  } catch (e) {
    threading?.pool.stop();
    if (e instanceof MemoryError || e instanceof FormatError) throw e;
    throw new FormatError(`init: the wasm module failed while starting (${(e as Error).message}); it is not a working simdnet build`, { cause: e });
  }
}

function toBytes(got: ArrayBuffer | Uint8Array): Uint8Array {
  return got instanceof Uint8Array ? got : new Uint8Array(got);
}

async function compile(bytes: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new FormatError(`init: the wasm bytes do not compile (${(e as Error).message}); ` +
      'pass the simdnet.wasm (or simdnet-relaxed.wasm) file of this package', { cause: e });
  }
}

/** Instantiates a build over `memory` (null: a build that defines its own) and checks that it is simdnet's. */
async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory | null): Promise<Kernels> {
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
  } catch (e) {
    throw new FormatError(`init: the wasm module cannot be instantiated (${(e as Error).message}); it is not a simdnet build`, { cause: e });
  }
  const exports = instance.exports as Record<string, unknown>;
  const missing = KERNEL_FUNCTIONS.find((name) => typeof exports[name] !== 'function');
  if (missing) throw new FormatError(`init: the wasm module does not export the function '${missing}'; it is not a simdnet build`);
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new FormatError('init: the module does not export its memory; it is not a simdnet build');
  return exports as unknown as Kernels;
}

function importsMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
}

function newMemory(initial: number, maximum: number, shared: boolean): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial, maximum, shared } as WebAssembly.MemoryDescriptor);
  } catch (e) {
    throw new MemoryError(`init: cannot create a ${shared ? 'shared ' : ''}wasm memory of up to ${maximum} pages (${(e as Error).message})`, { cause: e });
  }
}

/** Why init({ threads }) cannot have them here, or null when it can try. */
function whyNoThreads(source: WasmSource, features: Features, bytes: Uint8Array | null): string | null {
  if (!source.startWorker) return `${source.describe} has no worker threads (workerd runs one thread per request)`;
  if (!features.threads) {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return isolated === false
      ? 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp), so it has no shared memory'
      : 'this runtime has no shared WebAssembly memory';
  }
  const noWorkers = source.noWorkers?.();
  if (noWorkers) return noWorkers;
  if (!bytes) return 'a precompiled module cannot be given a shared memory; pass the wasm bytes (init({ wasm })) for threads';
  return null;
}

/** The largest shared memory this runtime will reserve: 4 GiB, else the most it allows (mobile browsers reserve less). */
const SHARED_MEMORY_PAGES = [65536, 32768, 16384, 4096];

/**
 * Compiles the shared-memory variant of `bytes` (and only it: the plain build is not compiled
 * when the pool starts), instantiates it here over a new shared memory and starts the workers.
 * Throws (a FormatError for a build without a memory import to share) when any step fails.
 */
async function startThreads(startWorker: StartWorker, threads: number, bytes: Uint8Array, maxBytes: number | undefined): Promise<Threading> {
  const sharedBytes = withSharedMemory(bytes);
  const module = await compile(sharedBytes);
  const wanted = Math.ceil((maxBytes ?? WASM32_MAX_BYTES) / 65536);
  const initialPages = findMemoryImport(sharedBytes)!.initialPages;
  let memory: WebAssembly.Memory | null = null, pages = 0, lastError: unknown = null;
  for (const limit of SHARED_MEMORY_PAGES) {
    pages = Math.min(wanted, limit);
    try { memory = newMemory(initialPages, pages, true); break; } catch (e) { lastError = e; }
  }
  if (!memory) throw lastError as Error;
  const kernels = await instantiateKernels(module, memory);
  const pool = await WorkerPool.start(startWorker, threads - 1, module, memory, KERNEL_FUNCTIONS);
  return { pool, kernels, maxBytes: Math.min(maxBytes ?? WASM32_MAX_BYTES, pages * 65536) };
}

async function wasmBytes(source: WasmSource, wasm: InitOptions['wasm'], tier: 'simd' | 'relaxed'): Promise<ArrayBuffer | Uint8Array> {
  if (wasm instanceof ArrayBuffer) return wasm;
  if (ArrayBuffer.isView(wasm)) return new Uint8Array(wasm.buffer, wasm.byteOffset, wasm.byteLength);
  if (wasm !== undefined && typeof wasm !== 'string' && !(wasm instanceof URL)) {
    throw new ConfigError(`init: wasm must be a path, a URL, an ArrayBuffer or a Uint8Array, got ${describe(wasm)}`);
  }
  if (wasm === undefined) {
    if (!source.bytes) {
      throw new ConfigError(`init: ${source.describe} has no wasm bytes; pass init({ module }) (a precompiled ` +
        'WebAssembly.Module) or init({ wasm: bytes })');
    }
    try {
      return await source.bytes(tier);
    } catch (e) {
      throw new ConfigError(`init: cannot load ${WASM_FILES[tier]} from ${source.describe} (${(e as Error).message}); ` +
        'pass its bytes with init({ wasm: bytes }) or a precompiled module with init({ module })', { cause: e });
    }
  }
  let url: URL;
  try {
    url = wasm instanceof URL ? wasm : toUrl(wasm, source);
  } catch (e) {
    throw new ConfigError(`init: cannot make a URL of wasm ${describe(wasm)} (${(e as Error).message}); ` +
      'pass the bytes, or a precompiled module with init({ module })', { cause: e });
  }
  if (url.protocol === 'file:' && source.readPath) {
    try {
      return await source.readPath(url);
    } catch (e) {
      throw new ConfigError(`init: cannot read the wasm file ${url.pathname} (${(e as Error).message}); ` +
        'check the path, or pass the bytes with init({ wasm: bytes })', { cause: e });
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ConfigError(`init: cannot fetch ${url} (${(e as Error).message}); pass the bytes with init({ wasm: bytes })`, { cause: e });
  }
  if (!response.ok) {
    throw new ConfigError(`init: fetching ${url} gave HTTP ${response.status}; serve the .wasm file there, ` +
      'or pass its bytes or URL with init({ wasm })');
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A path or URL string as a URL: paths are files relative to the working directory where files are read. */
function toUrl(pathOrUrl: string, source: WasmSource): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) return new URL(pathOrUrl);
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  if (source.readPath && proc?.cwd) {
    const cwd = proc.cwd();
    return new URL(pathOrUrl, `file://${cwd.endsWith('/') ? cwd : cwd + '/'}`);
  }
  // no file system: relative to the page
  const base = (globalThis as { location?: { href: string } }).location?.href;
  if (!base) throw new ConfigError(`init: wasm '${pathOrUrl}' is a relative path and there is no file system or page to resolve it against`);
  return new URL(pathOrUrl, base);
}
