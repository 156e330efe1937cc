// Property-based tests (fast-check model-based testing): random sequences of API calls on up to
// three small models that share one runtime (a fresh one per run, with a memory limit so that
// MemoryError can happen), with random bad arguments, checking after every call that
//   - whatever was thrown is a SimdnetError, of a class that fits the problem given (and that a
//     call without a problem succeeds);
//   - a call that threw changed no bit of any model: parameters, BatchNorm running statistics
//     (both in stateDict), gradients, optimizer state (optimizer.state(), stepCount), held
//     `layer.weight.data` views, shapes and mode;
//   - a call on one model changed no bit of any other model, whether it threw or not; calls that
//     only read (predict, evaluate, stateDict, eval-mode forward, fit with 0 epochs) changed no bit
//     anywhere, and the ones that write touch only what they may (step: parameters and optimizer
//     state, forward: running statistics, backward: gradients, add: keeps every existing value);
//   - the default runtime's heap (where Loss.forward computes) is back to its size after every call,
//     and the test runtime's heap is back to its starting size whenever no model is alive;
//   - after dispose every call and every held handle throws a StateError;
//   - a second fit / forward / backward / add / compile while a fit is running is a StateError,
//     and predict / evaluate in between change nothing;
//   - predict / evaluate / other models' work between a forward and its backward do not disturb
//     the activations the backward uses (same gradient bits).
// One documented exception: a fit that stops after some steps succeeded (a NumericError at a later
// batch, or a dispose while it runs) keeps the weights of the last good step; a fit refused before
// its first step changed nothing (its gradients excepted when the optimizer refused the step:
// they then hold the rejected gradient).
//
// Seeded and bounded: fixed fast-check seeds and numRuns (and a time limit as a safety net).
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  init, createRuntime, manualSeed, Runtime, Sequential, Layer, Linear, ReLU, Dropout, LogSoftmax, Flatten,
  Conv2d, BatchNorm1d, BatchNorm2d, MaxPool2d, Loss, NLLLoss, CrossEntropyLoss, Optimizer, SGD, Adam, AdamW, RMSprop,
  Tensor, SimdnetError, ShapeError, InputError, ConfigError, StateError, NumericError, MemoryError,
} from '../bindings/index.js';
import { weightBits } from './helpers/mlp.js';

const SEED = 20_240_611;
const SLOTS = 3;
/** The test runtime's memory limit: tiny models fit easily, the "huge" batches below do not. */
const MAX_MEMORY = 4 * 1024 * 1024;
/** Floats of input in a "huge" call: its arena needs several MiB more than the limit allows. */
const HUGE_FLOATS = 640_000;
/** Runs stop early (and say so) past this, so that a slow CI machine cannot hang on the suite. */
const TIME_LIMIT_MS = 12_000;

let defaultRt: Runtime;
beforeAll(async () => { defaultRt = await init(); });

// ---- small helpers -----------------------------------------------------------------------------

class PropertyViolation extends Error {
  constructor(message: string) { super(message); this.name = 'PropertyViolation'; }
}
function fail(message: string): never { throw new PropertyViolation(message); }

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function u32(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}
function f32bits(v: number): number { return new Uint32Array(Float32Array.of(v).buffer)[0]; }
function bitsToF32(b: number): number { return new Float32Array(Uint32Array.of(b).buffer)[0]; }
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function errName(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `non-Error ${String(e)}`;
}

// ---- expectations ------------------------------------------------------------------------------

type ErrClass = typeof SimdnetError;
/** ok: the call may succeed; errors: the classes it may throw (must throw one when !ok). */
interface Expect { ok: boolean; errors: ErrClass[] }
function expectFrom(problems: ErrClass[], maybe: ErrClass[] = []): Expect {
  return { ok: problems.length === 0, errors: [...new Set([...problems, ...maybe])] };
}
const DISPOSED: Expect = { ok: false, errors: [StateError] };
const OK: Expect = { ok: true, errors: [] };

function checkOutcome(label: string, expect: Expect, error: unknown): void {
  const names = expect.errors.map((c) => c.name).join(' | ');
  if (error !== null) {
    if (!(error instanceof SimdnetError)) fail(`${label}: threw something that is not a SimdnetError: ${errName(error)}`);
    if (!expect.errors.some((c) => error instanceof c)) {
      fail(`${label}: threw ${errName(error)}; expected ${expect.ok ? 'success' : ''}${expect.ok && names ? ' or ' : ''}${names}`);
    }
  } else if (!expect.ok) {
    fail(`${label}: succeeded, expected it to throw ${names}`);
  }
}

/** What a successful call may change on its own model (a failed one: nothing, unless excused). */
interface Effect {
  /** true: any value; a RegExp: the stateDict keys it matches; 'grow': new keys, old ones bit-identical. */
  state?: boolean | RegExp | 'grow';
  grads?: boolean;
  opt?: boolean;
  /** Layer count, input / output shape, train/eval mode. */
  meta?: boolean;
}
const NOTHING: Effect = {};
const META: Effect = { meta: true };
const PARAM_KEYS = /\.(weight|bias)$/;
const RUNNING_KEYS = /\.(running_mean|running_var|num_batches_tracked)$/;

// ---- the system under test ---------------------------------------------------------------------

type Kind = 'mlp' | 'cnn';
type OptKind = 'sgd' | 'adam' | 'adamw' | 'rmsprop';
type StatefulOptimizer = Optimizer & { state(): Record<string, Float32Array> };

interface BuildSpec {
  kind: Kind; head: 'ce' | 'nll'; dropout: boolean; givenShape: boolean; incremental: boolean;
  opt: OptKind; variant: number; compile: boolean; reduction: 'mean' | 'sum';
}

interface Entry {
  id: number;
  spec: BuildSpec;
  model: Sequential;
  loss: Loss;
  /** Every optimizer made over this model, and whether it should still be able to step. */
  opts: StatefulOptimizer[];
  optLive: Map<Optimizer, boolean>;
  /** The optimizer the explicit loop steps (the latest made). */
  optimizer: StatefulOptimizer;
  /** What compile was given: an optimizer, 'internal' (compile's own 'sgd'), or null (not compiled). */
  fitOpt: Optimizer | 'internal' | null;
  internalLive: boolean;
  disposed: boolean;
  width: number;
  inShape: number[];
  /** Whether the model knows its input shape (MLP: always; CNN: inputShape given, or adopted). */
  shapesKnown: boolean;
  /** A mismatched layer was accepted while the shapes were unknown: every input is a ShapeError. */
  broken: boolean;
  hasBN1d: boolean;
  /** Samples of the last forward() a backward() may use: 0 none, null not known. */
  held: number | null;
  lastOut: Tensor | null;
  lossGradShape: readonly number[] | null;
  /** Whether a gradient holds NaN (null: maybe). */
  poisoned: boolean | null;
  /** Whether huge (3e38) weights were loaded: losses and gradients may overflow. */
  huge: boolean;
  firstLayer: Linear | Conv2d;
  heldWeight: Float32Array;
  heldGrad: Float32Array;
}

interface Model { slots: ('empty' | 'live' | 'disposed')[] }

const stats = new Map<string, number>();
/**
 * Whether a failed call must also leave the target's layer count, input / output shape and
 * train/eval mode as they were (its own property, so that a failure there masks nothing else).
 */
let strictMeta = false;
/** A model whose fit runs unawaited while another call awaits (it trains meanwhile). */
let runningFit: Entry | null = null;
function count(key: string): void { stats.set(key, (stats.get(key) ?? 0) + 1); }

class Real {
  readonly entries: (Entry | null)[] = new Array(SLOTS).fill(null);
  readonly base: number;
  readonly baseBlocks: number;
  nextId = 1;
  constructor(readonly rt: Runtime) {
    this.base = rt.heap.allocatedBytes;
    this.baseBlocks = rt.heap.blockCount;
  }
  live(): Entry[] { return this.entries.filter((e): e is Entry => e !== null && !e.disposed); }
  others(e: Entry): Entry[] { return this.live().filter((o) => o !== e); }
  disposed(): Entry[] { return this.entries.filter((e): e is Entry => e !== null && e.disposed); }
  disposeAll(): void {
    for (const e of this.live()) { e.model.dispose(); markDisposed(e); }
  }
}

function markDisposed(e: Entry): void {
  e.disposed = true;
  for (const o of e.opts) e.optLive.set(o, false);
  e.internalLive = false;
}
function detachAll(e: Entry): void {
  for (const o of e.opts) e.optLive.set(o, false);
  e.internalLive = false;
}
function isCompiled(e: Entry): boolean { return e.fitOpt !== null; }
function fitOptLive(e: Entry): boolean {
  if (e.fitOpt === null) return false;
  if (e.fitOpt === 'internal') return e.internalLive;
  return e.optLive.get(e.fitOpt) === true;
}

// ---- snapshots ---------------------------------------------------------------------------------

interface Snap { meta: string; bits: Map<string, Uint32Array> }

