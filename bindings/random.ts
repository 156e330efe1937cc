// One seeded generator drives initialisation, shuffling and (later) dropout, so the same seed gives
// the same weights after training. xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/),
// seeded through splitmix32; all arithmetic is 32-bit integer, hence identical on every runtime.

import { ConfigError, describe } from './errors.js';

export class Generator {
  private s = new Uint32Array(4);

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Reseeds with any safe integer (its low 32 bits, as unsigned, seed the state). */
  manualSeed(seed: number): this {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new ConfigError(`seed must be an integer, got ${describe(seed)}`);
    }
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    return this;
  }

  /** The four 32-bit words of the state (saved by checkpoints, so a resumed run draws what the whole run would). */
  getState(): number[] {
    return Array.from(this.s);
  }

  /** Restores a state from getState(). */
  setState(state: readonly number[]): this {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) ||
        state.every((w) => w === 0)) {
      throw new ConfigError(`Generator.setState: expected four unsigned 32-bit words, not all zero, got ${describe(state)}`);
    }
    this.s.set(state);
    return this;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  randint(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 0x100000000)) throw new ConfigError(`randint: the bound must be an integer in [1, 2^32], got ${describe(n)}`);
    const limit = 0x100000000 - (0x100000000 % n);
    let x: number;
    do x = this.nextUint32(); while (x >= limit);
    return x % n;
  }

  /** Fills `out` with uniform samples from [low, high), rounded to float32. */
  uniform(out: Float32Array, low: number, high: number): Float32Array {
    if (!(out instanceof Float32Array)) throw new ConfigError(`uniform: out must be a Float32Array, got ${describe(out)}`);
    if (!Number.isFinite(low) || !Number.isFinite(high)) throw new ConfigError(`uniform: bounds must be finite, got [${low}, ${high})`);
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.random();
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates), written into `out` if given. */
  permutation(n: number, out?: Int32Array): Int32Array {
    if (!(Number.isInteger(n) && n >= 0 && n <= 0x7fffffff)) throw new ConfigError(`permutation: n must be an integer >= 0, got ${describe(n)}`);
    if (out === undefined) out = new Int32Array(n);
    else if (!(out instanceof Int32Array) || out.length < n) throw new ConfigError(`permutation: out must be an Int32Array of at least ${n} values`);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = out[i]; out[i] = out[j]; out[j] = t;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide generator, like PyTorch's default generator. */
export const defaultGenerator = new Generator(0);

/** `generator` itself when it is a Generator, else a ConfigError naming `owner`. */
export function checkGenerator(owner: string, generator: unknown): Generator {
  if (!(generator instanceof Generator)) throw new ConfigError(`${owner}: generator must be a Generator, got ${describe(generator)}`);
  return generator;
}

/** Seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
