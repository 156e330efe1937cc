// Models and checkpoints as safetensors files that PyTorch reads unchanged.
//
// Tensors: the model's state_dict under PyTorch's names and layouts ("0.weight" [out, in], Conv2d
// OIHW, BatchNorm's running_mean, running_var and num_batches_tracked, the last as I64), then,
// in a checkpoint, the optimizer's state as "optimizer.state.<i>.<name>" (i: the parameter's index
// in model.parameters(), as torch.optim numbers them; name: torch.optim's, e.g. exp_avg).
// __metadata__ (strings):
//   format                 "pt" (what safetensors' PyTorch writer puts)
//   simdnet.architecture   the architecture JSON (io/architecture.ts)
//   simdnet.optimizer      { type, options, step }
//   simdnet.scheduler      { type, options, state }
//   simdnet.training       { epoch, generators: { default, shuffle?, dropout: { <layer>: state } } }
// PyTorch: model.load_state_dict(safetensors.torch.load_file(path), strict=False) ignores the
// optimizer tensors, or filter them out by their prefix (the README has the snippet).

import { ConfigError, FormatError, InputError, ShapeError, StateError, describe } from '../errors.js';
import { Sequential } from '../model/sequential.js';
import type { Runtime } from '../runtime/load.js';
import { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { Adam, AdamW } from '../optim/adam.js';
import { RMSprop } from '../optim/rmsprop.js';
import { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau } from '../optim/schedulers.js';
import { Dropout } from '../layers/dropout.js';
import { Generator, defaultGenerator } from '../random.js';
import { checkOptions } from '../options.js';
import { architectureOf, buildLayers, checkArchitecture, expectedState } from './architecture.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsFile, type TensorToWrite } from './safetensors.js';

export interface SaveOptions {
  /** Also save the optimizer's state (and options, and step count): a checkpoint. */
  optimizer?: Optimizer;
  /** A scheduler stepping that optimizer, saved with it. */
  scheduler?: LRScheduler | ReduceLROnPlateau;
  /** Epochs completed; fit({ initialEpoch }) resumes from it. */
  epoch?: number;
  /** The generator fit shuffles with (fit's `generator` option), saved so that resuming shuffles alike. */
  generator?: Generator;
  /** Your own strings for the file's __metadata__ (e.g. the input preprocessing); names may not start with 'simdnet.'. */
  metadata?: Record<string, string>;
}

export interface LoadOptions {
  runtime?: Runtime;
}

export interface Checkpoint {
  model: Sequential;
  /** The file's __metadata__ (the simdnet.* entries included). */
  metadata: Record<string, string>;
  /** The optimizer, rebuilt with its options and state, or null if the file has none. */
  optimizer: Optimizer | null;
  scheduler: LRScheduler | ReduceLROnPlateau | null;
  /** Epochs completed when it was saved, or null. */
  epoch: number | null;
  /** The shuffling generator saved with it, or null (the default generator's state is restored either way). */
  generator: Generator | null;
}

const OPTIMIZER_PREFIX = 'optimizer.state.';

/** JSON in which non-finite numbers survive (ReduceLROnPlateau's best starts at Infinity). */
const stringify = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x));
function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text, (_, x) => (x && typeof x === 'object' && typeof x.$number === 'string' ? Number(x.$number) : x));
  } catch (e) {
    throw new FormatError(`${what} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The bytes of a safetensors file of the model (and, with options, of a resumable checkpoint). */
export function saveModel(model: Sequential, options: SaveOptions = {}): Uint8Array {
  checkOptions('save', options, ['optimizer', 'scheduler', 'epoch', 'generator', 'metadata']);
  options ??= {};
  const extra = options.metadata ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra) ||
      !Object.entries(extra).every(([k, v]) => typeof v === 'string' && !k.startsWith('simdnet.') && k !== 'format')) {
    throw new ConfigError("save: metadata must map names (not 'format' or 'simdnet.*') to strings");
  }
  const architecture = architectureOf(model.layers, model.inputShape);
  const tensors: [string, TensorToWrite][] = [];
  const integerBuffers = new Set(expectedState(architecture).filter((t) => t.integer).map((t) => t.name));
  for (const [name, t] of Object.entries(model.stateDict())) {
    tensors.push([name, { dtype: integerBuffers.has(name) ? 'I64' : 'F32', shape: t.shape, data: t.data }]);
  }
  const metadata: Record<string, string> = { ...extra, format: 'pt', 'simdnet.architecture': JSON.stringify(architecture) };
  const { optimizer, scheduler, epoch, generator } = options;
  if (optimizer !== undefined) {
    if (!(optimizer instanceof Optimizer)) throw new ConfigError(`save: optimizer must be an Optimizer, got ${describe(optimizer)}`);
    if (optimizer.params !== model.parameters()) throw new ConfigError("save: the optimizer was made for another model's parameters");
    const state = optimizer.exportState();
    const params = model.parameters().params;
    state.params.forEach((record, i) => {
      for (const [name, values] of Object.entries(record)) {
        tensors.push([`${OPTIMIZER_PREFIX}${i}.${name}`, { dtype: 'F32', shape: params[i].shape, data: values }]);
      }
    });
    const { type, ...opts } = optimizer.config();
    metadata['simdnet.optimizer'] = stringify({ type, options: opts, step: state.step });
  }
  if (scheduler !== undefined) {
    if (!(scheduler instanceof LRScheduler || scheduler instanceof ReduceLROnPlateau)) throw new ConfigError(`save: scheduler must be a scheduler, got ${describe(scheduler)}`);
    if (scheduler.optimizer !== optimizer) throw new ConfigError('save: a scheduler is saved with the optimizer it steps (pass both)');
    const { type, ...opts } = scheduler.config();
    metadata['simdnet.scheduler'] = stringify({ type, options: opts, state: scheduler.exportState() });
  }
  if (epoch !== undefined && !(Number.isSafeInteger(epoch) && epoch >= 0)) throw new ConfigError(`save: epoch must be an integer >= 0, got ${describe(epoch)}`);
  if (generator !== undefined && !(generator instanceof Generator)) throw new ConfigError(`save: generator must be a Generator, got ${describe(generator)}`);
  if (optimizer !== undefined || epoch !== undefined || generator !== undefined) {
    const dropout: Record<string, number[]> = {};
    model.layers.forEach((l, i) => {
      if (l instanceof Dropout && l.maskGenerator !== defaultGenerator) dropout[i] = l.maskGenerator.getState();
    });
    metadata['simdnet.training'] = JSON.stringify({
      epoch: epoch ?? null,
      generators: { default: defaultGenerator.getState(), shuffle: generator?.getState() ?? null, dropout },
    });
  }
  return encodeSafetensors(tensors, metadata);
}

/** A model rebuilt from a file saved by save() (FormatError when the file holds no architecture). */
export function loadModel(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Sequential {
  checkOptions('load', options, ['runtime']);
  const file = decodeSafetensors(bytes, 'load');
  return modelOf(file, options?.runtime);
}

/** A model, its optimizer (and scheduler) with their state, and the training position, from a checkpoint. */
export function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): Checkpoint {
  checkOptions('loadCheckpoint', options, ['runtime']);
  const file = decodeSafetensors(bytes, 'loadCheckpoint');
  // everything is read and checked before the model exists or any generator moves
  const training = file.metadata['simdnet.training'] !== undefined ? checkTraining(parse(file.metadata['simdnet.training'], 'simdnet.training')) : null;
  const optimizerMeta = file.metadata['simdnet.optimizer'] !== undefined ? parse(file.metadata['simdnet.optimizer'], 'simdnet.optimizer') : null;
  const schedulerMeta = file.metadata['simdnet.scheduler'] !== undefined ? parse(file.metadata['simdnet.scheduler'], 'simdnet.scheduler') : null;
  const model = modelOf(file, options?.runtime);
  try {
    let optimizer: Optimizer | null = null, scheduler: LRScheduler | ReduceLROnPlateau | null = null;
    if (optimizerMeta) optimizer = optimizerOf(model, optimizerMeta, file);
    if (schedulerMeta) {
      if (!optimizer) throw new FormatError('loadCheckpoint: the file has a scheduler but no optimizer');
      scheduler = schedulerOf(optimizer, schedulerMeta);
    }
    let generator: Generator | null = null;
    if (training) {
      if (training.shuffle) generator = new Generator().setState(training.shuffle);
      for (const [index, state] of Object.entries(training.dropout)) {
        const layer = model.layers[Number(index)];
        if (!(layer instanceof Dropout)) throw new FormatError(`loadCheckpoint: layer ${index} is not a Dropout, but the file has its generator`);
        layer.maskGenerator.setState(state);
      }
      defaultGenerator.setState(training.default);   // last: nothing can fail after it
    }
    return { model, metadata: { ...file.metadata }, optimizer, scheduler, epoch: training?.epoch ?? null, generator };
  } catch (e) {
    model.dispose();
    throw e instanceof FormatError ? e : new FormatError(`loadCheckpoint: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Loads the weights of a safetensors file into an existing model by PyTorch's names (a file
 * written from a PyTorch state_dict, or by save()): all or nothing, a ShapeError naming each
 * missing, unexpected or mis-shaped tensor (optimizer tensors of a checkpoint are skipped).
 */
export function loadWeights(model: Sequential, bytes: Uint8Array | ArrayBuffer, options: { strict?: boolean } = {}): void {
  checkOptions('loadWeights', options, ['strict']);
  const strict = options?.strict ?? true;
  if (typeof strict !== 'boolean') throw new ConfigError(`loadWeights: strict must be true or false, got ${describe(strict)}`);
  const file = decodeSafetensors(bytes, 'loadWeights');
  const expected = model.stateDict();
  const dict: Record<string, { data: Float32Array; shape: number[] }> = {};
  const missing: string[] = [], unexpected: string[] = [], misshaped: string[] = [];
  for (const name of Object.keys(expected)) {
    const t = file.tensors.get(name);
    const want = expected[name].shape;
    if (t && (t.shape.length !== want.length || t.shape.some((d, k) => d !== want[k]))) {
      misshaped.push(`'${name}' is [${t.shape.join(', ')}], the model needs [${want.join(', ')}]`);
    }
    if (t) dict[name] = { data: t.data, shape: t.shape };
    else if (strict) missing.push(name);
    else dict[name] = { data: expected[name].data, shape: [...expected[name].shape] };
  }
  for (const name of file.tensors.keys()) if (!(name in expected) && !name.startsWith(OPTIMIZER_PREFIX)) unexpected.push(name);
  const problems = [
    ...(missing.length ? [`missing ${missing.map((n) => `'${n}'`).join(', ')}`] : []),
    ...(strict && unexpected.length ? [`unexpected ${unexpected.map((n) => `'${n}'`).join(', ')}`] : []),
    ...(misshaped.length ? [`mis-shaped ${misshaped.join('; ')}`] : []),
  ];
  if (problems.length) {
    throw new ShapeError(`loadWeights: ${problems.join('; ')} (the file's names and shapes must be the model's state_dict's, e.g. 0.weight [out, in])`);
  }
  try {
    model.loadStateDict(dict);
  } catch (e) {
    if (e instanceof ShapeError || e instanceof InputError) {
      throw new (e.constructor as typeof ShapeError)(`loadWeights: ${e.message.replace(/^loadStateDict: /, '')}`, { cause: e });
    }
    throw e;
  }
}

function modelOf(file: SafetensorsFile, runtime: Runtime | undefined): Sequential {
  const text = file.metadata['simdnet.architecture'];
  if (text === undefined) {
    throw new FormatError('load: the file holds no simdnet architecture (a state_dict saved by PyTorch?): build the model ' +
      'with the same layers and call model.loadWeights(bytes)');
  }
  const arch = checkArchitecture(parse(text, 'simdnet.architecture'), 'simdnet.architecture');
  // the tensors the architecture implies must be in the file, with these shapes, before any layer is built
  const expected = expectedState(arch);
  for (const t of expected) {
    const have = file.tensors.get(t.name);
    if (!have) throw new FormatError(`load: the architecture needs tensor '${t.name}', which the file does not hold`);
    if (have.shape.length !== t.shape.length || have.shape.some((d, k) => d !== t.shape[k])) {
      throw new FormatError(`load: tensor '${t.name}' has shape [${have.shape.join(', ')}], the architecture needs [${t.shape.join(', ')}]`);
    }
  }
  const names = new Set(expected.map((t) => t.name));
  for (const name of file.tensors.keys()) {
    if (!names.has(name) && !name.startsWith(OPTIMIZER_PREFIX)) throw new FormatError(`load: tensor '${name}' is not part of the architecture`);
  }
  const layers = buildLayers(arch);
  let model: Sequential;
  try {
    model = new Sequential(layers, { ...(arch.inputShape ? { inputShape: arch.inputShape } : {}), ...(runtime ? { runtime } : {}) });
  } catch (e) {
    if (e instanceof ShapeError || e instanceof ConfigError) throw new FormatError(`load: the architecture does not fit together (${e.message})`, { cause: e });
    throw e;
  }
  const dict: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const t of expected) dict[t.name] = { data: file.tensors.get(t.name)!.data, shape: t.shape };
  try {
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    throw new FormatError(`load: ${(e as Error).message}`, { cause: e });
  }
  return model;
}