function snap(e: Entry): Snap {
  const bits = new Map<string, Uint32Array>();
  for (const [k, v] of weightBits(e.model)) bits.set(`w:${k}`, v);
  e.model.layers.forEach((l, i) => { for (const p of l.params) bits.set(`g:${i}.${p.name}`, u32(p.grad!.slice())); });
  e.opts.forEach((o, k) => {
    const live = e.optLive.get(o)!;
    if (o.disposed === live) fail(`optimizer ${k} of model #${e.id}: disposed is ${o.disposed}, expected ${!live}`);
    bits.set(`o:${k}#steps`, Uint32Array.of(o.stepCount));
    if (live) {
      for (const [name, v] of Object.entries(o.state())) bits.set(`o:${k}.${name}`, u32(v));
    } else {
      let threw: unknown = null;
      try { o.state(); } catch (err) { threw = err; }
      if (!(threw instanceof StateError)) fail(`state() of a retired optimizer of model #${e.id} did not throw a StateError: ${errName(threw)}`);
    }
  });
  // the held live view (taken at build) agrees with stateDict, whatever grew or moved since
  const w0 = bits.get('w:0.weight')![0];
  const held = e.heldWeight[0];
  if (f32bits(held) !== w0) fail(`model #${e.id}: held layer.weight.data[0] reads ${held}, stateDict has ${bitsToF32(w0)}`);
  for (const [k, v] of bits) {
    if (!k.startsWith('w:')) continue;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(bitsToF32(v[i]))) fail(`model #${e.id}: ${k.slice(2)}[${i}] is ${bitsToF32(v[i])}: a weight became non-finite`);
    }
  }
  const m = e.model;
  const meta = JSON.stringify({ layers: m.layers.length, in: m.inputShape, out: m.outputShape, training: m.training });
  return { meta, bits };
}

function snapAll(r: Real): Map<Entry, Snap> {
  return new Map(r.live().map((e) => [e, snap(e)]));
}

function compare(a: Snap, b: Snap, allow: Effect): string | null {
  if (!allow.meta && a.meta !== b.meta) return `shape/mode ${a.meta} -> ${b.meta}`;
  const keys = new Set([...a.bits.keys(), ...b.bits.keys()]);
  for (const key of keys) {
    const kind = key[0];
    const name = key.slice(2);
    const x = a.bits.get(key), y = b.bits.get(key);
    if (kind === 'w') {
      if (allow.state === true || (allow.state instanceof RegExp && allow.state.test(name))) continue;
      if (allow.state === 'grow' && !x) continue;
    } else if (kind === 'g' ? allow.grads : allow.opt) {
      continue;
    }
    if (!x || !y) return `${name} ${x ? 'vanished' : 'appeared'}`;
    if (x.length !== y.length) return `${name} changed length ${x.length} -> ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        const what = kind === 'w' ? 'stateDict' : kind === 'g' ? 'gradient' : 'optimizer';
        return `${what} ${name}[${i}] ${bitsToF32(x[i])} -> ${bitsToF32(y[i])}`;
      }
    }
  }
  return null;
}

function compareAll(label: string, before: Map<Entry, Snap>, after: Map<Entry, Snap>, allowFor: (e: Entry) => Effect | 'gone'): void {
  for (const [e, s0] of before) {
    const allow = allowFor(e);
    const s1 = after.get(e);
    if (allow === 'gone') continue;
    if (!s1) fail(`${label}: model #${e.id} is no longer alive`);
    const d = compare(s0, s1, allow);
    if (d) fail(`${label}: model #${e.id} changed: ${d}`);
  }
}

// ---- one checked call --------------------------------------------------------------------------

interface Act {
  kind: string;
  label: string;
  target: Entry | null;
  expect: Expect;
  /** What the call may change on the target when it succeeds. */
  effect: Effect;
  /** What a failed call may still have changed on the target (default: nothing). */
  excuse?: (error: unknown) => Effect;
  /** A failed call must leave the heap's allocated bytes as they were (not for calls that plan arenas). */
  heapStrict?: boolean;
}

async function act<T>(r: Real, a: Act, fn: () => T | Promise<T>): Promise<{ value: T | undefined; error: unknown }> {
  const before = snapAll(r);
  const bytes = r.rt.heap.allocatedBytes;
  const defaultBytes = defaultRt.heap.allocatedBytes;
  let value: T | undefined, error: unknown = null;
  try { value = await fn(); } catch (err) { error = err; }
  count(`${a.kind}:${error === null ? 'ok' : error instanceof Error ? error.name : 'non-Error'}`);
  checkOutcome(a.label, a.expect, error);
  const after = snapAll(r);
  compareAll(`${a.label}${error === null ? ' (succeeded)' : ` (threw ${(error as Error).name})`}`, before, after, (e) => {
    if (e === runningFit) return { state: true, grads: true, opt: true, meta: true };
    if (e !== a.target) return NOTHING;
    if (error !== null) {
      const excused = a.excuse?.(error) ?? NOTHING;
      return strictMeta ? excused : { ...excused, meta: true };
    }
    return e.disposed ? 'gone' : a.effect;
  });
  // (a failed call may have adopted an input shape: see strictMeta)
  if (a.target && !a.target.disposed && a.target.model.inputShape !== null) a.target.shapesKnown = true;
  checkHeaps(r, a.label, defaultBytes);
  if (error !== null && a.heapStrict !== false && r.rt.heap.allocatedBytes !== bytes) {
    fail(`${a.label}: threw ${(error as Error).name} but the heap's allocated bytes went ${bytes} -> ${r.rt.heap.allocatedBytes}`);
  }
  return { value, error };
}

function checkHeaps(r: Real, label: string, defaultBytes: number): void {
  if (defaultRt.heap.allocatedBytes !== defaultBytes) {
    fail(`${label}: the default runtime's heap went ${defaultBytes} -> ${defaultRt.heap.allocatedBytes} bytes`);
  }
  if (r.live().length === 0 && (r.rt.heap.allocatedBytes !== r.base || r.rt.heap.blockCount !== r.baseBlocks)) {
    fail(`${label}: no model is alive, but the heap holds ${r.rt.heap.allocatedBytes} bytes in ${r.rt.heap.blockCount} blocks ` +
      `(${r.base} in ${r.baseBlocks} after createRuntime)`);
  }
}

/** Calls fn and requires a StateError (used after dispose and while fit is running). */
async function expectStateError(label: string, fn: () => unknown): Promise<void> {
  let error: unknown = null;
  try { await fn(); } catch (err) { error = err; }
  count(`refused:${error === null ? 'ok' : error instanceof Error ? error.name : 'non-Error'}`);
  if (!(error instanceof StateError)) fail(`${label}: expected a StateError, got ${error === null ? 'success' : errName(error)}`);
}

// ---- data --------------------------------------------------------------------------------------

const X_BADS = ['nan', 'inf', 'xLength', 'xShape', 'empty', 'notArray', 'huge'] as const;
const Y_BADS = ['labelRange', 'labelNonInt', 'labelCount'] as const;
type Bad = 'none' | typeof X_BADS[number] | typeof Y_BADS[number];
interface DataSpec { n: number; seed: number; asTensor: boolean; bad: Bad }

const dataArb = (labels: boolean) => fc.record({
  n: fc.integer({ min: 1, max: 9 }),
  seed: fc.noShrink(fc.nat()),
  asTensor: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  bad: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Bad>('none') },
    { weight: 3, arbitrary: fc.constantFrom<Bad>(...X_BADS, ...(labels ? Y_BADS : [])) },
  ),
});

function describeData(d: DataSpec): string {
  return `n=${d.n}${d.asTensor ? '' : ' flat'}${d.bad !== 'none' ? ` bad=${d.bad}` : ''}`;
}

interface Data { x: unknown; y: unknown; n: number; problems: ErrClass[] }

function makeData(e: Entry, spec: DataSpec, labels: boolean): Data {
  const g = rng(spec.seed);
  const d = sizeOf(e.inShape);
  const bad = !labels && (Y_BADS as readonly string[]).includes(spec.bad) ? 'none' : spec.bad;
  const n = bad === 'huge' ? Math.ceil(HUGE_FLOATS / d) : bad === 'empty' ? 0 : spec.n;
  const problems: ErrClass[] = [];
  const data = new Float32Array(n * d);
  if (bad !== 'huge') for (let i = 0; i < data.length; i++) data[i] = g() * 2 - 1;
  let x: unknown;
  if (bad === 'xLength') {
    x = new Float32Array(n * d + 1);
    problems.push(ShapeError);
  } else if (bad === 'xShape') {
    x = new Tensor(new Float32Array(n * (d + 1)), [n, d + 1]);
    problems.push(ShapeError);
  } else if (bad === 'notArray') {
    x = Array.from(data);
    problems.push(InputError);
  } else {
    if (bad === 'nan' || bad === 'inf') {
      data[Math.floor(g() * data.length)] = bad === 'nan' ? NaN : g() < 0.5 ? Infinity : -Infinity;
      problems.push(InputError);
    }
    x = spec.asTensor ? new Tensor(data, [n, ...e.inShape]) : data;
    if (!spec.asTensor && !e.shapesKnown) problems.push(ShapeError);
    if (bad === 'empty') problems.push(InputError);
    if (bad === 'huge') problems.push(MemoryError);
  }
  if (e.broken) problems.push(ShapeError);
  let y: unknown = Int32Array.from({ length: n }, () => Math.floor(g() * e.width));
  if (labels) {
    const k = Math.floor(g() * n);
    if (bad === 'labelRange') { (y as Int32Array)[k] = g() < 0.5 ? e.width : -1; problems.push(InputError); }
    if (bad === 'labelNonInt') { y = Float64Array.from(y as Int32Array); (y as Float64Array)[k] = 0.5; problems.push(InputError); }
    if (bad === 'labelCount') { y = new Int32Array(n + 1); problems.push(ShapeError); }
  }
  return { x, y, n, problems };
}

function validData(e: Entry, n: number, seed: number): Data {
  return makeData(e, { n, seed, asTensor: true, bad: 'none' }, true);
}

// ---- building ----------------------------------------------------------------------------------

function makeOptimizer(model: Sequential, kind: OptKind, variant: number): StatefulOptimizer {
  switch (kind) {
    case 'sgd': return new SGD(model, { lr: 0.05, momentum: 0.9, nesterov: variant % 2 === 0 });
    case 'adam': return new Adam(model, { lr: 0.01, amsgrad: variant % 2 === 0 });
    case 'adamw': return new AdamW(model, { lr: 0.01 });
    case 'rmsprop': return new RMSprop(model, { lr: 0.01, momentum: variant % 2 ? 0.5 : 0, centered: variant % 3 === 0 });
  }
}

