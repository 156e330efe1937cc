// Finding and instantiating the wasm, once per runtime, and choosing the build tier.
//   Node:    reads build/simdnet*.wasm next to the package with node:fs.
//   Browser: fetches new URL('../../build/simdnet*.wasm', import.meta.url) (bundlers follow this).
//   Edge:    the caller passes a precompiled WebAssembly.Module (workerd refuses to compile bytes).

import { StateError, ConfigError } from '../errors.js';
import { Heap } from '../memory/heap.js';
import { detectFeatures, type Features } from './features.js';
import type { Kernels } from './kernels.js';

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

  constructor(readonly kernels: Kernels, readonly tier: 'simd' | 'relaxed', readonly features: Features,
    maxMemoryBytes?: number) {
    this.heap = new Heap(kernels.memory, kernels.heap_base(), maxMemoryBytes);
    this.gemmScratch = this.heap.alloc(kernels.gemm_f32_scratch_bytes(), 'GEMM packing scratch');
  }
}

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
  const features = detectFeatures();
  if (!features.simd) throw new StateError('this runtime has no WebAssembly SIMD; simdnet needs it');
  const requested = options.tier ?? 'simd';
  if (!['simd', 'relaxed', 'auto'].includes(requested)) {
    throw new ConfigError(`tier must be 'simd', 'relaxed' or 'auto', got '${requested}'`);
  }
  const tier = requested === 'auto' ? (features.relaxedSimd ? 'relaxed' : 'simd') : requested;
  if (tier === 'relaxed' && !features.relaxedSimd && !options.module) {
    throw new ConfigError("tier 'relaxed' was requested but this runtime does not support relaxed SIMD " +
      '(Node 20 needs --experimental-wasm-relaxed-simd)');
  }
  const module = options.module ?? await WebAssembly.compile(await wasmBytes(options.wasm, tier) as BufferSource);
  const instance = await WebAssembly.instantiate(module, {}); // the kernels import nothing
  return new Runtime(instance.exports as unknown as Kernels, tier, features, options.maxMemoryBytes);
}

async function wasmBytes(source: InitOptions['wasm'], tier: 'simd' | 'relaxed'): Promise<ArrayBuffer | Uint8Array> {
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return source;
  const url = source instanceof URL ? source
    : typeof source === 'string' ? toUrl(source)
    : new URL(`../../build/${WASM_FILES[tier]}`, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new StateError(`could not fetch ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

function toUrl(pathOrUrl: string): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) return new URL(pathOrUrl);
  // a plain path: relative to the working directory in Node
  const cwd = typeof process !== 'undefined' ? process.cwd() : '/';
  return new URL(pathOrUrl, `file://${cwd.endsWith('/') ? cwd : cwd + '/'}`);
}