interface Training { epoch: number | null; default: number[]; shuffle: number[] | null; dropout: Record<string, number[]> }

function checkTraining(json: unknown): Training {
  const t = json as { epoch?: unknown; generators?: { default?: unknown; shuffle?: unknown; dropout?: unknown } } | null;
  const isState = (s: unknown): s is number[] => Array.isArray(s) && s.length === 4 && s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) && s.some((w) => w !== 0);
  if (t === null || typeof t !== 'object' || typeof t.generators !== 'object' || t.generators === null) throw new FormatError('simdnet.training: not an object with generators');
  const g = t.generators;
  if (t.epoch !== null && !(Number.isSafeInteger(t.epoch) && (t.epoch as number) >= 0)) throw new FormatError(`simdnet.training: epoch is ${describe(t.epoch)}`);
  if (!isState(g.default)) throw new FormatError('simdnet.training: the default generator state is invalid');
  if (g.shuffle !== null && g.shuffle !== undefined && !isState(g.shuffle)) throw new FormatError('simdnet.training: the shuffle generator state is invalid');
  const dropout = g.dropout ?? {};
  if (typeof dropout !== 'object' || dropout === null || !Object.entries(dropout).every(([k, s]) => /^\d+$/.test(k) && isState(s))) {
    throw new FormatError('simdnet.training: the dropout generator states are invalid');
  }
  return { epoch: (t.epoch as number | null) ?? null, default: g.default, shuffle: (g.shuffle as number[] | null) ?? null, dropout: dropout as Record<string, number[]> };
}