function makeLoss(spec: BuildSpec): Loss {
  return spec.head === 'nll' ? new NLLLoss({ reduction: spec.reduction })
    : new CrossEntropyLoss({ reduction: spec.reduction, labelSmoothing: spec.variant % 2 ? 0.1 : 0 });
}

async function build(r: Real, m: Model, slot: number, spec: BuildSpec): Promise<void> {
  const label = `build #${r.nextId} in slot ${slot}`;
  let e!: Entry;
  const { error } = await act(r, { kind: 'build', label, target: null, expect: OK, effect: NOTHING }, () => {
    const layers: Layer[] = spec.kind === 'mlp'
      ? [new Linear(6, 5), new ReLU(), ...(spec.dropout ? [new Dropout(0.25)] : []), new Linear(5, 3)]
      : [new Conv2d(1, 2, 3, { padding: 1 }), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2), new Flatten(),
        ...(spec.dropout ? [new Dropout(0.25)] : []), new Linear(8, 3)];
    if (spec.head === 'nll') layers.push(new LogSoftmax(1));
    const options = { runtime: r.rt, ...(spec.kind === 'cnn' && spec.givenShape ? { inputShape: [1, 4, 4] } : {}) };
    let model: Sequential;
    if (spec.incremental) {
      model = new Sequential([], options);
      for (const l of layers) model.add(l);
    } else {
      model = new Sequential(layers, options);
    }
    const first = layers[0] as Linear | Conv2d;
    e = {
      id: r.nextId++, spec, model, loss: makeLoss(spec), opts: [], optLive: new Map(), optimizer: null as never,
      fitOpt: null, internalLive: false, disposed: false, width: 3,
      inShape: spec.kind === 'mlp' ? [6] : [1, 4, 4], shapesKnown: spec.kind === 'mlp' || spec.givenShape,
      broken: false, hasBN1d: false, held: 0, lastOut: null, lossGradShape: null, poisoned: false, huge: false,
      firstLayer: first, heldWeight: first.weight.data, heldGrad: first.weight.grad!,
    };
    r.entries[slot] = e;
    m.slots[slot] = 'live';
  });
  if (error) return;
  await act(r, { kind: 'optimizer', label: `${label}: new ${spec.opt}`, target: e, expect: OK, effect: { opt: true } }, () => {
    const o = makeOptimizer(e.model, spec.opt, spec.variant);
    e.opts.push(o); e.optLive.set(o, true); e.optimizer = o;
  });
  if (spec.compile) {
    await act(r, { kind: 'compile', label: `${label}: compile`, target: e, expect: OK, effect: META }, () => {
      e.model.compile({ loss: e.loss, optimizer: e.optimizer });
      e.fitOpt = e.optimizer;
    });
  }
}

const BAD_BUILDS = ['notArray', 'mismatch', 'badInputShape', 'badRuntime', 'unknownOption', 'usedLayer', 'tooBig', 'notLayer'] as const;

async function badBuild(r: Real, variant: typeof BAD_BUILDS[number]): Promise<void> {
  const used = r.live()[0]?.firstLayer;
  const cases: Record<typeof BAD_BUILDS[number], [ErrClass, () => unknown]> = {
    notArray: [ConfigError, () => new Sequential(new Linear(6, 5) as never, { runtime: r.rt })],
    mismatch: [ShapeError, () => new Sequential([new Linear(6, 5), new ReLU(), new Linear(4, 3)], { runtime: r.rt })],
    badInputShape: [ShapeError, () => new Sequential([new Conv2d(1, 2, 3)], { runtime: r.rt, inputShape: [1, 0, 4] })],
    badRuntime: [ConfigError, () => new Sequential([new Linear(6, 5)], { runtime: {} as never })],
    unknownOption: [ConfigError, () => new Sequential([new Linear(6, 5)], { runtime: r.rt, inputshape: [6] } as never)],
    usedLayer: used ? [ConfigError, () => new Sequential([new ReLU(), used], { runtime: r.rt })]
      : [ShapeError, () => new Sequential([new Linear(6, 5), new Linear(6, 5)], { runtime: r.rt })],
    tooBig: [MemoryError, () => new Sequential([new Linear(6, 1200), new ReLU(), new Linear(1200, 1000)], { runtime: r.rt })],
    notLayer: [ConfigError, () => new Sequential([new Linear(6, 5), { forward() {} } as never], { runtime: r.rt })],
  };
  const [cls, fn] = cases[variant];
  await act(r, { kind: 'badBuild', label: `new Sequential (${variant})`, target: null, expect: { ok: false, errors: [cls] }, effect: NOTHING }, fn);
}

// ---- the actions -------------------------------------------------------------------------------

const ADD_KINDS = ['relu', 'dropout', 'linear', 'bn1d', 'logsoftmax', 'mismatchLinear', 'mismatchConv', 'notLayer', 'duplicate', 'foreign', 'fromDisposed'] as const;

async function addLayer(r: Real, e: Entry, kind: typeof ADD_KINDS[number]): Promise<void> {
  const label = `#${e.id}.add(${kind})`;
  const w = e.width;
  let layer: unknown, expect: Expect = OK, mark = (): void => {};
  switch (kind) {
    case 'relu': layer = new ReLU(); break;
    case 'dropout': layer = new Dropout(0.25); break;
    case 'linear': layer = new Linear(w, w); break;
    case 'bn1d': layer = new BatchNorm1d(w); mark = () => { e.hasBN1d = true; }; break;
    case 'logsoftmax': layer = new LogSoftmax(1); break;
    case 'mismatchLinear': case 'mismatchConv':
      layer = kind === 'mismatchLinear' ? new Linear(w + 1, 2) : new Conv2d(1, 1, 3);
      if (e.shapesKnown) expect = { ok: false, errors: [ShapeError] };
      else mark = () => { e.broken = true; };
      break;
    case 'notLayer': layer = { toString: () => 'not a layer' }; expect = { ok: false, errors: [ConfigError] }; break;
    case 'duplicate': layer = e.model.layers[0]; expect = { ok: false, errors: [ConfigError] }; break;
    case 'foreign': {
      const other = r.others(e)[0];
      layer = other ? other.firstLayer : new ReLU();
      if (other) expect = { ok: false, errors: [ConfigError] };
      break;
    }
    case 'fromDisposed': {
      const gone = r.disposed().find((d) => d !== e);
      layer = gone ? gone.firstLayer : new ReLU();
      if (gone) expect = { ok: false, errors: [StateError] };
      break;
    }
  }
  if (e.disposed) expect = DISPOSED;
  await act(r, {
    kind: 'add', label, target: e, expect, heapStrict: true,
    // existing values stay bit-identical; gradients restart at zero; optimizers are retired
    effect: { state: 'grow', grads: true, opt: true, meta: true },
  }, () => {
    e.model.add(layer as Layer);
    mark();
    detachAll(e);
    e.held = 0;
    e.poisoned = false;
  });
}

const COMPILE_KINDS = ['sgd', 'adam', 'adamw', 'rmsprop', 'stringSgd', 'stringLoss', 'badLoss', 'badMetric', 'foreignOpt', 'heldOpt', 'nullOptions', 'badHyper'] as const;

async function compile(r: Real, e: Entry, kind: typeof COMPILE_KINDS[number], variant: number): Promise<void> {
  const label = `#${e.id}.compile(${kind})`;
  const base = { kind: 'compile', target: e, heapStrict: true } as const;
  if (kind === 'sgd' || kind === 'adam' || kind === 'adamw' || kind === 'rmsprop' || kind === 'badHyper') {
    let made: StatefulOptimizer | null = null;
    const bad = kind === 'badHyper';
    const badOptions = [() => new SGD(e.model, { lr: -1 }), () => new Adam(e.model, { betas: [0.9, 1] }),
      () => new RMSprop(e.model, { alpha: NaN }), () => new SGD(e.model, { lr: 0.1, nesterov: true }),
      () => new AdamW(e.model, { lr: 0.01, weightdecay: 0.1 } as never)];
    await act(r, {
      ...base, kind: 'optimizer', label: `${label}: new optimizer`, effect: { opt: true },
      expect: e.disposed ? DISPOSED : bad ? { ok: false, errors: [ConfigError] } : OK,
    }, () => {
      made = bad ? badOptions[variant % badOptions.length]() as StatefulOptimizer : makeOptimizer(e.model, kind as OptKind, variant);
      e.opts.push(made); e.optLive.set(made, true); e.optimizer = made;
    });
    if (!made) return;
    const o: StatefulOptimizer = made;
    await act(r, { ...base, label, expect: OK, effect: META }, () => {
      e.model.compile({ loss: e.loss, optimizer: o });
      e.fitOpt = o;
    });
    return;
  }
  let options: unknown, expect: Expect = OK, then = (): void => { e.fitOpt = e.optimizer; };
  switch (kind) {
    case 'stringSgd':
      options = { loss: e.loss, optimizer: 'sgd' };
      then = () => { e.fitOpt = 'internal'; e.internalLive = true; };
      break;
    case 'stringLoss':
      options = { loss: e.spec.head === 'nll' ? 'nll' : 'cross_entropy', optimizer: e.optimizer };
      expect = e.optLive.get(e.optimizer) ? OK : { ok: false, errors: [StateError] };
      break;
    case 'heldOpt':
      options = { loss: e.loss, optimizer: e.optimizer, metrics: ['accuracy'] };
      expect = e.optLive.get(e.optimizer) ? OK : { ok: false, errors: [StateError] };
      break;
    case 'badLoss': options = { loss: 'mse', optimizer: 'sgd' }; expect = { ok: false, errors: [ConfigError] }; break;
    case 'badMetric': options = { loss: e.loss, optimizer: 'sgd', metrics: ['f1'] }; expect = { ok: false, errors: [ConfigError] }; break;
    case 'nullOptions': options = null; expect = { ok: false, errors: [ConfigError] }; break;
    case 'foreignOpt': {
      const other = r.others(e)[0];
      options = { loss: e.loss, optimizer: other ? other.optimizer : 'sgd' };
      if (other) expect = { ok: false, errors: [ConfigError] };
      else then = () => { e.fitOpt = 'internal'; e.internalLive = true; };
      break;
    }
  }
  if (e.disposed) expect = DISPOSED;
  await act(r, { ...base, label, expect, effect: META }, () => {
    e.model.compile(options as never);
    then();
  });
}

