// Finding and instantiating the wasm, once per runtime, and choosing the build tier.
//   Node:    reads build/simdnet*.wasm next to the package with node:fs.
//   Browser: fetches new URL('../../build/simdnet*.wasm', import.meta.url) (bundlers follow this).
//   Edge:    the caller passes a precompiled WebAssembly.Module (workerd refuses to compile bytes).

import { StateError, ConfigError, FormatError, MemoryError, describe } from '../errors.js';
import { Heap, WASM32_MAX_BYTES } from '../memory/heap.js';
import { checkOptions } from '../options.js';
import { detectFeatures, type Features } from './features.js';
import { KERNEL_FUNCTIONS, type Kernels } from './kernels.js';

/**
 * 'simd' (default): the plain SIMD build, bit-exact on every runtime and CPU.
 * 'relaxed': the relaxed-SIMD build (fused multiply-add, faster; last bits may differ by CPU).
 * 'auto': relaxed where the runtime supports it, else simd.
 */
export type Tier = 'simd' | 'relaxed' | 'auto';

export interface InitOptions {
  /** A precompiled module (edge runtimes); `tier` then only labels it. */
  module?: WebAssembly.Module;
  /** Where to get the wasm bytes instead of the default location: a path, URL, or the bytes. */
  wasm?: string | URL | ArrayBuffer | Uint8Array;
  tier?: Tier;
  /** Upper bound for the wasm memory in bytes; plans that need more throw MemoryError. */
  maxMemoryBytes?: number;
}

export class Runtime {
  readonly heap: Heap;
  /** Packing scratch for every GEMM call; the runtime is single-threaded, so one suffices. */
  readonly gemmScratch: number;
  readonly kernels: Kernels;
  readonly tier: 'simd' | 'relaxed';
  readonly features: Features;

  constructor(kernels: Kernels, tier: 'simd' | 'relaxed', features: Features, maxMemoryBytes?: number) {
    this.kernels = kernels;
    this.tier = tier;
    this.features = Object.freeze({ ...features });
    const base = kernels.heap_base() >>> 0, scratch = kernels.gemm_f32_scratch_bytes();
    if (!(base <= kernels.memory.buffer.byteLength) || !(scratch > 0 && scratch < 2 ** 28)) {
      throw new FormatError(`the module's heap base ${base} or GEMM scratch size ${scratch} is not a simdnet build's`);
    }
    this.heap = new Heap(kernels.memory, base, maxMemoryBytes);
    this.gemmScratch = this.heap.alloc(scratch, 'GEMM packing scratch');
    Object.freeze(this);
  }
}

const INIT_OPTIONS = ['module', 'wasm', 'tier', 'maxMemoryBytes'] as const;

const WASM_FILES = { simd: 'simdnet.wasm', relaxed: 'simdnet-relaxed.wasm' } as const;

let defaultRuntime: Runtime | null = null;

/** Loads the kernels and makes them the default runtime for models built afterwards. */
export async function init(options: InitOptions = {}): Promise<Runtime> {
  const runtime = await createRuntime(options);
  defaultRuntime = runtime;
  return runtime;
}

/** The runtime `init` made; throws a StateError before that. */
export function getRuntime(): Runtime {
  if (!defaultRuntime) throw new StateError('simdnet is not initialised: call `await init()` first');
  return defaultRuntime;
}

export async function createRuntime(options: InitOptions = {}): Promise<Runtime> {
  checkOptions('init', options, INIT_OPTIONS);
  options ??= {};
  const features = detectFeatures();
  if (!features.simd) throw new StateError('this runtime has no WebAssembly SIMD; simdnet needs it');
  const requested = options.tier ?? 'simd';
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
  let module = options.module;
  if (!module) {
    const bytes = await wasmBytes(options.wasm, tier);
    try {
      module = await WebAssembly.compile(bytes as BufferSource);
    } catch (e) {
      throw new FormatError(`init: the wasm bytes do not compile (${(e as Error).message}); ` +
        'pass the simdnet.wasm (or simdnet-relaxed.wasm) file of this package', { cause: e });
    }
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, {}); // the kernels import nothing
  } catch (e) {
    throw new FormatError(`init: the wasm module cannot be instantiated (${(e as Error).message}); it is not a simdnet build`, { cause: e });
  }
  const exports = instance.exports as Record<string, unknown>;
  const missing = KERNEL_FUNCTIONS.find((name) => typeof exports[name] !== 'function');
  if (missing) throw new FormatError(`init: the wasm module does not export the function '${missing}'; it is not a simdnet build`);
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new FormatError('init: the module does not export its memory; it is not a simdnet build');
  try {
    return new Runtime(exports as unknown as Kernels, tier, features, max);
  } catch (e) {
    if (e instanceof MemoryError || e instanceof FormatError) throw e;
    throw new FormatError(`init: the wasm module failed while starting (${(e as Error).message}); it is not a working simdnet build`, { cause: e });
  }
}

async function wasmBytes(source: InitOptions['wasm'], tier: 'simd' | 'relaxed'): Promise<ArrayBuffer | Uint8Array> {
  if (source instanceof ArrayBuffer) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source !== undefined && typeof source !== 'string' && !(source instanceof URL)) {
    throw new ConfigError(`init: wasm must be a path, a URL, an ArrayBuffer or a Uint8Array, got ${describe(source)}`);
  }
  let url: URL;
  try {
    url = source instanceof URL ? source
      : typeof source === 'string' ? toUrl(source)
      : new URL(`../../build/${WASM_FILES[tier]}`, import.meta.url);
  } catch (e) {
    throw new ConfigError(`init: cannot make a URL of wasm ${describe(source)} (${(e as Error).message}); ` +
      'pass the bytes, or a precompiled module with init({ module })', { cause: e });
  }
  if (url.protocol === 'file:') {
    try {
      const { readFile } = await import('node:fs/promises');
      return await readFile(url);
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
  return response.arrayBuffer();
}

function toUrl(pathOrUrl: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) return new URL(pathOrUrl);
  // a plain path: relative to the working directory in Node
  const cwd = typeof process !== 'undefined' ? process.cwd() : '/';
  return new URL(pathOrUrl, `file://${cwd.endsWith('/') ? cwd : cwd + '/'}`);
}
