// A Sequential's architecture as JSON (saved in a safetensors file's metadata): the per-sample
// input shape and each layer's constructor arguments (Layer.config()). Reading it takes untrusted
// JSON: every field is checked, and the parameter shapes it implies are computed without building
// anything, so that a loader can compare them with the tensors the file really holds before it
// allocates a single weight.

import { ConfigError, FormatError, SimdnetError, describe } from '../errors.js';
import { Layer, type LayerConfig } from '../layers/layer.js';
import { Linear } from '../layers/linear.js';
import { Conv2d } from '../layers/conv.js';
import { MaxPool2d, AvgPool2d } from '../layers/pool.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { Dropout } from '../layers/dropout.js';
import { ReLU, Sigmoid, Tanh, LeakyReLU, GELU, Softmax, LogSoftmax, Flatten } from '../layers/activations.js';
import { Generator } from '../random.js';
import type { Shape } from '../tensor.js';

export const ARCHITECTURE_FORMAT = 'simdnet.sequential';

export interface Architecture {
  format: typeof ARCHITECTURE_FORMAT;
  version: 1;
  inputShape: number[] | null;
  layers: LayerConfig[];
}

/** One tensor of a state dict the architecture implies: its name, shape, and whether it is an integer buffer. */
export interface ExpectedTensor { name: string; shape: number[]; integer: boolean }

const MAX_LAYERS = 4096;
const MAX_SIZE = 1 << 24;   // any one size (features, channels, kernel) past this is not a model
const MAX_VALUES = 1 << 30; // a wasm32 memory holds 2^30 floats

/** The architecture of a model whose layers all have a config; a ConfigError naming the first that has none. */
export function architectureOf(layers: readonly Layer[], inputShape: Shape | null): Architecture {
  return {
    format: ARCHITECTURE_FORMAT, version: 1, inputShape: inputShape ? [...inputShape] : null,
    layers: layers.map((l, i) => {
      const c = l.config();
      if (!c) throw new ConfigError(`layer ${i} (${l}) has no config: a model with custom layers cannot be saved whole; save its weights (stateDict) instead`);
      return c;
    }),
  };
}

type Fields = Record<string, unknown>;
const int = (c: Fields, k: string, min: number, dflt?: number): number => {
  const v = c[k] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_SIZE) throw new FormatError(`architecture: ${String(c.type)}.${k} is ${describe(v)}`);
  return v;
};
const pairOf = (c: Fields, k: string, min: number, dflt: number): [number, number] => {
  const v = c[k] ?? dflt;
  const p = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= MAX_SIZE)) {
    throw new FormatError(`architecture: ${String(c.type)}.${k} is ${describe(v)}`);
  }
  return [p[0], p[1]];
};
const flag = (c: Fields, k: string, dflt: boolean): boolean => {
  const v = c[k] ?? dflt;
  if (typeof v !== 'boolean') throw new FormatError(`architecture: ${String(c.type)}.${k} is ${describe(v)}`);
  return v;
};
const num = (c: Fields, k: string, dflt: number | null, nullable = false): number | null => {
  const v = k in c ? c[k] : dflt;
  if (nullable && v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(`architecture: ${String(c.type)}.${k} is ${describe(v)}`);
  return v;
};

/** The fields each layer type takes: unknown fields are refused (a typo would otherwise change the model). */
const FIELDS: Record<string, readonly string[]> = {
  Linear: ['inFeatures', 'outFeatures', 'bias'],
  Conv2d: ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'bias'],
  MaxPool2d: ['kernelSize', 'stride', 'padding'],
  AvgPool2d: ['kernelSize', 'stride', 'padding', 'countIncludePad'],
  BatchNorm1d: ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats'],
  BatchNorm2d: ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats'],
  Dropout: ['p'], ReLU: [], Sigmoid: [], Tanh: [], Flatten: [], LeakyReLU: ['negativeSlope'], GELU: ['approximate'],
  Softmax: ['dim'], LogSoftmax: ['dim'],
};

/** Checks untrusted architecture JSON (FormatError naming the problem). */
export function checkArchitecture(json: unknown, what = 'architecture'): Architecture {
  const a = json as Partial<Architecture> | null;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new FormatError(`${what}: not an object`);
  if (a.format !== ARCHITECTURE_FORMAT) throw new FormatError(`${what}: format is ${describe(a.format)}, expected '${ARCHITECTURE_FORMAT}'`);
  if (a.version !== 1) throw new FormatError(`${what}: version ${describe(a.version)} is not known (this simdnet reads version 1)`);
  const shape = a.inputShape;
  if (shape !== null && !(Array.isArray(shape) && shape.length >= 1 && shape.length <= 4 &&
      shape.every((d) => Number.isInteger(d) && d >= 1 && d <= MAX_SIZE))) {
    throw new FormatError(`${what}: inputShape is ${describe(shape)}`);
  }
  if (!Array.isArray(a.layers) || a.layers.length > MAX_LAYERS) throw new FormatError(`${what}: layers is ${describe(a.layers)}`);
  a.layers.forEach((c, i) => {
    if (c === null || typeof c !== 'object' || Array.isArray(c) || typeof c.type !== 'string' || !(c.type in FIELDS)) {
      throw new FormatError(`${what}: layer ${i} has type ${describe((c as Fields | null)?.type)} (known: ${Object.keys(FIELDS).join(', ')})`);
    }
    const extra = Object.keys(c).find((k) => k !== 'type' && !FIELDS[c.type].includes(k));
    if (extra) throw new FormatError(`${what}: layer ${i} (${c.type}) has an unknown field '${extra}'`);
  });
  return { format: ARCHITECTURE_FORMAT, version: 1, inputShape: shape ? [...shape] : null, layers: a.layers.map((c) => ({ ...c })) };
}