type BatchKind = 'default' | 'small' | 'big' | 'zero' | 'frac' | 'neg';
type FitOptKind = 'none' | 'unknownOption' | 'nullOptions' | 'badEpochs' | 'badShuffle' | 'badSeed' | 'badCallbacks' | 'splitAndData';
interface FitSpec {
  data: DataSpec; epochs: number; batch: BatchKind; batchSize: number; split: 'none' | 0.25 | 0.5 | 'bad';
  valData: 'none' | 'valid' | 'nan'; opt: FitOptKind; shuffle: boolean;
}

function batchOf(kind: BatchKind, small: number): number | undefined {
  return { default: undefined, small, big: 1000, zero: 0, frac: 2.5, neg: -3 }[kind];
}

/** Everything that is wrong with a fit call, as the error classes it may throw. */
function fitExpect(e: Entry, spec: FitSpec, data: Data, batchSize: number | undefined): Expect {
  if (e.disposed) return DISPOSED;
  const p: ErrClass[] = [];
  const maybe: ErrClass[] = [];
  if (!isCompiled(e)) p.push(StateError);
  if (spec.opt !== 'none' || ['zero', 'frac', 'neg'].includes(spec.batch) || spec.split === 'bad' ||
    (spec.split !== 'none' && spec.valData !== 'none')) p.push(ConfigError);
  if (!fitOptLive(e)) p.push(StateError);
  p.push(...data.problems);
  if (spec.valData === 'nan') p.push(InputError);
  if (data.problems.length === 0) {
    let nTrain = data.n;
    if (typeof spec.split === 'number') {
      const nVal = Math.floor(data.n * spec.split);
      nTrain = data.n - nVal;
      if (nVal < 1 || nTrain < 1) p.push(InputError);
    }
    const bs = Math.min(batchSize ?? 32, nTrain);
    if (e.hasBN1d && bs >= 1) {
      const steps = Math.ceil(nTrain / bs);
      if (bs === 1 || nTrain - (steps - 1) * bs === 1) p.push(InputError);
    }
  }
  if (e.huge) maybe.push(NumericError);
  return expectFrom(p, maybe);
}

async function doFit(r: Real, e: Entry, spec: FitSpec): Promise<void> {
  const data = makeData(e, spec.data, true);
  const batchSize = spec.data.bad === 'huge' ? data.n : batchOf(spec.batch, spec.batchSize);
  const epochs = spec.data.bad === 'huge' ? 0 : spec.epochs;
  let batches = 0;
  const options: Record<string, unknown> = {
    epochs, shuffle: spec.shuffle, seed: spec.data.seed % 1000,
    callbacks: [{ onBatchEnd: () => { batches++; } }],
  };
  if (batchSize !== undefined) options.batchSize = batchSize;
  if (typeof spec.split === 'number') options.validationSplit = spec.split;
  if (spec.split === 'bad') options.validationSplit = 1.5;
  if (spec.valData !== 'none' || spec.opt === 'splitAndData') {
    const v = validData(e, 3, spec.data.seed + 1);
    if (spec.valData === 'nan') ((v.x as Tensor).data)[1] = NaN;
    options.validationData = [v.x, v.y];
    if (spec.opt === 'splitAndData') options.validationSplit = 0.25;
  }
  if (spec.opt === 'unknownOption') options.epoch = 2;
  if (spec.opt === 'badEpochs') options.epochs = spec.epochs % 2 ? -1 : 1.5;
  if (spec.opt === 'badShuffle') options.shuffle = 'yes';
  if (spec.opt === 'badSeed') options.seed = 0.5;
  if (spec.opt === 'badCallbacks') options.callbacks = [null];
  const expect = fitExpect(e, spec, data, batchSize);
  const label = `#${e.id}.fit(${describeData(spec.data)}, epochs=${epochs}, batch=${batchSize ?? 'default'}` +
    `${spec.split !== 'none' ? `, split=${spec.split}` : ''}${spec.valData !== 'none' ? `, validationData=${spec.valData}` : ''}` +
    `${spec.opt !== 'none' ? `, ${spec.opt}` : ''})`;
  const { error } = await act(r, {
    kind: 'fit', label, target: e, expect, heapStrict: false,
    effect: epochs === 0 ? META : { state: true, grads: true, opt: true, meta: true },
    excuse: (err) => {
      // a fit that stopped after good steps keeps them; a refused step leaves its gradient
      if (batches > 0) return { state: true, grads: true, opt: true, meta: true };
      // the one NumericError that comes after its step: an update that overflowed float32
      if (err instanceof NumericError && /update overflowed/.test(err.message)) return { state: true, grads: true, opt: true, meta: true };
      if (err instanceof NumericError && /\.step\(\)/.test(err.message)) return { grads: true };
      return NOTHING;
    },
  }, async () => {
    const history = await e.model.fit(data.x as Tensor, data.y as Int32Array, (spec.opt === 'nullOptions' ? null : options) as never);
    if (history.epoch.length !== epochs) fail(`${label}: history has ${history.epoch.length} epochs, expected ${epochs}`);
  });
  if (error === null) {
    e.held = 0; e.shapesKnown = true;
    if (epochs > 0) e.poisoned = false;
  } else if (!(error instanceof ConfigError) && !(error instanceof StateError && !e.disposed && !fitOptLive(e))) {
    e.held = null;
    if (batches > 0 || error instanceof NumericError) e.poisoned = null;
  }
}

type InferBatch = 'default' | 'small' | 'big' | 'zero' | 'frac' | 'unknownOption';
interface InferSpec { data: DataSpec; batch: InferBatch; batchSize: number }

function inferOptions(spec: InferSpec, n: number): [unknown, boolean] {
  if (spec.data.bad === 'huge') return [{ batchSize: n }, false];
  switch (spec.batch) {
    case 'default': return [undefined, false];
    case 'small': return [{ batchSize: spec.batchSize }, false];
    case 'big': return [{ batchSize: 100_000 }, false];
    case 'zero': return [{ batchSize: 0 }, true];
    case 'frac': return [{ batchSize: 2.5 }, true];
    case 'unknownOption': return [{ batch: 4 }, true];
  }
}

async function doPredict(r: Real, e: Entry, spec: InferSpec): Promise<void> {
  const data = makeData(e, spec.data, false);
  const [options, badOption] = inferOptions(spec, data.n);
  const expect = e.disposed ? DISPOSED : expectFrom([...data.problems, ...(badOption ? [ConfigError] : [])]);
  const label = `#${e.id}.predict(${describeData(spec.data)}, ${JSON.stringify(options)})`;
  const { value, error } = await act(r, { kind: 'predict', label, target: e, expect, effect: META, heapStrict: false },
    () => e.model.predict(data.x as Tensor, options as never));
  if (error === null) {
    e.shapesKnown = true;
    const out = value!;
    if (out.shape.length !== 2 || out.shape[0] !== data.n || out.shape[1] !== e.width) fail(`${label}: output shape [${out.shape}]`);
    // inference is deterministic: the same call again gives the same bits
    const again = e.model.predict(data.x as Tensor, options as never);
    const a = u32(out.data), b = u32(again.data);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(`${label}: a second identical predict differs at ${i}`);
  }
}

async function doEvaluate(r: Real, e: Entry, spec: InferSpec): Promise<void> {
  const data = makeData(e, spec.data, true);
  const [options, badOption] = inferOptions(spec, data.n);
  const expect = e.disposed ? DISPOSED
    : expectFrom([...data.problems, ...(badOption ? [ConfigError] : []), ...(isCompiled(e) ? [] : [StateError])],
      e.huge || e.poisoned === null ? [NumericError] : []);   // outputs or loss that overflow float32 are a NumericError
  const label = `#${e.id}.evaluate(${describeData(spec.data)}, ${JSON.stringify(options)})`;
  const { value, error } = await act(r, { kind: 'evaluate', label, target: e, expect, effect: META, heapStrict: false },
    () => e.model.evaluate(data.x as Tensor, data.y as Int32Array, options as never));
  if (error === null) {
    e.shapesKnown = true;
    const { loss, accuracy } = value!;
    if (!(accuracy >= 0 && accuracy <= 1)) fail(`${label}: accuracy ${accuracy}`);
    if (!e.huge && !Number.isFinite(loss)) fail(`${label}: loss ${loss} with finite weights and inputs`);
  }
}

async function doForward(r: Real, e: Entry, spec: DataSpec): Promise<boolean> {
  const data = makeData(e, spec, false);
  const training = e.model.training;
  const p = [...data.problems];
  if (p.length === 0 && e.hasBN1d && training && data.n === 1) p.push(InputError);
  const expect = e.disposed ? DISPOSED : expectFrom(p);
  const hasBN = e.model.layers.some((l) => l instanceof BatchNorm1d || l instanceof BatchNorm2d);
  const label = `#${e.id}.forward(${describeData(spec)}) in ${training ? 'train' : 'eval'} mode`;
  const { value, error } = await act(r, {
    kind: 'forward', label, target: e, expect, heapStrict: false,
    // only BatchNorm's running statistics move, and only in training mode
    effect: { state: training && hasBN ? RUNNING_KEYS : false, meta: true },
  }, () => e.model.forward(data.x as Tensor));
  if (error === null) {
    const out = value!;
    if (out.shape.length !== 2 || out.shape[0] !== data.n || out.shape[1] !== e.width) fail(`${label}: output shape [${out.shape}]`);
    e.held = data.n; e.lastOut = out; e.shapesKnown = true;
    return true;
  }
  if (!(error instanceof StateError) || !e.disposed) e.held = null;
  return false;
}

