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
  let module = options.module ?? (options.wasm === undefined ? source.module?.(tier) : undefined);
  if (!module) {
    const bytes = await wasmBytes(source, options.wasm, tier);
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