const OPTIMIZERS: Record<string, (model: Sequential, options: Record<string, unknown>) => Optimizer> = {
  SGD: (m, o) => new SGD(m, o as never), Adam: (m, o) => new Adam(m, o), AdamW: (m, o) => new AdamW(m, o), RMSprop: (m, o) => new RMSprop(m, o),
};

function optimizerOf(model: Sequential, meta: unknown, file: SafetensorsFile): Optimizer {
  const m = meta as { type?: unknown; options?: unknown; step?: unknown } | null;
  if (!m || typeof m.type !== 'string' || !(m.type in OPTIMIZERS) || typeof m.options !== 'object' || m.options === null) {
    throw new FormatError(`simdnet.optimizer: unknown optimizer ${describe(m?.type)}`);
  }
  let optimizer: Optimizer;
  try {
    // a schedule may have annealed the rate to 0, which constructors refuse and the lr setter takes
    const options = m.options as Record<string, unknown>;
    optimizer = OPTIMIZERS[m.type](model, { ...options, lr: options.lr === 0 ? 1 : options.lr });
    if (options.lr === 0) optimizer.lr = 0;
  } catch (e) {
    throw new FormatError(`simdnet.optimizer: ${(e as Error).message}`, { cause: e });
  }
  const params = model.parameters().params.map((_, i) => {
    const record: Record<string, Float32Array> = {};
    for (const [name, t] of file.tensors) {
      const prefix = `${OPTIMIZER_PREFIX}${i}.`;
      if (name.startsWith(prefix)) record[name.slice(prefix.length)] = t.data;
    }
    return record;
  });
  try {
    optimizer.importState({ step: m.step as number, params });
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw new FormatError(`simdnet.optimizer: ${(e as Error).message}`, { cause: e });
  }
  return optimizer;
}