const BACKWARD_KINDS = ['random', 'random', 'lossGrad', 'wrongBatch', 'wrongWidth', 'nan', 'notTensor'] as const;

async function doBackward(r: Real, e: Entry, kind: typeof BACKWARD_KINDS[number], seed: number): Promise<void> {
  const g = rng(seed);
  const held = e.held;
  const rows = held ?? e.lastOut?.shape[0] ?? 1;
  const w = e.width;
  const p: ErrClass[] = [], maybe: ErrClass[] = [];
  const randomTensor = (shape: number[]) => new Tensor(Float32Array.from({ length: sizeOf(shape) }, () => g() * 2 - 1), shape);
  let grad: () => unknown;
  switch (kind) {
    case 'random': grad = () => randomTensor([rows, w]); break;
    case 'wrongBatch': grad = () => randomTensor([rows + 1, w]); p.push(ShapeError); break;
    case 'wrongWidth': grad = () => randomTensor([rows, w + 1]); p.push(ShapeError); break;
    case 'nan': grad = () => { const t = randomTensor([rows, w]); t.data[Math.floor(g() * t.size)] = NaN; return t; }; p.push(InputError); break;
    case 'notTensor': grad = () => new Float32Array(rows * w); p.push(InputError); break;
    case 'lossGrad':
      grad = () => e.loss.backward();
      if (e.lossGradShape === null) p.push(StateError);
      else if (e.lossGradShape[0] !== rows || e.lossGradShape[1] !== w) p.push(ShapeError);
      if (e.huge) maybe.push(InputError);
      break;
  }
  if (held === 0) p.push(StateError);
  if (held === null) maybe.push(StateError, ShapeError);
  if (e.broken || !e.shapesKnown) maybe.push(StateError);
  const expect = e.disposed ? DISPOSED : expectFrom(p, maybe);
  await act(r, { kind: 'backward', label: `#${e.id}.backward(${kind}) with ${held ?? '?'} held`, target: e, expect, effect: { grads: true }, heapStrict: true },
    () => {
      e.model.backward(grad() as Tensor);
      if (e.huge) e.poisoned = null;
    });
}

const LOSS_KINDS = ['none', 'none', 'none', 'none', 'labelRange', 'labelNonInt', 'labelCount', 'nullTarget', 'target2d', 'output1d', 'outputNotTensor', 'emptyOutput', 'disposedLoss', 'backwardFirst'] as const;

async function lossForward(r: Real, e: Entry, kind: typeof LOSS_KINDS[number], seed: number): Promise<void> {
  const g = rng(seed);
  const out = e.lastOut ?? new Tensor(new Float32Array(2 * e.width), [2, e.width]);
  const [rows, cols] = out.shape;
  let labels: unknown = Int32Array.from({ length: rows }, () => Math.floor(g() * cols));
  let output: unknown = out;
  let loss = e.loss;
  let error: ErrClass | null = null;
  switch (kind) {
    case 'labelRange': (labels as Int32Array)[0] = cols; error = InputError; break;
    case 'labelNonInt': labels = Float32Array.of(...(labels as Int32Array)); (labels as Float32Array)[rows - 1] = 1.5; error = InputError; break;
    case 'labelCount': labels = new Int32Array(rows + 2); error = ShapeError; break;
    case 'nullTarget': labels = null; error = InputError; break;
    case 'target2d': labels = new Tensor(new Float32Array(rows), [rows, 1]); error = ShapeError; break;
    case 'output1d': output = new Tensor(out.data, [out.size]); error = ShapeError; break;
    case 'outputNotTensor': output = out.data; error = InputError; break;
    case 'emptyOutput': output = new Tensor(new Float32Array(0), [0, cols]); labels = new Int32Array(0); error = InputError; break;
    case 'disposedLoss': loss = makeLoss(e.spec); loss.dispose(); error = StateError; break;
    case 'backwardFirst': loss = makeLoss(e.spec); error = StateError; break;
  }
  const label = `#${e.id}.loss.forward(${kind}) on [${out.shape}]`;
  const { value, error: thrown } = await act(r, {
    kind: 'lossForward', label, target: null, expect: error ? { ok: false, errors: [error] } : OK, effect: NOTHING,
  }, () => (kind === 'backwardFirst' ? loss.backward() : loss.forward(output as Tensor, labels as Int32Array)));
  if (thrown === null) {
    if (typeof value !== 'number') fail(`${label}: returned ${String(value)}`);
    if (!e.huge && !Number.isFinite(value)) fail(`${label}: loss ${value} of finite outputs`);
    e.lossGradShape = out.shape;
  }
}

async function zeroGrad(r: Real, e: Entry, viaOptimizer: boolean): Promise<void> {
  const o = e.optimizer;
  const expect = e.disposed || (viaOptimizer && !e.optLive.get(o)) ? DISPOSED : OK;
  const { error } = await act(r, {
    kind: 'zeroGrad', label: `#${e.id}.${viaOptimizer ? 'optimizer.' : ''}zeroGrad()`, target: e, expect, effect: { grads: true },
  }, () => (viaOptimizer ? o.zeroGrad() : e.model.zeroGrad()));
  if (error === null) {
    e.poisoned = false;
    for (const l of e.model.layers) for (const p of l.params) {
      if (p.grad!.some((v) => !Object.is(v, 0))) fail(`#${e.id}.zeroGrad(): gradient of ${p.name} is not all +0`);
    }
  }
}

async function step(r: Real, e: Entry): Promise<void> {
  const o = e.optimizer;
  const p: ErrClass[] = [], maybe: ErrClass[] = [];
  if (!e.optLive.get(o)) p.push(StateError);
  if (e.poisoned === true) p.push(NumericError);
  if (e.poisoned === null || e.huge) maybe.push(NumericError);
  const steps = o.stepCount;
  const { error } = await act(r, {
    kind: 'step', label: `#${e.id}.optimizer.step() [${o.constructor.name}]`, target: e,
    expect: e.disposed ? DISPOSED : expectFrom(p, maybe), effect: { state: PARAM_KEYS, opt: true },
    // the one NumericError that comes after its step: an update that overflowed float32
    excuse: (err) => (err instanceof NumericError && /update overflowed/.test(err.message) ? { state: PARAM_KEYS, opt: true } : NOTHING),
  }, () => o.step());
  if (error === null && o.stepCount !== steps + 1) fail(`#${e.id}.optimizer.step(): stepCount ${steps} -> ${o.stepCount}`);
}

async function poisonGrad(r: Real, e: Entry): Promise<void> {
  await act(r, { kind: 'poison', label: `#${e.id}: held weight.grad[0] = NaN`, target: e, expect: e.disposed ? DISPOSED : OK, effect: { grads: true } },
    () => {
      e.heldGrad[0] = NaN;
      if (!Number.isNaN(e.heldGrad[0])) fail('the held gradient view did not keep NaN');
      e.poisoned = true;
    });
}

async function heldAccess(r: Real, e: Entry, write: boolean, value: number): Promise<void> {
  const label = `#${e.id}: held weight.data[0]${write ? ` = ${value}` : ' read'}`;
  await act(r, { kind: 'held', label, target: e, expect: e.disposed ? DISPOSED : OK, effect: write ? { state: /^0\.weight$/ } : NOTHING }, () => {
    if (!write) {
      const v = e.heldWeight[0];
      const want = e.model.stateDict()['0.weight'].data[0];
      if (!Object.is(v, want)) fail(`${label}: ${v}, stateDict says ${want}`);
      return;
    }
    e.heldWeight[0] = value;
    const got = e.model.stateDict()['0.weight'].data[0];
    if (!Object.is(got, Math.fround(value))) fail(`${label}: stateDict then has ${got}`);
  });
}

const LOAD_KINDS = ['same', 'random', 'arrays', 'huge', 'fromOther', 'wrongShape', 'wrongLength', 'missing', 'extra', 'nan', 'overflow', 'null', 'nullEntry', 'badShape', 'negTracked'] as const;

