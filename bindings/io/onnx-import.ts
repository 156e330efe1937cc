// ONNX -> Sequential. The graph is run symbolically, node after node (ONNX requires topological
// order), over three kinds of value:
//   - constants: initializers, Constant nodes and what is computed from them, including shape
//     arithmetic (Shape -> Gather -> Unsqueeze -> Concat, as dynamic-batch exports write it),
//     where the batch size is a symbol N;
//   - the activation: the output of the last layer so far (its per-sample shape known), possibly
//     with a pending elementwise expression of it (onnx-expr.ts: the GELU patterns), a pending
//     zero Pad (absorbed by the next Conv or AveragePool) or a pending bias (MatMul/Gemm/Conv then
//     Add);
//   - unusable outputs (MaxPool's Indices, Dropout's mask), an error if anything reads them.
// Each operator either computes a constant or appends a layer; a layer may only consume the
// current activation, so anything that is not a chain (branches, residual connections) is refused.
// Only nodes the graph output depends on are run.
//
// Untrusted bytes: every count, dim, attribute type and value is checked before it is used, and
// tensors are read (and allocated) only when a live node uses them, after their claimed size has
// been compared with the bytes they hold. Every refusal is a FormatError naming the node, the
// operator and the attribute or input at fault.

import { ConfigError, FormatError, ShapeError, describe } from '../errors.js';
import { checkOptions } from '../options.js';
import { Sequential } from '../model/sequential.js';
import { Runtime } from '../runtime/load.js';
import { Generator } from '../random.js';
import { canResize, privateU8 } from '../memory/view.js';
import type { LayerConfig } from '../layers/layer.js';
import { layerFromConfig } from './architecture.js';
import { outSize } from '../layers/spatial.js';
import {
  AttrType, DataType, MAX_INT_ELEMENTS, MAX_RANK, attributeTypeName, dataTypeName, decodeModel, has, int64, readTensor, utf8,
  type AttributeMsg, type GraphMsg, type ModelMsg, type NodeMsg, type TensorMsg, type ValueInfoMsg,
} from './onnx-proto.js';
import * as expr from './onnx-expr.js';

export interface ImportOnnxOptions {
  /** The runtime whose memory holds the model (default: the one init() made). */
  runtime?: Runtime;
  /** Per-sample input shape, for a graph whose input has symbolic sizes beyond the batch (e.g. [3, 224, 224]). */
  inputShape?: number[];
}

/** ai.onnx opsets whose operators this importer knows (the attributes of each are checked). */
export const MIN_OPSET = 7, MAX_OPSET = 28;
/** IR versions: 3 (opset imports) to 14 (onnx.proto's IR_VERSION). */
const MIN_IR = 3, MAX_IR = 14;
const MAX_SIZE = 1 << 24;   // any one size (features, channels, kernel, spatial) past this is not a model
const MAX_VALUES = 2 ** 30; // a wasm32 memory holds 2^30 floats
const MAX_LIST = 64;        // attribute lists (pads, strides, axes)

const SUPPORTED = [
  'Gemm', 'MatMul (+ Add)', 'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization',
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Gelu (or its Erf / Tanh formula)', 'Softmax', 'LogSoftmax', 'Flatten', 'Reshape',
  'Squeeze', 'Unsqueeze', 'Dropout', 'Identity', 'Pad (zeros, before Conv / AveragePool)', 'Constant', 'Shape', 'Gather',
  'Concat', 'Cast',
];

type Int = number | 'N';
interface Const { kind: 'const'; dims: number[]; floats: Float32Array | null; ints: Int[] | null }
interface Act {
  kind: 'act';
  /** Which layer output this is (0: the graph input); only the latest one may be consumed. */
  gen: number;
  /** Per-sample shape (without the batch dimension), including any pending Pad. */
  shape: number[];
  /** A pending elementwise function of the activation, or null. */
  poly: expr.Poly | null;
  ops: string[];
  /** A pending zero Pad of the spatial dims [top/bottom, left/right], or null. */
  pad: [number, number] | null;
  /** The index of the last spec when it is a Linear or Conv2d without bias that a following Add may give one. */
  fuse: number | null;
}
interface Unusable { kind: 'unusable'; why: string }
type Value = Const | Act | Unusable;

interface Spec {
  where: string;
  config: LayerConfig;
  tensors: Record<string, { data: Float32Array; shape: number[] }>;
}

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const fmt = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;

/** The shortest decimal that is the same float32 (ONNX stores float attributes as float32: 0.01, not 0.009999999776). */
function shortest(v: number): number {
  for (let p = 1; p <= 9; p++) {
    const x = Number(v.toPrecision(p));
    if (Math.fround(x) === v) return x;
  }
  return v;
}

/** Attributes of one node, checked against those its operator takes (name and type). */
class Attrs {
  private readonly map = new Map<string, AttributeMsg>();

  constructor(private readonly where: string, list: AttributeMsg[], allowed: Record<string, number>) {
    for (const a of list) {
      const name = a.name ?? '';
      if (!Object.prototype.hasOwnProperty.call(allowed, name)) {
        const known = Object.keys(allowed);
        throw new FormatError(`importOnnx: ${where}: attribute '${short(name)}' is not supported` +
          (known.length ? ` (known: ${known.join(', ')})` : ' (the operator takes none)'));
      }
      if (this.map.has(name)) throw new FormatError(`importOnnx: ${where}: attribute '${name}' appears twice`);
      if (a.ref_attr_name) throw new FormatError(`importOnnx: ${where}: attribute '${name}' refers to a function attribute, which is not supported`);
      if (a.type !== allowed[name]) {
        throw new FormatError(`importOnnx: ${where}: attribute '${name}' has type ${attributeTypeName(a.type ?? 0)}, expected ${attributeTypeName(allowed[name])}`);
      }
      this.map.set(name, a);
    }
  }

  has(name: string): boolean { return this.map.has(name); }

  private get(name: string): AttributeMsg | undefined { return this.map.get(name); }

  int(name: string, dflt?: number): number {
    const a = this.get(name);
    if (!a) return this.missing(name, dflt);
    const v = int64(a.i);
    if (!Number.isSafeInteger(v)) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' is ${v}`);
    return v;
  }

  ints(name: string, dflt?: number[]): number[] {
    const a = this.get(name);
    if (!a) return this.missing(name, dflt);
    if (a.ints.length > MAX_LIST) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' has ${a.ints.length} values`);
    const v = a.ints.map(int64);
    if (!v.every(Number.isSafeInteger)) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' is ${fmt(v)}`);
    return v;
  }

  float(name: string, dflt?: number): number {
    const a = this.get(name);
    if (!a) return this.missing(name, dflt);
    const v = a.f ?? 0;
    if (!Number.isFinite(v)) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' is ${v}`);
    return v;
  }

  floats(name: string): number[] {
    const a = this.get(name);
    if (!a) return this.missing<number[]>(name, undefined);
    if (a.floats.length > MAX_INT_ELEMENTS) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' has ${a.floats.length} values`);
    return a.floats;
  }

  string(name: string, dflt?: string): string {
    const a = this.get(name);
    return a ? utf8(a.s) : this.missing(name, dflt);
  }

  tensor(name: string): TensorMsg {
    const a = this.get(name);
    if (!a || !a.t) throw new FormatError(`importOnnx: ${this.where}: attribute '${name}' holds no tensor`);
    return a.t;
  }

  private missing<T>(name: string, dflt: T | undefined): T {
    if (dflt === undefined) throw new FormatError(`importOnnx: ${this.where}: the required attribute '${name}' is missing`);
    return dflt;
  }
}

const F = AttrType.FLOAT, I = AttrType.INT, S = AttrType.STRING, T = AttrType.TENSOR, FS = AttrType.FLOATS, IS = AttrType.INTS;

/** One node being imported: where it is (for messages), its attributes and inputs. */
interface NodeCtx {
  where: string;
  op: string;
  msg: NodeMsg;
  inputs: (Value | undefined)[];
}