/**
 * The state dict an architecture implies (PyTorch's names and order: a layer's parameters, then
 * its persistent buffers), computed from the configs alone. A FormatError for configs whose
 * values are out of range, or whose weights could never fit in wasm32's memory.
 */
export function expectedState(arch: Architecture): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  let total = 0;
  const add = (name: string, shape: number[], integer = false) => {
    total += shape.reduce((x, y) => x * y, 1);
    if (total > MAX_VALUES) throw new FormatError('architecture: its parameters would not fit in a wasm32 memory');
    out.push({ name, shape, integer });
  };
  arch.layers.forEach((c, i) => {
    switch (c.type) {
      case 'Linear': {
        const inF = int(c, 'inFeatures', 1), outF = int(c, 'outFeatures', 1);
        add(`${i}.weight`, [outF, inF]);
        if (flag(c, 'bias', true)) add(`${i}.bias`, [outF]);
        break;
      }
      case 'Conv2d': {
        const inC = int(c, 'inChannels', 1), outC = int(c, 'outChannels', 1);
        const [kh, kw] = pairOf(c, 'kernelSize', 1, 1);
        pairOf(c, 'stride', 1, 1); pairOf(c, 'padding', 0, 0); pairOf(c, 'dilation', 1, 1);
        add(`${i}.weight`, [outC, inC, kh, kw]);
        if (flag(c, 'bias', true)) add(`${i}.bias`, [outC]);
        break;
      }
      case 'BatchNorm1d': case 'BatchNorm2d': {
        const n = int(c, 'numFeatures', 1);
        num(c, 'eps', 1e-5); num(c, 'momentum', 0.1, true);
        if (flag(c, 'affine', true)) { add(`${i}.weight`, [n]); add(`${i}.bias`, [n]); }
        if (flag(c, 'trackRunningStats', true)) { add(`${i}.running_mean`, [n]); add(`${i}.running_var`, [n]); add(`${i}.num_batches_tracked`, [], true); }
        break;
      }
      case 'MaxPool2d': case 'AvgPool2d':
        pairOf(c, 'kernelSize', 1, 1); pairOf(c, 'stride', 1, 1); pairOf(c, 'padding', 0, 0);
        if (c.type === 'AvgPool2d') flag(c, 'countIncludePad', true);
        break;
      default:
    }
  });
  return out;
}

/**
 * The layers of a checked architecture. Their initial weights come from a generator of their own,
 * so that loading a model does not move the default generator; a config the layer refuses is a
 * FormatError (with the layer's error as cause).
 */
export function buildLayers(arch: Architecture): Layer[] {
  const generator = new Generator(0);
  return arch.layers.map((c, i) => {
    try {
      return layerFromConfig(c, generator);
    } catch (e) {
      if (e instanceof FormatError || !(e instanceof SimdnetError)) throw e;
      throw new FormatError(`architecture: layer ${i} (${c.type}): ${e.message}`, { cause: e });
    }
  });
}

/** The layer of one config, its initial weights from `generator`; a bad field is a FormatError. */
export function layerFromConfig(c: LayerConfig, generator: Generator): Layer {
  const f = c as Fields;
  switch (c.type) {
    case 'Linear': return new Linear(int(f, 'inFeatures', 1), int(f, 'outFeatures', 1), { bias: flag(f, 'bias', true), generator });
    case 'Conv2d': return new Conv2d(int(f, 'inChannels', 1), int(f, 'outChannels', 1), pairOf(f, 'kernelSize', 1, 1), {
      stride: pairOf(f, 'stride', 1, 1), padding: pairOf(f, 'padding', 0, 0), dilation: pairOf(f, 'dilation', 1, 1), bias: flag(f, 'bias', true), generator });
    case 'MaxPool2d': return new MaxPool2d(pairOf(f, 'kernelSize', 1, 1), { stride: pairOf(f, 'stride', 1, 1), padding: pairOf(f, 'padding', 0, 0) });
    case 'AvgPool2d': return new AvgPool2d(pairOf(f, 'kernelSize', 1, 1), {
      stride: pairOf(f, 'stride', 1, 1), padding: pairOf(f, 'padding', 0, 0), countIncludePad: flag(f, 'countIncludePad', true) });
    case 'BatchNorm1d': case 'BatchNorm2d': {
      const options = { eps: num(f, 'eps', 1e-5)!, momentum: num(f, 'momentum', 0.1, true), affine: flag(f, 'affine', true), trackRunningStats: flag(f, 'trackRunningStats', true) };
      return c.type === 'BatchNorm1d' ? new BatchNorm1d(int(f, 'numFeatures', 1), options) : new BatchNorm2d(int(f, 'numFeatures', 1), options);
    }
    case 'Dropout': return new Dropout(num(f, 'p', 0.5)!);
    case 'ReLU': return new ReLU();
    case 'Sigmoid': return new Sigmoid();
    case 'Tanh': return new Tanh();
    case 'Flatten': return new Flatten();
    case 'LeakyReLU': return new LeakyReLU(num(f, 'negativeSlope', 0.01)!);
    case 'GELU': return new GELU({ approximate: (f.approximate ?? 'none') as 'none' | 'tanh' });
    case 'Softmax': return new Softmax(num(f, 'dim', -1)!);
    case 'LogSoftmax': return new LogSoftmax(num(f, 'dim', -1)!);
    default: throw new FormatError(`architecture: unknown layer type ${describe(c.type)}`);
  }
}