async function loadStateDict(r: Real, e: Entry, kind: typeof LOAD_KINDS[number], seed: number): Promise<void> {
  const g = rng(seed);
  const label = `#${e.id}.loadStateDict(${kind})`;
  if (e.disposed) {
    await act(r, { kind: 'load', label, target: e, expect: DISPOSED, effect: NOTHING }, () => e.model.loadStateDict({}));
    return;
  }
  const own = e.model.stateDict();
  const keys = Object.keys(own);
  const pick = keys[Math.floor(g() * keys.length)];
  const fresh = (k: string): Float32Array => {
    const t = own[k];
    if (k.endsWith('num_batches_tracked')) return Float32Array.of(Math.floor(g() * 100));
    if (k.endsWith('running_var')) return t.data.map(() => 0.5 + g() * 1.5);
    return t.data.map(() => g() * 2 - 1);
  };
  const dict: Record<string, unknown> = {};
  for (const k of keys) dict[k] = own[k];
  let expect: Expect = OK, effect: Effect = { state: true };
  let loaded: Record<string, ArrayLike<number>> | null = null;
  let huge = e.huge;
  const tensorOf = (k: string, data: Float32Array) => new Tensor(data, own[k].shape);
  // a valid change somewhere else, which must not be applied when the call is refused
  const alsoChange = () => { const k = keys[(keys.indexOf(pick) + 1) % keys.length]; if (k !== pick) dict[k] = tensorOf(k, fresh(k)); };
  switch (kind) {
    case 'same': effect = NOTHING; break;
    case 'random': case 'arrays':
      loaded = {};
      for (const k of keys) {
        const v = fresh(k);
        loaded[k] = v;
        dict[k] = kind === 'arrays' ? { data: Array.from(v), shape: [...own[k].shape] } : tensorOf(k, v);
      }
      huge = false;
      break;
    case 'huge': {
      const last = keys.filter((k) => k.endsWith('.weight')).pop()!;
      const v = new Float32Array(own[last].size).fill(3e38);
      dict[last] = tensorOf(last, v);
      loaded = { ...Object.fromEntries(keys.map((k) => [k, own[k].data])), [last]: v };
      huge = true;
      break;
    }
    case 'fromOther': {
      const other = r.others(e)[Math.floor(g() * 2)] ?? r.others(e)[0];
      if (!other) { effect = NOTHING; break; }
      const theirs = other.model.stateDict();
      for (const k of keys) delete dict[k];
      Object.assign(dict, theirs);
      const same = Object.keys(theirs).length === keys.length &&
        keys.every((k) => theirs[k] && theirs[k].shape.join() === own[k].shape.join());
      if (same) { loaded = Object.fromEntries(keys.map((k) => [k, theirs[k].data])); huge = other.huge || e.huge; } else expect = { ok: false, errors: [ShapeError] };
      break;
    }
    case 'wrongShape': dict[pick] = new Tensor(new Float32Array(own[pick].size + 1), [own[pick].size + 1]); alsoChange(); expect = { ok: false, errors: [ShapeError] }; break;
    case 'wrongLength': dict[pick] = { data: new Float32Array(own[pick].size + 1), shape: [...own[pick].shape] }; alsoChange(); expect = { ok: false, errors: [ShapeError] }; break;
    case 'missing': delete dict[pick]; alsoChange(); expect = { ok: false, errors: [ShapeError] }; break;
    case 'extra': dict['99.weight'] = own[pick]; alsoChange(); expect = { ok: false, errors: [ShapeError] }; break;
    case 'nan': { const v = fresh(pick); v[v.length - 1] = NaN; dict[pick] = tensorOf(pick, v); alsoChange(); expect = { ok: false, errors: [InputError] }; break; }
    case 'overflow': { const v = Array.from(fresh(pick)); v[0] = 1e39; dict[pick] = { data: v, shape: [...own[pick].shape] }; alsoChange(); expect = { ok: false, errors: [InputError] }; break; }
    case 'null': expect = { ok: false, errors: [InputError] }; break;
    case 'nullEntry': dict[pick] = null; alsoChange(); expect = { ok: false, errors: [InputError] }; break;
    case 'badShape': dict[pick] = { data: own[pick].data, shape: 'abc' }; alsoChange(); expect = { ok: false, errors: [InputError] }; break;
    case 'negTracked': {
      const k = keys.find((n) => n.endsWith('num_batches_tracked'));
      if (k) { dict[k] = new Tensor(Float32Array.of(-1), []); alsoChange(); expect = { ok: false, errors: [InputError] }; } else effect = NOTHING;
      break;
    }
  }
  const { error } = await act(r, { kind: 'load', label, target: e, expect, effect, heapStrict: true },
    () => e.model.loadStateDict((kind === 'null' ? null : dict) as never));
  if (error === null) {
    e.huge = huge;
    if (loaded) {
      const now = e.model.stateDict();
      for (const k of keys) {
        const a = u32(Float32Array.from(loaded[k])), b = u32(now[k].data);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(`${label}: ${k}[${i}] is ${now[k].data[i]} after loading ${loaded[k][i]}`);
      }
    }
  }
}

async function stateDict(r: Real, e: Entry): Promise<void> {
  const { value, error } = await act(r, { kind: 'stateDict', label: `#${e.id}.stateDict()`, target: e, expect: e.disposed ? DISPOSED : OK, effect: NOTHING },
    () => e.model.stateDict());
  if (error === null) {
    // a copy: writing to it changes nothing
    for (const t of Object.values(value!)) t.data.fill(7);
    const again = weightBits(e.model);
    for (const [k, v] of again) if (v.length > 0 && bitsToF32(v[0]) === 7 && !e.huge) fail(`#${e.id}.stateDict(): ${k} is not a copy`);
  }
}

async function trainMode(r: Real, e: Entry, mode: 'train' | 'eval' | 'bad'): Promise<void> {
  const expect = e.disposed ? DISPOSED : mode === 'bad' ? { ok: false, errors: [ConfigError] } : OK;
  await act(r, { kind: 'mode', label: `#${e.id}.${mode === 'eval' ? 'eval()' : mode === 'train' ? 'train()' : "train('yes')"}`, target: e, expect, effect: META },
    () => (mode === 'eval' ? e.model.eval() : e.model.train(mode === 'bad' ? 'yes' as never : true)));
}

async function disposeOptimizer(r: Real, e: Entry): Promise<void> {
  const o = e.optimizer;
  await act(r, { kind: 'optimizer.dispose', label: `#${e.id}.optimizer.dispose()`, target: e, expect: OK, effect: { opt: true } }, () => {
    o.dispose();
    e.optLive.set(o, false);
  });
  await act(r, { kind: 'step', label: `#${e.id}.optimizer.step() after optimizer.dispose()`, target: e, expect: DISPOSED, effect: NOTHING }, () => o.step());
}

/** Every call on a disposed model, and every handle it gave out, refuses with a StateError. */
async function disposedBattery(e: Entry): Promise<void> {
  const m = e.model;
  const x = new Tensor(new Float32Array(2 * sizeOf(e.inShape)), [2, ...e.inShape]);
  const y = new Int32Array(2);
  const weight = e.firstLayer.weight;
  const calls: [string, () => unknown][] = [
    ['forward', () => m.forward(x)],
    ['backward', () => m.backward(new Tensor(new Float32Array(2 * e.width), [2, e.width]))],
    ['fit', () => m.fit(x, y)],
    ['predict', () => m.predict(x)],
    ['evaluate', () => m.evaluate(x, y)],
    ['stateDict', () => m.stateDict()],
    ['loadStateDict', () => m.loadStateDict({})],
    ['zeroGrad', () => m.zeroGrad()],
    ['add', () => m.add(new ReLU())],
    ['compile', () => m.compile({ loss: new NLLLoss(), optimizer: 'sgd' })],
    ['train', () => m.train()],
    ['eval', () => m.eval()],
    ['parameters', () => m.parameters()],
    ['memoryBytes', () => m.memoryBytes()],
    ['held weight.data[0] read', () => e.heldWeight[0]],
    ['held weight.data[0] write', () => { e.heldWeight[0] = 1; }],
    ['held weight.data.length', () => e.heldWeight.length],
    ['held weight.data.subarray(0, 2)[0]', () => e.heldWeight.subarray(0, 2)[0]],
    ['held weight.grad[0] read', () => e.heldGrad[0]],
    ['held weight.grad[0] write', () => { e.heldGrad[0] = 1; }],
    ['fresh layer.weight.data[0]', () => weight.data[0]],
    ['layer.weight.set', () => weight.set(new Float32Array(weight.size))],
    ['optimizer.step', () => e.optimizer.step()],
    ['optimizer.zeroGrad', () => e.optimizer.zeroGrad()],
    ['optimizer.state', () => e.optimizer.state()],
    ['new SGD(model)', () => new SGD(m, { lr: 0.1 })],
    ['new Adam(model)', () => new Adam(m)],
  ];
  for (const [name, fn] of calls) await expectStateError(`after #${e.id}.dispose(): ${name}`, fn);
  if (!m.disposed) fail(`#${e.id}.disposed is false after dispose()`);
  m.dispose(); // a second dispose is a no-op
}

async function dispose(r: Real, m: Model, slot: number): Promise<void> {
  const e = r.entries[slot]!;
  const wasLive = !e.disposed;
  await act(r, { kind: 'dispose', label: `#${e.id}.dispose()${wasLive ? '' : ' again'}`, target: e, expect: OK, effect: NOTHING }, () => {
    e.model.dispose();
    markDisposed(e);
    m.slots[slot] = 'disposed';
  });
  await disposedBattery(e);
  checkHeaps(r, `after #${e.id}.dispose()`, defaultRt.heap.allocatedBytes);
}

// ---- concurrency: a second call while fit runs --------------------------------------------------

const SECONDS = ['fit', 'forward', 'backward', 'add', 'compile', 'predict', 'evaluate', 'stateDict', 'dispose', 'otherFit', 'otherForward'] as const;

