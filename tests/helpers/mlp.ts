// Shared test fixtures: the course MLP, bitwise weight snapshots, small random data.
import {
  Sequential, Linear, ReLU, LogSoftmax, NLLLoss, SGD, manualSeed, Generator, Tensor,
} from '../../bindings/index.js';

export function courseMlp(seed = 0): Sequential {
  manualSeed(seed);
  return new Sequential([
    new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(),
    new Linear(32, 32), new ReLU(), new Linear(32, 10), new LogSoftmax(1),
  ]);
}

export function compiledMlp(seed = 0, lr = 0.01): Sequential {
  const model = courseMlp(seed);
  model.compile({ loss: new NLLLoss(), optimizer: new SGD(model, { lr }) });
  return model;
}

/** The exact bits of every parameter, for bit-identity assertions. */
export function weightBits(model: Sequential): Map<string, Uint32Array> {
  const out = new Map<string, Uint32Array>();
  for (const [name, t] of Object.entries(model.stateDict())) out.set(name, new Uint32Array(t.data.buffer.slice(0)));
  return out;
}

export function sameBits(a: Map<string, Uint32Array>, b: Map<string, Uint32Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length) return false;
    for (let i = 0; i < v.length; i++) if (v[i] !== w[i]) return false;
  }
  return true;
}

export function randomData(n: number, features: number, classes: number, seed = 1): { x: Float32Array; y: Int32Array } {
  const g = new Generator(seed);
  const x = g.uniform(new Float32Array(n * features), 0, 1);
  const y = new Int32Array(n).map(() => g.randint(classes));
  return { x, y };
}

export function randn(g: Generator, n: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (g.random() * 2 - 1) * scale;
  return out;
}

export { Tensor };