const SCHEDULERS: Record<string, (o: Optimizer, options: Record<string, unknown>) => LRScheduler | ReduceLROnPlateau> = {
  StepLR: (o, x) => new StepLR(o, x as never), ExponentialLR: (o, x) => new ExponentialLR(o, x as never),
  CosineAnnealingLR: (o, x) => new CosineAnnealingLR(o, x as never), ReduceLROnPlateau: (o, x) => new ReduceLROnPlateau(o, x as never),
};

function schedulerOf(optimizer: Optimizer, meta: unknown): LRScheduler | ReduceLROnPlateau {
  const m = meta as { type?: unknown; options?: unknown; state?: unknown } | null;
  if (!m || typeof m.type !== 'string' || !(m.type in SCHEDULERS) || typeof m.options !== 'object' || m.options === null ||
      typeof m.state !== 'object' || m.state === null) {
    throw new FormatError(`simdnet.scheduler: unknown scheduler ${describe(m?.type)}`);
  }
  try {
    const scheduler = SCHEDULERS[m.type](optimizer, m.options as Record<string, unknown>);
    scheduler.importState(m.state as Record<string, unknown>);
    return scheduler;
  } catch (e) {
    throw new FormatError(`simdnet.scheduler: ${(e as Error).message}`, { cause: e });
  }
}