async function concurrentFit(r: Real, m: Model, slot: number, n: number, epochs: number, second: typeof SECONDS[number], seed: number): Promise<void> {
  const e = r.entries[slot]!;
  const data = validData(e, n, seed);
  const spec: FitSpec = { data: { n, seed, asTensor: true, bad: 'none' }, epochs, batch: 'small', batchSize: n, split: 'none', valData: 'none', opt: 'none', shuffle: true };
  const first = fitExpect(e, spec, data, n);
  if (!first.ok || first.errors.length > 0) {
    // not a clean fit (disposed, not compiled, retired optimizer, ...): check it as a plain call
    await doFit(r, e, spec);
    return;
  }
  const label = `#${e.id}: fit(n=${n}, epochs=${epochs}) running, then ${second}`;
  const s0 = snapAll(r);
  const defaultBytes = defaultRt.heap.allocatedBytes;
  // the first epoch runs before fit() returns; the model stays busy until the promise settles
  const running = e.model.fit(data.x as Tensor, data.y as Int32Array, { epochs, batchSize: n, seed: seed % 1000 });
  const settled = running.then(() => null, (err: unknown) => err ?? new Error('rejected with nothing'));
  const s1 = snapAll(r);
  let other: Entry | undefined;
  const refused = async (name: string, fn: () => unknown) => expectStateError(`${label}: ${name} during fit`, fn);
  switch (second) {
    case 'fit': await refused('fit', () => e.model.fit(data.x as Tensor, data.y as Int32Array)); break;
    case 'forward': await refused('forward', () => e.model.forward(data.x as Tensor)); break;
    case 'backward': await refused('backward', () => e.model.backward(new Tensor(new Float32Array(n * e.width), [n, e.width]))); break;
    case 'add': await refused('add', () => e.model.add(new ReLU())); break;
    case 'compile': await refused('compile', () => e.model.compile({ loss: e.loss, optimizer: 'sgd' })); break;
    case 'predict': {
      const out = e.model.predict(data.x as Tensor, { batchSize: 2 });
      if (out.shape[0] !== n) fail(`${label}: predict gave [${out.shape}]`);
      count('duringFit:predict');
      break;
    }
    case 'evaluate': e.model.evaluate(data.x as Tensor, data.y as Int32Array); count('duringFit:evaluate'); break;
    case 'stateDict': e.model.stateDict(); count('duringFit:stateDict'); break;
    case 'dispose': e.model.dispose(); markDisposed(e); m.slots[slot] = 'disposed'; count('duringFit:dispose'); break;
    case 'otherFit': case 'otherForward':
      other = r.others(e)[0];
      runningFit = e;
      if (other && second === 'otherFit') {
        // awaits, so the running fit goes on meanwhile: the two interleave
        await doFit(r, other, { ...spec, data: { ...spec.data, seed: seed + 1 }, epochs: 1 });
      } else if (other) {
        await doForward(r, other, { n: 3, seed: seed + 1, asTensor: true, bad: 'none' });
      }
      runningFit = null;
      break;
  }
  if (second !== 'otherFit' && second !== 'dispose') {
    // a refused call, or one that only reads, changed nothing, here or elsewhere
    compareAll(`${label} (during fit)`, s1, snapAll(r), (x) => (x === e ? META : x === other ? { state: true, grads: true, opt: true, meta: true } : NOTHING));
  }
  const error = await settled;
  count(`fitThenAwait:${error === null ? 'ok' : (error as Error).name}`);
  if (second === 'dispose') {
    if (!(error instanceof StateError)) fail(`${label}: the running fit should stop with a StateError, got ${error === null ? 'success' : errName(error)}`);
    await disposedBattery(e);
  } else if (error !== null) {
    checkOutcome(`${label}: the running fit`, { ok: true, errors: e.huge ? [NumericError] : [] }, error);
  } else {
    e.held = 0; e.shapesKnown = true; e.poisoned = false;
  }
  compareAll(label, s0, snapAll(r), (x) => (x === e ? (e.disposed ? 'gone' : { state: true, grads: true, opt: true, meta: true })
    : x === other ? { state: true, grads: true, opt: true, meta: true } : NOTHING));
  checkHeaps(r, label, defaultBytes);
}

// ---- a forward's activations survive whatever happens before its backward -----------------------

const INTERFERERS = ['predict', 'predictBig', 'predictHuge', 'evaluate', 'stateDict', 'loadSame', 'otherFit', 'otherForward', 'churn'] as const;

async function heldSurvives(r: Real, e: Entry, n: number, interferer: typeof INTERFERERS[number], seed: number): Promise<void> {
  if (!(await doForward(r, e, { n, seed, asTensor: true, bad: 'none' }))) return;
  const g = rng(seed + 7);
  const dy = new Tensor(Float32Array.from({ length: n * e.width }, () => g() * 2 - 1), [n, e.width]);
  const params = e.model.layers.flatMap((l) => [...l.params]);
  const g0 = params.map((p) => p.grad!.slice());
  const label = `#${e.id}: forward(n=${n}), ${interferer}, backward`;
  await act(r, { kind: 'backward', label: `${label}: first backward`, target: e, expect: OK, effect: { grads: true } }, () => e.model.backward(dy));
  const g1 = params.map((p) => p.grad!.slice());
  params.forEach((p, i) => p.grad!.set(g0[i]));
  const inferSpec = (nn: number, batch: InferBatch, bs: number, bad: Bad = 'none'): InferSpec =>
    ({ data: { n: nn, seed: seed + 3, asTensor: true, bad }, batch, batchSize: bs });
  const other = r.others(e)[0];
  switch (interferer) {
    case 'predict': await doPredict(r, e, inferSpec(n, 'small', 1 + (seed % 3), 'none')); break;
    case 'predictBig': await doPredict(r, e, inferSpec(n + 20, 'big', 0)); break;
    case 'predictHuge': await doPredict(r, e, inferSpec(1, 'default', 0, 'huge')); break;
    case 'evaluate': await doEvaluate(r, e, inferSpec(n + 5, 'small', 4)); break;
    case 'stateDict': await stateDict(r, e); break;
    case 'loadSame': await loadStateDict(r, e, 'same', seed); break;
    case 'otherFit':
      if (other) await doFit(r, other, { data: { n: 8, seed, asTensor: true, bad: 'none' }, epochs: 2, batch: 'small', batchSize: 3, split: 'none', valData: 'none', opt: 'none', shuffle: true });
      break;
    case 'otherForward': if (other) await doForward(r, other, { n: 5, seed, asTensor: true, bad: 'none' }); break;
    case 'churn':
      // another model comes and goes on the same heap (reusing freed blocks, growing the memory)
      await act(r, { kind: 'churn', label: `${label}: a temporary model`, target: null, expect: OK, effect: NOTHING, heapStrict: false }, async () => {
        const t = new Sequential([new Linear(6, 40), new ReLU(), new Linear(40, 3)], { runtime: r.rt });
        try {
          t.compile({ loss: new CrossEntropyLoss(), optimizer: new Adam(t) });
          const x = new Float32Array(6 * 300).map((_, i) => Math.sin(i));
          await t.fit(x, new Int32Array(300).map((_, i) => i % 3), { epochs: 1, batchSize: 300 });
        } finally { t.dispose(); }
      });
      break;
  }
  await act(r, { kind: 'backward', label: `${label}: second backward`, target: e, expect: OK, effect: { grads: true } }, () => e.model.backward(dy));
  const g2 = params.map((p) => p.grad!.slice());
  params.forEach((p, i) => {
    const a = u32(g1[i]), b = u32(g2[i]);
    for (let k = 0; k < a.length; k++) {
      if (a[k] !== b[k]) fail(`${label}: gradient of ${p.name} (layer ${e.model.layers.findIndex((l) => l.params.includes(p))})[${k}] is ` +
        `${g2[i][k]} after the ${interferer}, ${g1[i][k]} without it: the backward's activations were disturbed`);
    }
  });
}

// ---- commands ----------------------------------------------------------------------------------

type Needs = 'free' | 'used' | 'any';
class Cmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly label: string, readonly slot: number, readonly needs: Needs,
    readonly body: (r: Real, m: Model) => Promise<void>) {}
  check(m: Readonly<Model>): boolean {
    return this.needs === 'any' || (this.needs === 'free' ? m.slots[this.slot] !== 'live' : m.slots[this.slot] !== 'empty');
  }
  async run(m: Model, r: Real): Promise<void> { await this.body(r, m); }
  toString(): string { return this.label; }
}

const slotArb = fc.integer({ min: 0, max: SLOTS - 1 });
const seedArb = fc.noShrink(fc.nat());
const on = (slot: number, label: string, f: (r: Real, e: Entry, m: Model) => Promise<void>) =>
  new Cmd(`[${slot}] ${label}`, slot, 'used', (r, m) => f(r, r.entries[slot]!, m));

const buildSpecArb: fc.Arbitrary<BuildSpec> = fc.record({
  kind: fc.constantFrom<Kind>('mlp', 'cnn'),
  head: fc.constantFrom<'ce' | 'nll'>('ce', 'nll'),
  dropout: fc.boolean(),
  givenShape: fc.boolean(),
  incremental: fc.boolean(),
  opt: fc.constantFrom<OptKind>('sgd', 'adam', 'adamw', 'rmsprop'),
  variant: fc.nat({ max: 5 }),
  compile: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  reduction: fc.constantFrom<'mean' | 'sum'>('mean', 'sum'),
});

/** One fault at most per call, so that most calls are valid and each refused one has one reason. */
const FIT_FAULTS = [...X_BADS, ...Y_BADS, 'zero', 'frac', 'neg', 'splitBad', 'valNan', 'splitAndValData',
  'unknownOption', 'nullOptions', 'badEpochs', 'badShuffle', 'badSeed', 'badCallbacks'] as const;
const fitSpecArb: fc.Arbitrary<FitSpec> = fc.record({
  data: dataArb(true).map((d) => ({ ...d, bad: 'none' as Bad })),
  epochs: fc.integer({ min: 0, max: 2 }),
  batch: fc.constantFrom<BatchKind>('small', 'small', 'small', 'default', 'big'),
  batchSize: fc.integer({ min: 1, max: 12 }),
  split: fc.constantFrom<FitSpec['split']>('none', 'none', 'none', 0.25, 0.5),
  valData: fc.constantFrom<FitSpec['valData']>('none', 'none', 'valid'),
  shuffle: fc.boolean(),
  fault: fc.oneof({ weight: 3, arbitrary: fc.constant('none' as const) }, { weight: 2, arbitrary: fc.constantFrom(...FIT_FAULTS) }),
}).map(({ fault, ...s }): FitSpec => {
  const spec: FitSpec = { ...s, opt: 'none', valData: s.split !== 'none' ? 'none' : s.valData };
  if ((X_BADS as readonly string[]).includes(fault) || (Y_BADS as readonly string[]).includes(fault)) spec.data = { ...spec.data, bad: fault as Bad };
  else if (fault === 'zero' || fault === 'frac' || fault === 'neg') spec.batch = fault;
  else if (fault === 'splitBad') { spec.split = 'bad'; spec.valData = 'none'; }
  else if (fault === 'valNan') { spec.valData = 'nan'; spec.split = 'none'; }
  else if (fault === 'splitAndValData') { spec.opt = 'splitAndData'; spec.split = 'none'; spec.valData = 'none'; }
  else if (fault !== 'none') spec.opt = fault as FitOptKind;
  return spec;
});