/** Runs ValueError-style checks of layer constructors and shape helpers under a node's name. */
function guard<R>(where: string, f: () => R): R {
  try {
    return f();
  } catch (e) {
    if (e instanceof ShapeError || e instanceof ConfigError) {
      throw new FormatError(`importOnnx: ${where}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** The importer's entry: options, bytes, the graph, then the model. */
export function importOnnx(input: Uint8Array | ArrayBuffer, options: ImportOnnxOptions = {}): Sequential {
  checkOptions('importOnnx', options, ['runtime', 'inputShape']);
  const runtime = options?.runtime;
  if (runtime !== undefined && !(runtime instanceof Runtime)) {
    throw new ConfigError(`importOnnx: runtime must be a Runtime (from init or createRuntime), got ${describe(runtime)}`);
  }
  const userShape = options?.inputShape;
  if (userShape !== undefined && !(Array.isArray(userShape) && userShape.length >= 1 && userShape.length <= 3 &&
      userShape.every((d) => Number.isInteger(d) && d >= 1 && d <= MAX_SIZE))) {
    throw new ConfigError(`importOnnx: inputShape must be a per-sample shape of 1 to 3 positive integers, got ${describe(userShape)}`);
  }
  let bytes: Uint8Array | null;
  try { bytes = privateU8(input); } catch (e) { throw new FormatError(`importOnnx: cannot read the bytes (${(e as Error).message})`, { cause: e }); }
  if (!bytes) throw new FormatError(`importOnnx: expected the bytes of an .onnx file (a Uint8Array or an ArrayBuffer), got ${describe(input)}`);
  // a shared or resizable buffer could change under the decoder: read a copy
  if (!(bytes.buffer instanceof ArrayBuffer) || canResize(bytes.buffer)) bytes = bytes.slice();
  const model = decodeModel(bytes, 'importOnnx');
  const graph = new GraphImporter(model, userShape ? [...userShape] : null);
  const { specs, inputShape } = graph.run();
  return build(specs, inputShape, runtime);
}

function build(specs: Spec[], inputShape: number[], runtime: Runtime | undefined): Sequential {
  let total = 0;
  for (const s of specs) for (const t of Object.values(s.tensors)) total += t.data.length;
  if (total > MAX_VALUES) throw new FormatError('importOnnx: the weights would not fit in a wasm32 memory');
  const generator = new Generator(0);
  const layers = specs.map((s) => guard(s.where, () => layerFromConfig(s.config, generator)));
  let model: Sequential;
  try {
    model = new Sequential(layers, { inputShape, ...(runtime ? { runtime } : {}) });
  } catch (e) {
    if (e instanceof ShapeError || e instanceof ConfigError) throw new FormatError(`importOnnx: the layers do not fit together (${e.message})`, { cause: e });
    throw e;
  }
  const dict: Record<string, { data: Float32Array; shape: number[] }> = {};
  specs.forEach((s, i) => {
    for (const [name, t] of Object.entries(s.tensors)) dict[`${i}.${name}`] = t;
    if (s.config.type === 'BatchNorm1d' || s.config.type === 'BatchNorm2d') dict[`${i}.num_batches_tracked`] = { data: new Float32Array(1), shape: [] };
  });
  try {
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    throw new FormatError(`importOnnx: ${(e as Error).message}`, { cause: e });
  }
  model.eval();
  return model;
}

class GraphImporter {
  private readonly specs: Spec[] = [];
  private readonly values = new Map<string, Value>();
  private readonly initializers = new Map<string, TensorMsg>();
  private gen = 0;
  private opset = 0;
  /** The graph input's batch size when it is fixed (a number), else null (symbolic). */
  private fixedBatch: number | null = null;

  constructor(private readonly model: ModelMsg, private readonly userShape: number[] | null) {}

  run(): { specs: Spec[]; inputShape: number[] } {
    const m = this.model;
    const ir = int64(m.ir_version);
    if (!has(m, 'ir_version') || !(ir >= MIN_IR && ir <= MAX_IR)) {
      throw new FormatError(`importOnnx: not an ONNX model this importer reads (ir_version ${has(m, 'ir_version') ? ir : 'missing'}; ${MIN_IR} to ${MAX_IR} are)`);
    }
    const defaults = m.opset_import.filter((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
    if (defaults.length !== 1) throw new FormatError(`importOnnx: the model imports the ai.onnx opset ${defaults.length} times (once expected)`);
    this.opset = int64(defaults[0].version);
    if (!(this.opset >= MIN_OPSET && this.opset <= MAX_OPSET)) {
      throw new FormatError(`importOnnx: ai.onnx opset ${this.opset} is not supported (${MIN_OPSET} to ${MAX_OPSET} are)`);
    }
    if (!has(m, 'graph') || !m.graph) throw new FormatError('importOnnx: the model has no graph');
    const g = m.graph;
    if (g.sparse_initializer.length) throw new FormatError('importOnnx: sparse initializers are not supported');
    for (const t of g.initializer) {
      const name = t.name ?? '';
      if (!name) throw new FormatError('importOnnx: an initializer has no name');
      if (this.initializers.has(name)) throw new FormatError(`importOnnx: two initializers are named '${name}'`);
      this.initializers.set(name, t);
    }
    const inputShape = this.graphInput(g);
    if (g.output.length !== 1) throw new FormatError(`importOnnx: the graph has ${g.output.length} outputs (simdnet imports graphs with one)`);
    const outName = g.output[0].name ?? '';
    const live = this.liveNodes(g, outName);
    g.node.forEach((node, i) => { if (live[i]) this.node(i, node); });
    const out = this.values.get(outName);
    if (out === undefined) throw new FormatError(`importOnnx: the graph output '${outName}' is not produced by any node`);
    const ctx: NodeCtx = { where: `the graph output '${outName}'`, op: 'output', msg: { input: [], output: [], attribute: [] }, inputs: [] };
    if (out.kind === 'const') throw new FormatError(`importOnnx: the graph output '${outName}' is a constant`);
    const final = this.take(out, ctx);
    if (final.pad) throw new FormatError(`importOnnx: the graph ends with a Pad, which simdnet has no layer for`);
    if (!this.specs.length) throw new FormatError('importOnnx: the graph computes nothing simdnet has a layer for (no layers)');
    this.checkDeclared(g.output[0], final.shape, 'output');
    return { specs: this.specs, inputShape };
  }

  /** The one graph input that is not an initializer: FLOAT, [batch, ...per-sample sizes]. */
  private graphInput(g: GraphMsg): number[] {
    const inputs = g.input.filter((v) => !this.initializers.has(v.name ?? ''));
    if (inputs.length !== 1) throw new FormatError(`importOnnx: the graph has ${inputs.length} inputs besides its initializers (simdnet imports graphs with one)`);
    const v = inputs[0];
    const name = v.name ?? '';
    if (!name) throw new FormatError('importOnnx: the graph input has no name');
    const tt = v.type?.tensor_type;
    if (!v.type || !has(v.type, 'tensor_type') || !tt) throw new FormatError(`importOnnx: the graph input '${name}' is not a tensor`);
    if ((tt.elem_type ?? 0) !== DataType.FLOAT) {
      throw new FormatError(`importOnnx: the graph input '${name}' is ${dataTypeName(tt.elem_type ?? 0)} (simdnet takes FLOAT)`);
    }
    const dims = has(tt, 'shape') && tt.shape ? tt.shape.dim : null;
    const user = this.userShape;
    if (!dims) {
      if (!user) throw new FormatError(`importOnnx: the graph input '${name}' has no shape: give importOnnx an inputShape`);
      this.values.set(name, this.act(0, user));
      return user;
    }
    if (dims.length < 2 || dims.length > 4) {
      throw new FormatError(`importOnnx: the graph input '${name}' has rank ${dims.length} (simdnet takes [N, features], [N, C, L] or [N, C, H, W])`);
    }
    if (user && user.length !== dims.length - 1) {
      throw new FormatError(`importOnnx: inputShape ${fmt(user)} does not fit the graph input '${name}' of rank ${dims.length}`);
    }
    const batch = has(dims[0], 'dim_value') ? int64(dims[0].dim_value) : null;
    if (batch !== null) {
      if (!(Number.isInteger(batch) && batch >= 1 && batch <= MAX_VALUES)) throw new FormatError(`importOnnx: the graph input '${name}' has batch size ${batch}`);
      this.fixedBatch = batch;
    }
    const shape = dims.slice(1).map((d, k) => {
      if (has(d, 'dim_value')) {
        const v = int64(d.dim_value);
        if (!(Number.isInteger(v) && v >= 1 && v <= MAX_SIZE)) throw new FormatError(`importOnnx: the graph input '${name}' has size ${v} in dimension ${k + 1}`);
        if (user && user[k] !== v) throw new FormatError(`importOnnx: inputShape ${fmt(user)} does not fit the graph input '${name}' (size ${v} in dimension ${k + 1})`);
        return v;
      }
      if (user) return user[k];
      throw new FormatError(`importOnnx: the graph input '${name}' has a symbolic size ('${d.dim_param ?? '?'}') in dimension ${k + 1}: ` +
        'simdnet needs a fixed per-sample shape (give importOnnx an inputShape)');
    });
    if (count(shape) > MAX_VALUES) throw new FormatError(`importOnnx: the graph input '${name}' has ${count(shape)} values per sample`);
    this.values.set(name, this.act(0, shape));
    return shape;
  }

  /** Compares a declared graph output type with the shape computed. */
  private checkDeclared(v: ValueInfoMsg, shape: number[], what: string): void {
    const tt = v.type?.tensor_type;
    if (!tt) return;
    if (has(tt, 'elem_type') && tt.elem_type !== DataType.FLOAT) {
      throw new FormatError(`importOnnx: the graph ${what} '${v.name}' is declared ${dataTypeName(tt.elem_type ?? 0)}, but simdnet computes FLOAT`);
    }
    const dims = has(tt, 'shape') && tt.shape ? tt.shape.dim : null;
    if (!dims) return;
    const declared = dims.map((d) => (has(d, 'dim_value') ? int64(d.dim_value) : (d.dim_param || '?')));
    const fits = dims.length === shape.length + 1 && dims.every((d, k) => k === 0 || !has(d, 'dim_value') || int64(d.dim_value) === shape[k - 1]);
    if (!fits) throw new FormatError(`importOnnx: the graph ${what} '${v.name}' is declared ${fmt(declared)}, the layers compute [N, ${shape.join(', ')}]`);
  }

  /** Which nodes the output depends on (walking back from it); also checks every value is defined once. */
  private liveNodes(g: GraphMsg, outName: string): boolean[] {
    const defined = new Set<string>([...this.initializers.keys(), ...this.values.keys()]);
    g.node.forEach((node, i) => {
      for (const o of node.output) {
        if (o === '') continue;
        if (defined.has(o)) throw new FormatError(`importOnnx: ${where(i, node)}: its output '${o}' is defined twice`);
        defined.add(o);
      }
    });
    const needed = new Set<string>([outName]);
    const live = new Array<boolean>(g.node.length).fill(false);
    for (let i = g.node.length - 1; i >= 0; i--) {
      const node = g.node[i];
      if (!node.output.some((o) => o !== '' && needed.has(o))) continue;
      live[i] = true;
      for (const x of node.input) if (x !== '') needed.add(x);
    }
    return live;
  }

  private act(gen: number, shape: number[]): Act {
    return { kind: 'act', gen, shape, poly: null, ops: [], pad: null, fuse: null };
  }

  /** A value by name: a computed one, or an initializer read (and checked) on first use. */
  private value(name: string, n: NodeCtx): Value | undefined {
    if (name === '') return undefined;
    const v = this.values.get(name);
    if (v) return v;
    const t = this.initializers.get(name);
    if (!t) throw new FormatError(`importOnnx: ${n.where}: input '${name}' is not the graph input, an initializer or the output of an earlier node`);
    const c = this.constOf(readTensor(t, `importOnnx: initializer '${name}'`));
    this.values.set(name, c);
    return c;
  }

  private constOf(t: { dims: number[]; floats: Float32Array | null; ints: number[] | null }): Const {
    return { kind: 'const', dims: t.dims, floats: t.floats, ints: t.ints };
  }

  private node(index: number, msg: NodeMsg): void {
    const op = msg.op_type ?? '';
    const w = where(index, msg);
    const domain = msg.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') {
      throw new FormatError(`importOnnx: ${w}: operator ${short(op)} of domain '${short(domain)}' is not supported (only the standard ai.onnx operators are)`);
    }
    if (!Object.prototype.hasOwnProperty.call(OPS, op)) {
      throw new FormatError(`importOnnx: ${w}: operator '${short(op)}' is not supported (simdnet imports ${SUPPORTED.join(', ')})`);
    }
    if (msg.input.length > MAX_LIST || msg.output.length > MAX_LIST) throw new FormatError(`importOnnx: ${w}: has ${msg.input.length} inputs and ${msg.output.length} outputs`);
    const n: NodeCtx = { where: w, op, msg, inputs: [] };
    n.inputs = msg.input.map((name) => this.value(name, n));
    const outs = OPS[op](this, n);
    msg.output.forEach((name, k) => {
      if (name === '') return;
      this.values.set(name, outs[k] ?? { kind: 'unusable', why: `output ${k} of ${op} (${w}) is not supported` });
    });
  }

  // ---- helpers the operators use ---------------------------------------------------------------

  attrs(n: NodeCtx, allowed: Record<string, number>): Attrs { return new Attrs(n.where, n.msg.attribute, allowed); }

  get opsetVersion(): number { return this.opset; }

  arity(n: NodeCtx, min: number, max = min): void {
    const given = n.inputs.length;
    if (given < min || given > max) throw new FormatError(`importOnnx: ${n.where}: has ${given} inputs (${min === max ? min : `${min} to ${max}`} expected)`);
    for (let k = 0; k < min; k++) if (n.inputs[k] === undefined) throw new FormatError(`importOnnx: ${n.where}: input ${k} is missing`);
  }

  /** The current activation, as it is (pending expression, pad and bias kept): refuses constants, stale activations, unusable values. */
  current(v: Value | undefined, n: NodeCtx): Act {
    if (v === undefined) throw new FormatError(`importOnnx: ${n.where}: the activation input is missing`);
    if (v.kind === 'unusable') throw new FormatError(`importOnnx: ${n.where}: reads ${v.why}`);
    if (v.kind === 'const') throw new FormatError(`importOnnx: ${n.where}: ${n.op} of a constant is not supported (its data input must be the activation)`);
    if (v.gen !== this.gen) {
      throw new FormatError(`importOnnx: ${n.where}: the graph is not a chain: it reads an activation that a later layer already consumed ` +
        '(branches, residual connections and multiple uses of a layer output are not supported)');
    }
    return v;
  }

  /** The current activation with any pending expression turned into its layer; a pending Pad only if allowed. */
  take(v: Value | undefined, n: NodeCtx, allowPad = false): Act {
    let a = this.current(v, n);
    if (a.pad && !allowPad && (a.pad[0] || a.pad[1])) {
      throw new FormatError(`importOnnx: ${n.where}: a Pad (zero padding) must be followed by Conv or AveragePool, not ${n.op}`);
    }
    if (a.poly) {
      const r = expr.recognise(a.poly);
      const ops = [...new Set(a.ops)].join(', ');
      if (!r) {
        throw new FormatError(`importOnnx: ${n.where}: the elementwise operators ${ops} before it do not form a function simdnet has a ` +
          'layer for (it recognises Tanh and GELU, in its Erf and Tanh forms)');
      }
      if (r.type === 'identity') a = { ...a, poly: null, ops: [] };
      else if (r.type === 'Tanh') a = this.emit(`${n.where} (${ops})`, { type: 'Tanh' }, {}, a.shape);
      else a = this.emit(`${n.where} (${ops})`, { type: 'GELU', approximate: r.approximate }, {}, a.shape);
    }
    if (!allowPad && a.pad) a = { ...a, pad: null };
    return a;
  }

  /** Appends a layer; its output becomes the activation. */
  emit(w: string, config: LayerConfig, tensors: Spec['tensors'], shape: number[]): Act {
    if (shape.some((d) => !(Number.isInteger(d) && d >= 1 && d <= MAX_VALUES)) || count(shape) > MAX_VALUES) {
      throw new FormatError(`importOnnx: ${w}: output shape [N, ${shape.join(', ')}] is not a size simdnet can hold`);
    }
    this.specs.push({ where: w, config, tensors });
    this.gen++;
    return this.act(this.gen, shape);
  }

  lastSpec(): Spec { return this.specs[this.specs.length - 1]; }
  get specCount(): number { return this.specs.length; }

  constant(v: Value | undefined, n: NodeCtx, what: string): Const {
    if (v === undefined) throw new FormatError(`importOnnx: ${n.where}: ${what} is missing`);
    if (v.kind === 'unusable') throw new FormatError(`importOnnx: ${n.where}: reads ${v.why}`);
    if (v.kind !== 'const') throw new FormatError(`importOnnx: ${n.where}: ${what} must be a constant (an initializer or computed from them), not the activation`);
    return v;
  }

  /** A float constant whose values are finite (a weight, a bias, a statistic). */
  floats(v: Value | undefined, n: NodeCtx, what: string, rank?: number): { dims: number[]; data: Float32Array } {
    const c = this.constant(v, n, what);
    if (!c.floats) throw new FormatError(`importOnnx: ${n.where}: ${what} is an integer tensor (FLOAT expected)`);
    if (rank !== undefined && c.dims.length !== rank) throw new FormatError(`importOnnx: ${n.where}: ${what} has shape ${fmt(c.dims)} (rank ${rank} expected)`);
    for (let i = 0; i < c.floats.length; i++) {
      if (!Number.isFinite(c.floats[i])) throw new FormatError(`importOnnx: ${n.where}: ${what} holds ${c.floats[i]} at index ${i}`);
    }
    return { dims: c.dims, data: c.floats };
  }

  /** A float vector of n values: [n], or a scalar broadcast, or [1, n] / [n, 1, 1] (a bias as Add or Gemm give it). */
  vector(v: Value | undefined, n: NodeCtx, what: string, size: number, trailing = 0): Float32Array | null {
    const c = this.constant(v, n, what);
    if (!c.floats) return null;
    let dims = [...c.dims];
    while (dims.length && dims[0] === 1 && dims.length > 1 + trailing) dims = dims.slice(1);
    const data = this.floats(v, n, what).data;
    if (data.length === 1) return new Float32Array(size).fill(data[0]);
    const want = [size, ...new Array<number>(trailing).fill(1)];
    if (dims.length === want.length && dims.every((d, k) => d === want[k])) return data.slice();
    if (dims.length === 1 && dims[0] === size && trailing === 0) return data.slice();
    return null;
  }

  /** Integers of a constant, refusing the symbolic batch size. */
  ints(v: Value | undefined, n: NodeCtx, what: string): number[] {
    const c = this.constant(v, n, what);
    if (!c.ints) throw new FormatError(`importOnnx: ${n.where}: ${what} must be an integer tensor`);
    if (c.ints.includes('N')) throw new FormatError(`importOnnx: ${n.where}: ${what} depends on the batch size, which simdnet does not fix`);
    return c.ints as number[];
  }

  /** Reshapes the activation to a per-sample shape of the same size: nothing, or a Flatten. */
  reshapeAct(n: NodeCtx, v: Value | undefined, shape: number[]): Act {
    const a = this.take(v, n);
    if (count(shape) !== count(a.shape)) throw new FormatError(`importOnnx: ${n.where}: cannot reshape [N, ${a.shape.join(', ')}] to [N, ${shape.join(', ')}]`);
    if (shape.length === a.shape.length && shape.every((d, k) => d === a.shape[k])) return a;
    if (shape.length === 1) return this.emit(n.where, { type: 'Flatten' }, {}, shape);
    throw new FormatError(`importOnnx: ${n.where}: reshapes [N, ${a.shape.join(', ')}] to [N, ${shape.join(', ')}]; simdnet has no reshape layer, it can only flatten (to [N, -1])`);
  }

  get batch(): number | null { return this.fixedBatch; }
}

/** A name from the file, cut short for a message. */
function short(s: string, max = 60): string { return s.length > max ? `${s.slice(0, max)}...` : s; }

function where(index: number, node: NodeMsg): string {
  return `node ${index}${node.name ? ` '${short(node.name)}'` : ''} (${short(node.op_type ?? '')})`;
}

// ---- operators ---------------------------------------------------------------------------------

type Handler = (g: GraphImporter, n: NodeCtx) => (Value | undefined)[];

/** Strides, dilations and symmetric padding of a 2-d window, as Conv / MaxPool / AveragePool give them. */
function window(n: NodeCtx, at: Attrs, base: number[], kernel: [number, number]): { stride: [number, number]; pads: [number, number]; dilation: [number, number] } {
  const pairOf = (name: string, dflt: number[], min: number): [number, number] => {
    const v = at.ints(name, dflt);
    if (v.length !== 2 || !v.every((x) => x >= min && x <= MAX_SIZE)) throw new FormatError(`importOnnx: ${n.where}: attribute '${name}' is ${fmt(v)} (two sizes expected)`);
    return [v[0], v[1]];
  };
  const stride = pairOf('strides', [1, 1], 1);
  const dilation = pairOf('dilations', [1, 1], 1);
  const autoPad = at.string('auto_pad', 'NOTSET');
  let pads: [number, number];
  if (autoPad === 'NOTSET') {
    const p = at.ints('pads', [0, 0, 0, 0]);
    if (p.length !== 4 || !p.every((x) => x >= 0 && x <= MAX_SIZE)) throw new FormatError(`importOnnx: ${n.where}: attribute 'pads' is ${fmt(p)}`);
    if (p[0] !== p[2] || p[1] !== p[3]) throw new FormatError(`importOnnx: ${n.where}: attribute 'pads' ${fmt(p)} is asymmetric (simdnet pads both sides alike)`);
    pads = [p[0], p[1]];
  } else if (autoPad === 'VALID') {
    pads = [0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const padFor = (axis: number): number => {
      const size = base[axis + 1], s = stride[axis];
      const total = Math.max(0, (Math.ceil(size / s) - 1) * s + (kernel[axis] - 1) * dilation[axis] + 1 - size);
      if (total % 2) throw new FormatError(`importOnnx: ${n.where}: auto_pad ${autoPad} pads one side more than the other here (simdnet pads both sides alike)`);
      return total / 2;
    };
    pads = [padFor(0), padFor(1)];
  } else {
    throw new FormatError(`importOnnx: ${n.where}: attribute 'auto_pad' is '${autoPad.slice(0, 40)}'`);
  }
  return { stride, pads, dilation };
}

/** Output [C, oh, ow] of a 2-d window; ceil_mode 1 only where it gives the same sizes as floor. */
function windowOutput(n: NodeCtx, at: Attrs, base: number[], kernel: [number, number], stride: [number, number], pads: [number, number], dilation: [number, number]): number[] {
  const ceil = at.int('ceil_mode', 0);
  if (ceil !== 0 && ceil !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'ceil_mode' is ${ceil}`);
  const sizes = [0, 1].map((k) => {
    const size = base[k + 1];
    const out = guard(n.where, () => outSize(n.op, base, k ? 'width' : 'height', size, kernel[k], stride[k], pads[k], dilation[k]));
    if (ceil && (size + 2 * pads[k] - dilation[k] * (kernel[k] - 1) - 1) % stride[k] !== 0) {
      throw new FormatError(`importOnnx: ${n.where}: ceil_mode 1 is not supported here (it changes the output size; simdnet's pooling rounds down)`);
    }
    return out;
  });
  return [base[0], sizes[0], sizes[1]];
}

function spatialInput(n: NodeCtx, a: Act): number[] {
  if (a.shape.length !== 3) {
    throw new FormatError(`importOnnx: ${n.where}: takes an input [N, C, H, W], got [N, ${a.shape.join(', ')}] (only 2-d convolution and pooling are supported)`);
  }
  const pad = a.pad ?? [0, 0];
  return [a.shape[0], a.shape[1] - 2 * pad[0], a.shape[2] - 2 * pad[1]];
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Elementwise arithmetic of two constants (integers, with the batch size N refused, or floats). */
function foldConstants(n: NodeCtx, op: string, a: Const, b: Const): Const {
  const ca = count(a.dims), cb = count(b.dims);
  let dims: number[];
  if (a.dims.length === b.dims.length && a.dims.every((d, k) => d === b.dims[k])) dims = a.dims;
  else if (ca === 1 && a.dims.length <= b.dims.length) dims = b.dims;
  else if (cb === 1 && b.dims.length <= a.dims.length) dims = a.dims;
  else throw new FormatError(`importOnnx: ${n.where}: ${op} of constants of shapes ${fmt(a.dims)} and ${fmt(b.dims)} is not supported`);
  const size = count(dims);
  const at = (c: Const, i: number): Int => {
    const k = count(c.dims) === 1 ? 0 : i;
    return c.floats ? c.floats[k] : c.ints![k];
  };
  const f = (x: number, y: number): number => {
    switch (op) {
      case 'Add': return x + y;
      case 'Sub': return x - y;
      case 'Mul': return x * y;
      case 'Div': return x / y;
      default: return x ** y;
    }
  };
  if (a.ints && b.ints) {
    const ints = new Array<number>(size);
    for (let i = 0; i < size; i++) {
      const x = at(a, i), y = at(b, i);
      if (x === 'N' || y === 'N') throw new FormatError(`importOnnx: ${n.where}: ${op} of the batch size is not supported (simdnet does not fix it)`);
      if (op === 'Div' && y === 0) throw new FormatError(`importOnnx: ${n.where}: integer division by zero`);
      const r = op === 'Div' ? Math.trunc(x / y) : f(x, y);
      if (!Number.isSafeInteger(r)) throw new FormatError(`importOnnx: ${n.where}: ${op} gives ${r}`);
      ints[i] = r;
    }
    return { kind: 'const', dims, floats: null, ints };
  }
  const floats = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const x = at(a, i), y = at(b, i);
    if (x === 'N' || y === 'N') throw new FormatError(`importOnnx: ${n.where}: ${op} of the batch size is not supported (simdnet does not fix it)`);
    floats[i] = f(x, y);
  }
  return { kind: 'const', dims, floats, ints: null };
}

function binary(g: GraphImporter, n: NodeCtx): Value[] {
  g.attrs(n, {});
  g.arity(n, 2);
  const [a, b] = n.inputs as Value[];
  const op = n.op;
  for (const v of [a, b]) if (v.kind === 'unusable') throw new FormatError(`importOnnx: ${n.where}: reads ${v.why}`);
  if (a.kind === 'const' && b.kind === 'const') return [foldConstants(n, op, a, b)];
  if (a.kind === 'act' && b.kind === 'act') {
    const x = g.current(a, n), y = g.current(b, n);
    if (x.pad || y.pad) throw new FormatError(`importOnnx: ${n.where}: ${op} after a Pad is not supported`);
    if (op === 'Div' || op === 'Pow') throw new FormatError(`importOnnx: ${n.where}: ${op} by the activation is not supported`);
    const p = x.poly ?? expr.X, q = y.poly ?? expr.X;
    const ops = [...x.ops, ...y.ops, op].join(', ');
    const poly = op === 'Add' ? expr.add(p, q, ops) : op === 'Sub' ? expr.add(p, expr.scale(q, -1, ops), ops) : expr.mul(p, q, ops);
    return [{ ...x, poly, ops: [...x.ops, ...y.ops, op], fuse: null }];
  }
  const actFirst = a.kind === 'act';
  const x = g.current(actFirst ? a : b, n);
  const c = g.constant(actFirst ? b : a, n, 'the other operand');
  if (x.pad) throw new FormatError(`importOnnx: ${n.where}: ${op} after a Pad is not supported`);
  // a bias after a MatMul / Gemm / Conv without one
  if (op === 'Add' && x.fuse !== null && x.poly === null && c.floats) {
    const spec = g.lastSpec();
    const linear = spec.config.type === 'Linear';
    const size = linear ? (spec.config.outFeatures as number) : (spec.config.outChannels as number);
    if (c.dims.length <= 1 + x.shape.length) {
      const bias = g.vector(c, n, 'the bias', size, linear ? 0 : 2);
      if (bias) {
        spec.config.bias = true;
        spec.tensors.bias = { data: bias, shape: [size] };
        spec.where += ` + ${n.where}`;
        return [{ ...x, fuse: null }];
      }
    }
  }
  if (count(c.dims) !== 1 || c.dims.length > 1 + x.shape.length) {
    throw new FormatError(`importOnnx: ${n.where}: ${op} of the activation and a tensor of shape ${fmt(c.dims)} is not supported ` +
      '(only scalars, or a bias right after MatMul, Gemm or Conv)');
  }
  const k0 = c.floats ? c.floats[0] : c.ints![0];
  if (k0 === 'N' || !Number.isFinite(k0)) throw new FormatError(`importOnnx: ${n.where}: ${op} by ${k0} is not supported`);
  const k = k0;
  const ops = [...x.ops, op];
  const opsText = ops.join(', ');
  const p = x.poly ?? expr.X;
  let poly: expr.Poly;
  switch (op) {
    case 'Add': poly = expr.add(p, expr.constant(k), opsText); break;
    case 'Sub': poly = actFirst ? expr.add(p, expr.constant(-k), opsText) : expr.add(expr.constant(k), expr.scale(p, -1, opsText), opsText); break;
    case 'Mul': poly = expr.scale(p, k, opsText); break;
    case 'Div':
      if (!actFirst) throw new FormatError(`importOnnx: ${n.where}: Div by the activation is not supported`);
      if (k === 0) throw new FormatError(`importOnnx: ${n.where}: Div of the activation by 0`);
      poly = expr.scale(p, 1 / k, opsText);
      break;
    default:
      if (!actFirst) throw new FormatError(`importOnnx: ${n.where}: Pow with the activation as the exponent is not supported`);
      poly = expr.pow(p, k, opsText);
  }
  return [{ ...x, poly, ops, fuse: null }];
}

function unaryExpr(g: GraphImporter, n: NodeCtx): Value[] {
  g.attrs(n, {});
  g.arity(n, 1);
  const x = g.current(n.inputs[0], n);
  if (x.pad) throw new FormatError(`importOnnx: ${n.where}: ${n.op} after a Pad is not supported`);
  const ops = [...x.ops, n.op];
  const p = x.poly ?? expr.X;
  const poly = n.op === 'Neg' ? expr.scale(p, -1, ops.join(', ')) : expr.fn(n.op as 'Erf' | 'Tanh', p, ops.join(', '));
  return [{ ...x, poly, ops, fuse: null }];
}

function pointwise(type: string, config: (g: GraphImporter, n: NodeCtx) => Record<string, unknown> = () => ({})): Handler {
  return (g, n) => {
    const extra = config(g, n);
    g.arity(n, 1);
    const x = g.take(n.inputs[0], n);
    return [g.emit(n.where, { type, ...extra }, {}, x.shape)];
  };
}

function softmaxLike(type: 'Softmax' | 'LogSoftmax'): Handler {
  return (g, n) => {
    const at = g.attrs(n, { axis: I });
    g.arity(n, 1);
    const x = g.take(n.inputs[0], n);
    const axis = at.int('axis', g.opsetVersion < 13 ? 1 : -1);
    if (x.shape.length !== 1) {
      throw new FormatError(`importOnnx: ${n.where}: ${type} of an input [N, ${x.shape.join(', ')}] is not supported (simdnet's takes [N, classes]; flatten first)`);
    }
    if (axis !== 1 && axis !== -1) throw new FormatError(`importOnnx: ${n.where}: attribute 'axis' = ${axis} is not supported (the class axis, 1 or -1, is)`);
    return [g.emit(n.where, { type, dim: axis }, {}, x.shape)];
  };
}

function globalPool(type: 'AvgPool2d' | 'MaxPool2d'): Handler {
  return (g, n) => {
    g.attrs(n, {});
    g.arity(n, 1);
    const x = g.take(n.inputs[0], n);
    const [c, h, w] = spatialInput(n, x);
    const config: LayerConfig = { type, kernelSize: [h, w], stride: [h, w], padding: [0, 0] };
    if (type === 'AvgPool2d') config.countIncludePad = true;
    return [g.emit(n.where, config, {}, [c, 1, 1])];
  };
}

/** Per-sample shape for an Unsqueeze / Squeeze of the batch-first full shape, or of a constant's dims. */
function axesOf(g: GraphImporter, n: NodeCtx, at: Attrs): number[] | null {
  if (g.opsetVersion < 13) return at.has('axes') ? at.ints('axes') : null;
  if (n.inputs[1] === undefined) return null;
  const axes = g.ints(n.inputs[1], n, 'axes');
  if (axes.length > MAX_LIST) throw new FormatError(`importOnnx: ${n.where}: ${axes.length} axes`);
  return axes;
}

function normalise(n: NodeCtx, axes: number[], rank: number): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  if (!out.every((a) => a >= 0 && a < rank) || new Set(out).size !== out.length) {
    throw new FormatError(`importOnnx: ${n.where}: axes ${fmt(axes)} do not fit rank ${rank}`);
  }
  return out;
}

const OPS: Record<string, Handler> = {
  Constant(g, n) {
    const at = g.attrs(n, { value: T, value_float: F, value_floats: FS, value_int: I, value_ints: IS });
    g.arity(n, 0);
    const given = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'].filter((k) => at.has(k));
    if (given.length !== 1) throw new FormatError(`importOnnx: ${n.where}: a Constant needs exactly one value attribute, it has ${given.length}`);
    switch (given[0]) {
      case 'value': {
        const t = readTensor(at.tensor('value'), `importOnnx: ${n.where}: attribute 'value'`);
        return [{ kind: 'const', dims: t.dims, floats: t.floats, ints: t.ints }];
      }
      case 'value_float': return [{ kind: 'const', dims: [], floats: Float32Array.of(at.float('value_float')), ints: null }];
      case 'value_floats': { const v = at.floats('value_floats'); return [{ kind: 'const', dims: [v.length], floats: Float32Array.from(v), ints: null }]; }
      case 'value_int': return [{ kind: 'const', dims: [], floats: null, ints: [at.int('value_int')] }];
      default: { const v = at.ints('value_ints'); return [{ kind: 'const', dims: [v.length], floats: null, ints: v }]; }
    }
  },

  Identity(g, n) {
    g.attrs(n, {});
    g.arity(n, 1);
    return [n.inputs[0]];
  },

  Cast(g, n) {
    const at = g.attrs(n, { to: I, saturate: I });
    g.arity(n, 1);
    const to = at.int('to');
    const v = n.inputs[0]!;
    const toFloat = to === DataType.FLOAT || to === DataType.DOUBLE;
    const toInt = to === DataType.INT64 || to === DataType.INT32;
    if (!toFloat && !toInt) throw new FormatError(`importOnnx: ${n.where}: Cast to ${dataTypeName(to)} is not supported`);
    if (v.kind !== 'const') {
      if (toFloat) return [g.current(v, n)];
      throw new FormatError(`importOnnx: ${n.where}: Cast of the activation to ${dataTypeName(to)} is not supported`);
    }
    if (toFloat) {
      if (v.floats) return [v];
      if (v.ints!.includes('N')) throw new FormatError(`importOnnx: ${n.where}: Cast of the batch size to a float is not supported`);
      return [{ kind: 'const', dims: v.dims, floats: Float32Array.from(v.ints as number[]), ints: null }];
    }
    if (v.ints) return [v];
    if (v.floats!.length > MAX_INT_ELEMENTS) throw new FormatError(`importOnnx: ${n.where}: Cast of ${v.floats!.length} values to integers`);
    const ints = Array.from(v.floats!, (x) => Math.trunc(x));
    if (!ints.every(Number.isSafeInteger)) throw new FormatError(`importOnnx: ${n.where}: Cast of a non-finite value to an integer`);
    return [{ kind: 'const', dims: v.dims, floats: null, ints }];
  },

  Shape(g, n) {
    const at = g.attrs(n, g.opsetVersion >= 15 ? { start: I, end: I } : {});
    g.arity(n, 1);
    const v = n.inputs[0]!;
    if (v.kind === 'unusable') throw new FormatError(`importOnnx: ${n.where}: reads ${v.why}`);
    const full: Int[] = v.kind === 'act' ? ['N', ...v.shape] : v.dims;
    const r = full.length;
    const clamp = (x: number) => Math.min(r, Math.max(0, x < 0 ? x + r : x));
    const start = clamp(at.int('start', 0)), end = clamp(at.int('end', r));
    const ints = full.slice(start, Math.max(start, end));
    return [{ kind: 'const', dims: [ints.length], floats: null, ints }];
  },

  Gather(g, n) {
    const at = g.attrs(n, { axis: I });
    g.arity(n, 2);
    const data = g.constant(n.inputs[0], n, 'the data');
    const idx = g.constant(n.inputs[1], n, 'the indices');
    const indices = g.ints(idx, n, 'the indices');
    const axis = at.int('axis', 0);
    if (data.dims.length !== 1 || (axis !== 0 && axis !== -1)) {
      throw new FormatError(`importOnnx: ${n.where}: Gather is supported on a vector (shape arithmetic), not on shape ${fmt(data.dims)} along axis ${axis}`);
    }
    const len = data.dims[0];
    const pick = indices.map((i) => {
      const k = i < 0 ? i + len : i;
      if (!(k >= 0 && k < len)) throw new FormatError(`importOnnx: ${n.where}: index ${i} is out of range for length ${len}`);
      return k;
    });
    if (data.ints) return [{ kind: 'const', dims: idx.dims, floats: null, ints: pick.map((k) => data.ints![k]) }];
    return [{ kind: 'const', dims: idx.dims, floats: Float32Array.from(pick, (k) => data.floats![k]), ints: null }];
  },

  Unsqueeze(g, n) {
    const at = g.attrs(n, g.opsetVersion < 13 ? { axes: IS } : {});
    g.arity(n, g.opsetVersion < 13 ? 1 : 2);
    const axes = axesOf(g, n, at);
    if (!axes) throw new FormatError(`importOnnx: ${n.where}: Unsqueeze needs axes`);
    const v = n.inputs[0]!;
    const inner = v.kind === 'act' ? ['N' as Int, ...v.shape] : v.kind === 'const' ? v.dims : null;
    if (!inner) return [g.current(v, n)];
    const rank = inner.length + axes.length;
    if (rank > MAX_RANK) throw new FormatError(`importOnnx: ${n.where}: Unsqueeze to rank ${rank}`);
    const norm = new Set(normalise(n, axes, rank));
    const out: Int[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(norm.has(i) ? 1 : inner[k++]);
    if (v.kind === 'const') return [{ ...v, dims: out as number[] }];
    if (out[0] !== 'N') throw new FormatError(`importOnnx: ${n.where}: Unsqueeze before the batch axis is not supported`);
    return [g.reshapeAct(n, v, out.slice(1) as number[])];
  },

  Squeeze(g, n) {
    const at = g.attrs(n, g.opsetVersion < 13 ? { axes: IS } : {});
    g.arity(n, 1, g.opsetVersion < 13 ? 1 : 2);
    const axes = axesOf(g, n, at);
    const v = n.inputs[0]!;
    const full = v.kind === 'act' ? ['N' as Int, ...v.shape] : v.kind === 'const' ? v.dims : null;
    if (!full) return [g.current(v, n)];
    const drop = axes ? new Set(normalise(n, axes, full.length)) : new Set(full.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0));
    for (const i of drop) {
      if (full[i] !== 1) throw new FormatError(`importOnnx: ${n.where}: Squeeze of axis ${i}, of size ${full[i]}`);
    }
    const out = full.filter((_, i) => !drop.has(i));
    if (v.kind === 'const') return [{ ...v, dims: out as number[] }];
    if (out[0] !== 'N') throw new FormatError(`importOnnx: ${n.where}: Squeeze of the batch axis is not supported`);
    return [g.reshapeAct(n, v, out.slice(1) as number[])];
  },

  Concat(g, n) {
    const at = g.attrs(n, { axis: I });
    if (n.inputs.length < 1 || n.inputs.includes(undefined)) throw new FormatError(`importOnnx: ${n.where}: Concat needs its inputs`);
    const axis = at.int('axis');
    const parts = n.inputs.map((v, k) => g.constant(v, n, `input ${k}`));
    if ((axis !== 0 && axis !== -1) || !parts.every((p) => p.dims.length === 1)) {
      throw new FormatError(`importOnnx: ${n.where}: Concat is supported for vectors (shape arithmetic), not of shapes ${parts.map((p) => fmt(p.dims)).join(', ')} along axis ${axis}`);
    }
    const total = parts.reduce((s, p) => s + p.dims[0], 0);
    if (total > MAX_INT_ELEMENTS) throw new FormatError(`importOnnx: ${n.where}: Concat of ${total} values`);
    if (parts.every((p) => p.ints)) return [{ kind: 'const', dims: [total], floats: null, ints: parts.flatMap((p) => p.ints!) }];
    if (parts.every((p) => p.floats)) {
      const floats = new Float32Array(total);
      let at0 = 0;
      for (const p of parts) { floats.set(p.floats!, at0); at0 += p.floats!.length; }
      return [{ kind: 'const', dims: [total], floats, ints: null }];
    }
    throw new FormatError(`importOnnx: ${n.where}: Concat of integer and float tensors`);
  },

  Reshape(g, n) {
    const at = g.attrs(n, g.opsetVersion >= 14 ? { allowzero: I } : {});
    g.arity(n, 2);
    const target = g.constant(n.inputs[1], n, 'the shape');
    if (!target.ints || target.dims.length !== 1 || target.ints.length > MAX_RANK) throw new FormatError(`importOnnx: ${n.where}: the shape must be a vector of at most ${MAX_RANK} integers`);
    const allowzero = at.int('allowzero', 0);
    const v = n.inputs[0]!;
    if (v.kind === 'unusable') throw new FormatError(`importOnnx: ${n.where}: reads ${v.why}`);
    const full: Int[] = v.kind === 'act' ? ['N', ...v.shape] : v.dims;
    const size = v.kind === 'act' ? count(v.shape) : count(v.dims);
    const t = target.ints.map((d, i): Int => {
      if (d === 0 && !allowzero) {
        if (i >= full.length) throw new FormatError(`importOnnx: ${n.where}: shape ${fmt(target.ints!)} copies a dimension the input does not have`);
        return full[i];
      }
      if (d === 'N') {
        if (i !== 0) throw new FormatError(`importOnnx: ${n.where}: shape ${fmt(target.ints!)} moves the batch size away from the first axis`);
        return d;
      }
      if (!(d === -1 || (d >= 1 && d <= MAX_VALUES))) throw new FormatError(`importOnnx: ${n.where}: shape ${fmt(target.ints!)} has the size ${d}`);
      return d;
    });
    if (t.filter((d) => d === -1).length > 1) throw new FormatError(`importOnnx: ${n.where}: shape ${fmt(target.ints)} has more than one -1`);
    if (v.kind === 'const') {
      if (t.includes('N')) throw new FormatError(`importOnnx: ${n.where}: Reshape of a constant by the batch size`);
      const known = count(t.filter((d) => d !== -1) as number[]);
      const dims = (t as number[]).map((d) => (d === -1 ? (known ? size / known : NaN) : d));
      if (!dims.every((d) => Number.isInteger(d) && d >= 0) || count(dims) !== size) throw new FormatError(`importOnnx: ${n.where}: cannot reshape ${fmt(v.dims)} to ${fmt(target.ints)}`);
      return [{ ...v, dims }];
    }
    if (t.length < 2) throw new FormatError(`importOnnx: ${n.where}: Reshape to ${fmt(target.ints)} merges the batch axis into the sample (not supported)`);
    const [first, ...rest] = t;
    const fixed = g.batch;
    const restKnown = rest.every((d) => d !== -1 && d !== 'N');
    if (!(first === 'N' || (first === -1 && restKnown) || (fixed !== null && first === fixed))) {
      throw new FormatError(`importOnnx: ${n.where}: Reshape to ${fmt(target.ints)} does not keep the batch size on the first axis`);
    }
    const known = count(rest.filter((d) => d !== -1) as number[]);
    const shape = (rest as number[]).map((d) => (d === -1 ? size / known : d));
    if (!shape.every((d) => Number.isInteger(d) && d >= 1) || count(shape) !== size) {
      throw new FormatError(`importOnnx: ${n.where}: cannot reshape [N, ${v.shape.join(', ')}] to ${fmt(target.ints)}`);
    }
    return [g.reshapeAct(n, v, shape)];
  },

  Flatten(g, n) {
    const at = g.attrs(n, { axis: I });
    g.arity(n, 1);
    const v = n.inputs[0]!;
    const axis0 = at.int('axis', 1);
    if (v.kind === 'const') {
      const r = v.dims.length, axis = axis0 < 0 ? axis0 + r : axis0;
      if (!(axis >= 0 && axis <= r)) throw new FormatError(`importOnnx: ${n.where}: attribute 'axis' = ${axis0} for rank ${r}`);
      return [{ ...v, dims: [count(v.dims.slice(0, axis)), count(v.dims.slice(axis))] }];
    }
    const x = g.take(v, n);
    const r = 1 + x.shape.length, axis = axis0 < 0 ? axis0 + r : axis0;
    if (axis !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'axis' = ${axis0} is not supported (only 1: flatten each sample)`);
    return [g.emit(n.where, { type: 'Flatten' }, {}, [count(x.shape)])];
  },

  Gemm(g, n) {
    const at = g.attrs(n, { alpha: F, beta: F, transA: I, transB: I });
    g.arity(n, 2, 3);
    const x = g.take(n.inputs[0], n);
    if (x.shape.length !== 1) throw new FormatError(`importOnnx: ${n.where}: Gemm takes [N, features], got [N, ${x.shape.join(', ')}] (flatten first)`);
    const alpha = at.float('alpha', 1), beta = at.float('beta', 1), transA = at.int('transA', 0), transB = at.int('transB', 0);
    if (alpha !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'alpha' = ${alpha} is not supported (only 1)`);
    if (transA !== 0) throw new FormatError(`importOnnx: ${n.where}: attribute 'transA' = ${transA} is not supported (only 0: the input is [N, features])`);
    if (transB !== 0 && transB !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'transB' = ${transB}`);
    const w = g.floats(n.inputs[1], n, 'the weight B', 2);
    const [outF, inF] = transB ? w.dims : [w.dims[1], w.dims[0]];
    if (inF !== x.shape[0]) throw new FormatError(`importOnnx: ${n.where}: weight B of shape ${fmt(w.dims)} (transB ${transB}) does not take ${x.shape[0]} features`);
    const weight = transB ? w.data.slice() : transpose(w.data, w.dims[0], w.dims[1]);
    const tensors: Spec['tensors'] = { weight: { data: weight, shape: [outF, inF] } };
    if (n.inputs[2] !== undefined) {
      if (g.constant(n.inputs[2], n, 'the bias C').dims.length > 2) throw new FormatError(`importOnnx: ${n.where}: bias C has rank ${g.constant(n.inputs[2], n, 'C').dims.length}`);
      if (beta !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'beta' = ${beta} is not supported (only 1)`);
      const bias = g.vector(n.inputs[2], n, 'the bias C', outF);
      if (!bias) throw new FormatError(`importOnnx: ${n.where}: bias C of shape ${fmt(g.constant(n.inputs[2], n, 'C').dims)} is not a vector of ${outF}`);
      tensors.bias = { data: bias, shape: [outF] };
    }
    const out = g.emit(n.where, { type: 'Linear', inFeatures: inF, outFeatures: outF, bias: !!tensors.bias }, tensors, [outF]);
    return [tensors.bias ? out : { ...out, fuse: g.specCount - 1 }];
  },

  MatMul(g, n) {
    g.attrs(n, {});
    g.arity(n, 2);
    const x = g.take(n.inputs[0], n);
    if (x.shape.length !== 1) throw new FormatError(`importOnnx: ${n.where}: MatMul is supported on [N, features], got [N, ${x.shape.join(', ')}]`);
    const w = g.floats(n.inputs[1], n, 'the weight', 2);
    const [inF, outF] = w.dims;
    if (inF !== x.shape[0]) throw new FormatError(`importOnnx: ${n.where}: weight of shape ${fmt(w.dims)} does not take ${x.shape[0]} features`);
    const out = g.emit(n.where, { type: 'Linear', inFeatures: inF, outFeatures: outF, bias: false },
      { weight: { data: transpose(w.data, inF, outF), shape: [outF, inF] } }, [outF]);
    return [{ ...out, fuse: g.specCount - 1 }];
  },

  Add: binary, Sub: binary, Mul: binary, Div: binary, Pow: binary,
  Neg: unaryExpr, Erf: unaryExpr, Tanh: unaryExpr,

  Relu: pointwise('ReLU', (g, n) => { g.attrs(n, {}); return {}; }),
  Sigmoid: pointwise('Sigmoid', (g, n) => { g.attrs(n, {}); return {}; }),
  LeakyRelu: pointwise('LeakyReLU', (g, n) => ({ negativeSlope: shortest(g.attrs(n, { alpha: F }).float('alpha', 0.01)) })),
  Gelu: pointwise('GELU', (g, n) => {
    const approximate = g.attrs(n, { approximate: S }).string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') throw new FormatError(`importOnnx: ${n.where}: attribute 'approximate' = '${approximate.slice(0, 40)}'`);
    return { approximate };
  }),
  Softmax: softmaxLike('Softmax'),
  LogSoftmax: softmaxLike('LogSoftmax'),

  Dropout(g, n) {
    const old = g.opsetVersion < 12;
    const at = g.attrs(n, old ? { ratio: F, seed: I } : { seed: I });
    g.arity(n, 1, old ? 1 : 3);
    const x = g.take(n.inputs[0], n);
    let p = 0.5;
    if (old) p = at.float('ratio', 0.5);
    else if (n.inputs[1] !== undefined) {
      const r = g.floats(n.inputs[1], n, 'the ratio');
      if (r.data.length !== 1) throw new FormatError(`importOnnx: ${n.where}: the ratio must be a scalar`);
      p = r.data[0];
    }
    if (n.inputs[2] !== undefined) {
      const mode = g.ints(n.inputs[2], n, 'training_mode');
      if (mode.length !== 1 || mode[0] !== 0) throw new FormatError(`importOnnx: ${n.where}: Dropout with training_mode true is not supported (an inference graph has it false)`);
    }
    if (!(p >= 0 && p < 1)) throw new FormatError(`importOnnx: ${n.where}: ratio ${p} is not in [0, 1)`);
    return [g.emit(n.where, { type: 'Dropout', p: shortest(p) }, {}, x.shape), { kind: 'unusable', why: `the mask output of Dropout (${n.where}), which is not supported` }];
  },

  Pad(g, n) {
    const old = g.opsetVersion < 11;
    const at = g.attrs(n, old ? { mode: S, pads: IS, value: F } : { mode: S });
    g.arity(n, old ? 1 : 2, old ? 1 : 4);
    const x = g.take(n.inputs[0], n, true);
    if (x.shape.length !== 3) throw new FormatError(`importOnnx: ${n.where}: Pad is supported on [N, C, H, W] before Conv or AveragePool, got [N, ${x.shape.join(', ')}]`);
    const mode = at.string('mode', 'constant');
    if (mode !== 'constant') throw new FormatError(`importOnnx: ${n.where}: Pad mode '${mode.slice(0, 40)}' is not supported (only 'constant', with zeros)`);
    let pads: number[], value = 0;
    if (old) {
      pads = at.ints('pads');
      value = at.float('value', 0);
    } else {
      pads = g.ints(n.inputs[1], n, 'the pads');
      if (n.inputs[2] !== undefined) {
        const c = g.constant(n.inputs[2], n, 'the constant value');
        if (count(c.dims) !== 1) throw new FormatError(`importOnnx: ${n.where}: the constant value must be a scalar`);
        value = c.floats ? c.floats[0] : Number(c.ints![0]);
      }
    }
    let axes = [0, 1, 2, 3];
    if (!old && n.inputs[3] !== undefined) axes = normalise(n, g.ints(n.inputs[3], n, 'the axes'), 4);
    if (value !== 0) throw new FormatError(`importOnnx: ${n.where}: Pad with the value ${value} is not supported (only zeros)`);
    if (pads.length !== 2 * axes.length) throw new FormatError(`importOnnx: ${n.where}: ${pads.length} pads for ${axes.length} axes`);
    const begin = [0, 0, 0, 0], end = [0, 0, 0, 0];
    axes.forEach((a, k) => { begin[a] = pads[k]; end[a] = pads[k + axes.length]; });
    if (begin[0] || end[0] || begin[1] || end[1]) throw new FormatError(`importOnnx: ${n.where}: Pad of the batch or channel axis is not supported`);
    if (begin[2] !== end[2] || begin[3] !== end[3] || !begin.every((p) => p >= 0 && p <= MAX_SIZE)) {
      throw new FormatError(`importOnnx: ${n.where}: pads ${fmt(pads)} are not the same on both sides of each spatial axis (or are negative)`);
    }
    const before = x.pad ?? [0, 0];
    const pad: [number, number] = [before[0] + begin[2], before[1] + begin[3]];
    return [{ ...x, pad, shape: [x.shape[0], x.shape[1] + 2 * begin[2], x.shape[2] + 2 * begin[3]], fuse: null }];
  },

  Conv(g, n) {
    const at = g.attrs(n, { auto_pad: S, dilations: IS, group: I, kernel_shape: IS, pads: IS, strides: IS });
    g.arity(n, 2, 3);
    const x = g.take(n.inputs[0], n, true);
    const base = spatialInput(n, x);
    const w = g.floats(n.inputs[1], n, 'the weight');
    if (w.dims.length !== 4) throw new FormatError(`importOnnx: ${n.where}: weight of shape ${fmt(w.dims)} (only 2-d convolution, [out, in, kh, kw], is supported)`);
    const group = at.int('group', 1);
    if (group !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'group' = ${group} is not supported (only 1: no grouped or depthwise convolution)`);
    const [outC, inC, kh, kw] = w.dims;
    if (inC !== base[0]) throw new FormatError(`importOnnx: ${n.where}: weight of shape ${fmt(w.dims)} does not take ${base[0]} channels`);
    if (at.has('kernel_shape')) {
      const k = at.ints('kernel_shape');
      if (k.length !== 2 || k[0] !== kh || k[1] !== kw) throw new FormatError(`importOnnx: ${n.where}: attribute 'kernel_shape' ${fmt(k)} does not match the weight ${fmt(w.dims)}`);
    }
    const { stride, pads, dilation } = window(n, at, base, [kh, kw]);
    const pad = x.pad ?? [0, 0];
    const padding: [number, number] = [pads[0] + pad[0], pads[1] + pad[1]];
    const out = [outC, ...windowOutput(n, at0(), base, [kh, kw], stride, padding, dilation).slice(1)];
    const tensors: Spec['tensors'] = { weight: { data: w.data.slice(), shape: [...w.dims] } };
    if (n.inputs[2] !== undefined) {
      const bias = g.vector(n.inputs[2], n, 'the bias', outC);
      if (!bias) throw new FormatError(`importOnnx: ${n.where}: the bias is not a vector of ${outC}`);
      tensors.bias = { data: bias, shape: [outC] };
    }
    const layer = g.emit(n.where, {
      type: 'Conv2d', inChannels: inC, outChannels: outC, kernelSize: [kh, kw], stride, padding, dilation, bias: !!tensors.bias,
    }, tensors, out);
    return [tensors.bias ? layer : { ...layer, fuse: g.specCount - 1 }];
  },

  MaxPool(g, n) {
    const at = g.attrs(n, { auto_pad: S, ceil_mode: I, dilations: IS, kernel_shape: IS, pads: IS, storage_order: I, strides: IS });
    g.arity(n, 1);
    const x = g.take(n.inputs[0], n);
    const base = spatialInput(n, x);
    const kernel = kernelOf(n, at);
    const { stride, pads, dilation } = window(n, at, base, kernel);
    if (dilation[0] !== 1 || dilation[1] !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'dilations' ${fmt(dilation)} is not supported (only 1)`);
    const out = windowOutput(n, at, base, kernel, stride, pads, dilation);
    return [g.emit(n.where, { type: 'MaxPool2d', kernelSize: kernel, stride, padding: pads }, {}, out),
      { kind: 'unusable', why: `the Indices output of MaxPool (${n.where}), which is not supported` }];
  },

  AveragePool(g, n) {
    const at = g.attrs(n, { auto_pad: S, ceil_mode: I, count_include_pad: I, dilations: IS, kernel_shape: IS, pads: IS, strides: IS });
    g.arity(n, 1);
    const x = g.take(n.inputs[0], n, true);
    const base = spatialInput(n, x);
    const kernel = kernelOf(n, at);
    const { stride, pads, dilation } = window(n, at, base, kernel);
    if (dilation[0] !== 1 || dilation[1] !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'dilations' ${fmt(dilation)} is not supported (only 1)`);
    const cip = at.int('count_include_pad', 0);
    if (cip !== 0 && cip !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'count_include_pad' = ${cip}`);
    let padding = pads, countIncludePad = cip === 1;
    if (x.pad) {
      // an explicit Pad's zeros are data: they count (PyTorch exports count_include_pad=True this way)
      if ((pads[0] || pads[1]) && !countIncludePad) throw new FormatError(`importOnnx: ${n.where}: a Pad before an AveragePool with pads of its own and count_include_pad 0 is not supported`);
      padding = [pads[0] + x.pad[0], pads[1] + x.pad[1]];
      countIncludePad = true;
    }
    const out = windowOutput(n, at, base, kernel, stride, padding, dilation);
    return [g.emit(n.where, { type: 'AvgPool2d', kernelSize: kernel, stride, padding, countIncludePad }, {}, out)];
  },

  GlobalAveragePool: globalPool('AvgPool2d'),
  GlobalMaxPool: globalPool('MaxPool2d'),

  BatchNormalization(g, n) {
    const opset = g.opsetVersion;
    const allowed: Record<string, number> = { epsilon: F, momentum: F };
    if (opset < 9) allowed.spatial = I;
    if (opset >= 14) allowed.training_mode = I;
    const at = g.attrs(n, allowed);
    g.arity(n, 5);
    const x = g.take(n.inputs[0], n);
    if (at.int('spatial', 1) !== 1) throw new FormatError(`importOnnx: ${n.where}: attribute 'spatial' = 0 is not supported`);
    if (at.int('training_mode', 0) !== 0) throw new FormatError(`importOnnx: ${n.where}: attribute 'training_mode' = 1 is not supported (an inference graph uses the running statistics)`);
    if (x.shape.length > 3) throw new FormatError(`importOnnx: ${n.where}: BatchNormalization of [N, ${x.shape.join(', ')}] is not supported`);
    const C = x.shape[0];
    const names = ['scale', 'B', 'input_mean', 'input_var'];
    const [scale, bias, mean, variance] = names.map((name, k) => {
      const t = g.floats(n.inputs[k + 1], n, `input ${name}`);
      if (t.dims.length !== 1 || t.dims[0] !== C) throw new FormatError(`importOnnx: ${n.where}: input ${name} has shape ${fmt(t.dims)}, [${C}] expected`);
      return t.data.slice();
    });
    const eps = shortest(at.float('epsilon', 1e-5));
    const m = shortest(at.float('momentum', 0.9));
    if (!(eps > 0)) throw new FormatError(`importOnnx: ${n.where}: attribute 'epsilon' = ${eps}`);
    if (!(m >= 0 && m <= 1)) throw new FormatError(`importOnnx: ${n.where}: attribute 'momentum' = ${m} is not in [0, 1]`);
    const type = x.shape.length === 3 ? 'BatchNorm2d' : 'BatchNorm1d';
    const v = (data: Float32Array) => ({ data, shape: [C] });
    const out = g.emit(n.where, { type, numFeatures: C, eps, momentum: Number((1 - m).toPrecision(12)), affine: true, trackRunningStats: true },
      { weight: v(scale), bias: v(bias), running_mean: v(mean), running_var: v(variance) }, x.shape);
    return [out, ...[1, 2, 3, 4].map((k): Unusable => ({ kind: 'unusable', why: `output ${k} of BatchNormalization (${n.where}; training outputs), which is not supported` }))];
  },
};

/** Conv has no ceil_mode: an empty attribute set for windowOutput. */
function at0(): Attrs { return new Attrs('', [], {}); }

function kernelOf(n: NodeCtx, at: Attrs): [number, number] {
  const k = at.ints('kernel_shape');
  if (k.length !== 2 || !k.every((x) => x >= 1 && x <= MAX_SIZE)) {
    throw new FormatError(`importOnnx: ${n.where}: attribute 'kernel_shape' is ${fmt(k)} (only 2-d pooling, two sizes, is supported)`);
  }
  return [k[0], k[1]];
}