const inferSpecArb: fc.Arbitrary<InferSpec> = fc.record({
  data: dataArb(true),
  batch: fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom<InferBatch>('default', 'small', 'small', 'big') },
    { weight: 1, arbitrary: fc.constantFrom<InferBatch>('zero', 'frac', 'unknownOption') },
  ),
  batchSize: fc.integer({ min: 1, max: 12 }),
});

const describeFit = (s: FitSpec) => `fit(${describeData(s.data)}, epochs=${s.epochs}, ${s.batch}${s.batch === 'small' ? `=${s.batchSize}` : ''}` +
  `${s.split !== 'none' ? `, split=${s.split}` : ''}${s.valData !== 'none' ? `, val=${s.valData}` : ''}${s.opt !== 'none' ? `, ${s.opt}` : ''})`;

type CommandArb = fc.Arbitrary<fc.AsyncCommand<Model, Real>>;
const arbs = {
  build: fc.tuple(slotArb, buildSpecArb).map(([slot, spec]) =>
    new Cmd(`[${slot}] build ${JSON.stringify(spec)}`, slot, 'free', (r, m) => build(r, m, slot, spec))),
  badBuild: fc.constantFrom(...BAD_BUILDS).map((v) => new Cmd(`badBuild(${v})`, 0, 'any', (r) => badBuild(r, v))),
  add: fc.tuple(slotArb, fc.constantFrom(...ADD_KINDS)).map(([s, k]) => on(s, `add(${k})`, (r, e) => addLayer(r, e, k))),
  compile: fc.tuple(slotArb, fc.constantFrom(...COMPILE_KINDS), fc.nat({ max: 9 })).map(([s, k, v]) => on(s, `compile(${k}, ${v})`, (r, e) => compile(r, e, k, v))),
  fit: fc.tuple(slotArb, fitSpecArb).map(([s, spec]) => on(s, describeFit(spec), (r, e) => doFit(r, e, spec))),
  predict: fc.tuple(slotArb, inferSpecArb).map(([s, spec]) => on(s, `predict(${describeData(spec.data)}, ${spec.batch})`, (r, e) => doPredict(r, e, spec))),
  evaluate: fc.tuple(slotArb, inferSpecArb).map(([s, spec]) => on(s, `evaluate(${describeData(spec.data)}, ${spec.batch})`, (r, e) => doEvaluate(r, e, spec))),
  forward: fc.tuple(slotArb, dataArb(false)).map(([s, d]) => on(s, `forward(${describeData(d)})`, async (r, e) => { await doForward(r, e, d); })),
  lossForward: fc.tuple(slotArb, fc.constantFrom(...LOSS_KINDS), seedArb).map(([s, k, seed]) => on(s, `loss.forward(${k})`, (r, e) => lossForward(r, e, k, seed))),
  backward: fc.tuple(slotArb, fc.constantFrom(...BACKWARD_KINDS), seedArb).map(([s, k, seed]) => on(s, `backward(${k})`, (r, e) => doBackward(r, e, k, seed))),
  zeroGrad: fc.tuple(slotArb, fc.boolean()).map(([s, o]) => on(s, `${o ? 'optimizer.' : ''}zeroGrad()`, (r, e) => zeroGrad(r, e, o))),
  step: slotArb.map((s) => on(s, 'optimizer.step()', (r, e) => step(r, e))),
  poison: fc.tuple(slotArb, fc.boolean()).map(([s, thenStep]) => on(s, `weight.grad[0] = NaN${thenStep ? ', step()' : ''}`, async (r, e) => {
    await poisonGrad(r, e);
    if (thenStep) await step(r, e);
  })),
  diverge: fc.tuple(slotArb, fitSpecArb, seedArb).map(([s, spec, seed]) => on(s, `loadStateDict(huge), ${describeFit(spec)}`, async (r, e) => {
    await loadStateDict(r, e, 'huge', seed);
    await doFit(r, e, spec);
  })),
  held: fc.tuple(slotArb, fc.boolean(), fc.double({ min: -1, max: 1, noNaN: true })).map(([s, w, v]) =>
    on(s, w ? `weight.data[0] = ${v}` : 'weight.data[0]', (r, e) => heldAccess(r, e, w, v))),
  stateDict: slotArb.map((s) => on(s, 'stateDict()', (r, e) => stateDict(r, e))),
  load: fc.tuple(slotArb, fc.constantFrom(...LOAD_KINDS), seedArb).map(([s, k, seed]) => on(s, `loadStateDict(${k})`, (r, e) => loadStateDict(r, e, k, seed))),
  mode: fc.tuple(slotArb, fc.constantFrom<'train' | 'eval' | 'bad'>('train', 'eval', 'eval', 'bad')).map(([s, mode]) => on(s, mode, (r, e) => trainMode(r, e, mode))),
  disposeOptimizer: slotArb.map((s) => on(s, 'optimizer.dispose()', (r, e) => disposeOptimizer(r, e))),
  dispose: slotArb.map((s) => new Cmd(`[${s}] dispose()`, s, 'used', (r, m) => dispose(r, m, s))),
  concurrentFit: fc.tuple(slotArb, fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom(...SECONDS), seedArb).map(([s, n, ep, second, seed]) =>
    new Cmd(`[${s}] fit(n=${n}, epochs=${ep}) not awaited, then ${second}`, s, 'used', (r, m) => concurrentFit(r, m, s, n, ep, second, seed))),
  heldSurvives: fc.tuple(slotArb, fc.integer({ min: 2, max: 6 }), fc.constantFrom(...INTERFERERS), seedArb).map(([s, n, what, seed]) =>
    on(s, `forward(n=${n}) / ${what} / backward`, (r, e) => heldSurvives(r, e, n, what, seed))),
} satisfies Record<string, CommandArb>;

/** The command mix: each arbitrary `weight` times (fc.commands draws uniformly among its arbitraries). */
function mix(weights: Partial<Record<keyof typeof arbs, number>>): CommandArb[] {
  return Object.entries(arbs).flatMap(([name, a]) => Array.from({ length: weights[name as keyof typeof arbs] ?? 1 }, () => a as CommandArb));
}


async function runSequence(cmds: Iterable<fc.AsyncCommand<Model, Real>>, metaToo = false): Promise<void> {
  strictMeta = metaToo;
  runningFit = null;
  manualSeed(7);
  const rt = await createRuntime({ maxMemoryBytes: MAX_MEMORY });
  const real = new Real(rt);
  try {
    await fc.asyncModelRun(() => ({ model: { slots: new Array(SLOTS).fill('empty') }, real }), cmds);
    real.disposeAll();
    checkHeaps(real, 'after disposing every model at the end', defaultRt.heap.allocatedBytes);
    for (const e of real.entries) if (e) await disposedBattery(e);
  } finally {
    real.disposeAll();
  }
}

async function assertProperty(prop: fc.IAsyncProperty<[Iterable<fc.AsyncCommand<Model, Real>>]>, seed: number, numRuns: number): Promise<void> {
  const out = await fc.check(prop, { seed, numRuns, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
  if (out.failed) {
    const cause = out.errorInstance instanceof Error ? `${out.errorInstance.name}: ${out.errorInstance.message}` : String(out.errorInstance);
    throw new Error(`${cause}\n\n${fc.defaultReportMessage(out) ?? 'property failed'}`);
  }
  if (out.interrupted) console.warn(`properties: stopped by the time limit after ${out.numRuns} of ${numRuns} runs (seed ${seed})`);
}

describe('random API call sequences keep the invariants', () => {
  it('on up to three live models sharing one runtime', async () => {
    const cmds = fc.commands(mix({ build: 3, fit: 2, forward: 2, backward: 2 }), { maxCommands: 40, size: 'max' });
    await assertProperty(fc.asyncProperty(cmds, (c) => runSequence(c)), SEED, 300);
  });

  it('concentrating on concurrency, dispose and the explicit loop', async () => {
    const cmds = fc.commands(mix({ build: 3, concurrentFit: 3, heldSurvives: 3, dispose: 2, forward: 2, backward: 2, step: 2 }), { maxCommands: 30, size: 'max' });
    await assertProperty(fc.asyncProperty(cmds, (c) => runSequence(c)), SEED + 1, 200);
  });

  it('a failed call also leaves the shapes and the train/eval mode as they were', async () => {
    const cmds = fc.commands(mix({ build: 3, fit: 3, forward: 3, predict: 2, evaluate: 2, diverge: 2, mode: 2 }), { maxCommands: 25, size: 'max' });
    await assertProperty(fc.asyncProperty(cmds, (c) => runSequence(c, true)), SEED + 2, 200);
  });

  it('covered every kind of outcome', () => {
    console.log([...stats].sort().map(([k, v]) => `${k}=${v}`).join(' '));
    const seen = new Set([...stats.keys()].map((k) => k.split(':')[1]));
    for (const name of ['ok', 'StateError', 'ShapeError', 'InputError', 'ConfigError', 'MemoryError', 'NumericError']) {
      expect(seen.has(name), `some call ended in ${name}`).toBe(true);
    }
    for (const kind of ['build', 'badBuild', 'add', 'compile', 'fit', 'predict', 'evaluate', 'forward', 'backward', 'lossForward',
      'zeroGrad', 'step', 'poison', 'held', 'load', 'stateDict', 'mode', 'optimizer.dispose', 'dispose', 'refused', 'fitThenAwait']) {
      expect([...stats.keys()].some((k) => k.startsWith(`${kind}:`)), `${kind} ran`).toBe(true);
    }
  });
});
