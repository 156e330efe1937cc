// ONNX import and export (bindings/io/onnx*.ts, the simdnet/onnx entry):
//  - simdnet -> ONNX -> onnxruntime-node: outputs within 1e-5 of predict (MLP, CNN, each layer);
//  - simdnet -> ONNX -> simdnet: the same layers, bit-identical weights and predictions;
//  - torch.onnx.export -> simdnet: PyTorch's outputs within 1e-5 (tests/fixtures/onnx, written by
//    tests/fixtures/make_onnx.py, batch axes dynamic or, as most exports have them, fixed at 1;
//    and tests/fixtures/interop when it is there: the trained MNIST
//    MLP and CNN and one model per operator);
//  - what is not supported is a FormatError naming the operator or attribute;
//  - fuzzing: thousands of seeded mutations and truncations of valid files, each imported or
//    refused with a FormatError, quickly, with nothing else in the process disturbed.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  init, Sequential, Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, ReLU, Sigmoid, Tanh, LeakyReLU, GELU,
  Softmax, LogSoftmax, Flatten, Dropout, Layer, Generator, defaultGenerator, FormatError, ConfigError, SimdnetError,
  loadMnist, scalePixels, type Runtime, type Shape,
} from '../bindings/index.js';
import { importOnnx, exportOnnx } from '../bindings/entry/onnx.js';
import { decodeModel, encodeModel } from '../bindings/io/onnx-proto.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ort: any = require('onnxruntime-node');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const FIXTURES = here('./fixtures/onnx/');
const INTEROP = here('./fixtures/interop/');

let rt: Runtime;
beforeAll(async () => { rt = await init(); });

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

function randomInput(shape: Shape, batch: number, seed: number, scale = 2): Float32Array {
  return new Generator(seed).uniform(new Float32Array(batch * size(shape)), -scale, scale);
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function stateBits(m: Sequential): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, bits(t.data)]));
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, shape) });
    return out.output.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Gives BatchNorm layers non-trivial affine parameters and running statistics (as training would). */
function perturbBatchNorm(m: Sequential, seed: number): void {
  const g = new Generator(seed);
  const dict = m.stateDict();
  const next: Record<string, { data: Float32Array; shape: Shape }> = {};
  for (const [name, t] of Object.entries(dict)) {
    const data = t.data.slice();
    if (name.endsWith('running_mean') || name.endsWith('.bias')) g.uniform(data, -0.5, 0.5);
    else if (name.endsWith('running_var') || (name.endsWith('.weight') && t.shape.length === 1)) g.uniform(data, 0.5, 2);
    else if (name.endsWith('num_batches_tracked')) data[0] = 7;
    next[name] = { data, shape: t.shape };
  }
  m.loadStateDict(next);
}

function mlp(): Sequential {
  const generator = new Generator(1);
  return new Sequential([
    new Linear(12, 16, { generator }), new ReLU(), new Linear(16, 8, { generator }), new Tanh(), new Linear(8, 4, { generator }), new LogSoftmax(),
  ]);
}

function cnn(): Sequential {
  const generator = new Generator(2);
  const m = new Sequential([
    new Conv2d(1, 4, 3, { padding: 1, generator }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
    new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], generator }), new GELU(),
    new AvgPool2d(2, { padding: 1, countIncludePad: false }), new Dropout(0.3), new Flatten(), new Linear(6 * 2 * 2, 5, { generator }), new Softmax(1),
  ], { inputShape: [1, 10, 10] });
  perturbBatchNorm(m, 3);
  return m;
}

/** One-layer (or two-layer) models for each layer the exporter writes. */
function layerCases(): [string, Sequential][] {
  const g = new Generator(4);
  const lin = () => new Linear(5, 6, { generator: g });
  const cases: [string, Sequential][] = [
    ['ReLU', new Sequential([lin(), new ReLU()])],
    ['Sigmoid', new Sequential([lin(), new Sigmoid()])],
    ['Tanh', new Sequential([lin(), new Tanh()])],
    ['LeakyReLU', new Sequential([lin(), new LeakyReLU(0.2)])],
    ['GELU', new Sequential([lin(), new GELU()])],
    ['GELU tanh', new Sequential([lin(), new GELU({ approximate: 'tanh' })])],
    ['Softmax', new Sequential([lin(), new Softmax(-1)])],
    ['LogSoftmax', new Sequential([lin(), new LogSoftmax(1)])],
    ['Dropout', new Sequential([lin(), new Dropout(0.5)])],
    ['Linear without bias', new Sequential([new Linear(5, 3, { bias: false, generator: g })])],
    ['BatchNorm1d [C]', new Sequential([lin(), new BatchNorm1d(6, { eps: 1e-3, momentum: 0.3 })])],
    ['BatchNorm1d [C, L]', new Sequential([new BatchNorm1d(3)], { inputShape: [3, 4] })],
    ['BatchNorm2d affine false', new Sequential([new BatchNorm2d(2, { affine: false })], { inputShape: [2, 3, 3] })],
    ['Conv2d without bias', new Sequential([new Conv2d(2, 3, 3, { stride: 2, padding: 1, bias: false, generator: g })], { inputShape: [2, 7, 6] })],
    ['MaxPool2d', new Sequential([new MaxPool2d(3, { stride: 2, padding: 1 })], { inputShape: [2, 7, 7] })],
    ['AvgPool2d', new Sequential([new AvgPool2d([3, 2], { stride: [1, 2], padding: [1, 1] })], { inputShape: [2, 5, 6] })],
    ['Flatten', new Sequential([new Flatten(), new Linear(12, 2, { generator: g })], { inputShape: [3, 2, 2] })],
  ];
  for (const [, m] of cases) perturbBatchNorm(m, 5);
  return cases;
}

const results: string[] = [];

describe('export: simdnet -> ONNX -> onnxruntime-node', () => {
  const check = async (name: string, m: Sequential, batch = 3) => {
    const x = randomInput(m.inputShape!, batch, 10);
    const want = m.predict(x).data;
    const got = await runOrt(exportOnnx(m), x, [batch, ...m.inputShape!]);
    const err = maxAbs(got, want);
    results.push(`onnxruntime ${name}: ${err.toExponential(2)}`);
    expect(err, name).toBeLessThanOrEqual(1e-5);
  };

  it('the MLP', async () => { await check('MLP', mlp(), 7); });
  it('the CNN (Conv, BatchNorm, MaxPool, GELU, AvgPool, Dropout, Flatten, Softmax)', async () => { await check('CNN', cnn(), 5); });
  it('each layer', async () => { for (const [name, m] of layerCases()) await check(name, m); });

  it('the file: opset 13, a dynamic batch axis, initializers named as the state_dict, raw little-endian float32', () => {
    const m = mlp();
    const file = decodeModel(exportOnnx(m), 'test') as never as {
      ir_version: unknown; opset_import: { domain: string; version: unknown }[];
      graph: { initializer: { name: string; raw_data: Uint8Array; data_type: number }[]; input: { type: { tensor_type: { shape: { dim: { dim_param?: string }[] } } } }[]; node: { op_type: string }[] };
    };
    expect(Number(file.opset_import[0].version.toString())).toBe(13);
    expect(file.graph.input[0].type.tensor_type.shape.dim[0].dim_param).toBe('batch');
    expect(file.graph.node.map((n) => n.op_type)).toEqual(['Gemm', 'Relu', 'Gemm', 'Tanh', 'Gemm', 'LogSoftmax']);
    const w = file.graph.initializer.find((t) => t.name === '0.weight')!;
    expect(w.data_type).toBe(1);
    const raw = new DataView(w.raw_data.buffer, w.raw_data.byteOffset, w.raw_data.byteLength);
    expect(raw.getFloat32(4, true)).toBe(m.stateDict()['0.weight'].data[1]);
  });

  it('refuses what ONNX cannot hold, with ConfigErrors', () => {
    class Custom extends Layer {
      override toString() { return 'Custom()'; }
      override outputShape(s: Shape) { return s; }
      override forward() {}
      override backward() {}
    }
    expect(() => exportOnnx(new Sequential([new Linear(2, 2), new Custom()]))).toThrow(/layer 1 \(Custom\(\)\) has no ONNX form/);
    expect(() => exportOnnx(new Sequential([new BatchNorm1d(2, { trackRunningStats: false })], { inputShape: [2] }))).toThrow(/running statistics/);
    expect(() => exportOnnx(new Sequential([new ReLU()]))).toThrow(ConfigError);
    expect(() => exportOnnx({} as Sequential)).toThrow(ConfigError);
  });
});

describe('round trip: simdnet -> ONNX -> simdnet', () => {
  it('gives the same layers, bit-identical weights and predictions', () => {
    for (const [name, m] of [['MLP', mlp()], ['CNN', cnn()], ...layerCases()] as [string, Sequential][]) {
      const back = importOnnx(exportOnnx(m));
      // ONNX's BatchNormalization always has a scale and a bias: affine false comes back as weight 1, bias 0
      const layer = (l: Layer) => String(l).replace('affine=False', 'affine=True');
      expect(back.layers.map(layer), name).toEqual(m.layers.map(layer));
      expect(back.inputShape, name).toEqual(m.inputShape);
      const want = stateBits(m), got = stateBits(back);
      for (const k of Object.keys(got)) if (k.endsWith('num_batches_tracked') || !(k in want)) { delete want[k]; delete got[k]; }
      expect(got, name).toEqual(want);
      const x = randomInput(m.inputShape!, 4, 11);
      expect(bits(back.predict(x).data), name).toEqual(bits(m.predict(x).data));
      back.dispose();
    }
  });

  it('keeps float attributes as the decimals they were (ONNX stores float32: 0.01, not 0.0099999998)', () => {
    const m = new Sequential([new Linear(3, 3), new LeakyReLU(0.01), new BatchNorm1d(3, { eps: 1e-5, momentum: 0.1 }), new Dropout(0.1)]);
    const back = importOnnx(exportOnnx(m));
    expect(back.layers.map((l) => l.config())).toEqual(m.layers.map((l) => l.config()));
  });

  it('imports into the runtime given, in eval mode, without moving the default generator', async () => {
    const { createRuntime } = await import('../bindings/index.js');
    const other = await createRuntime();
    const state = defaultGenerator.getState();
    const back = importOnnx(exportOnnx(cnn()), { runtime: other });
    expect(back.rt).toBe(other);
    expect(defaultGenerator.getState()).toEqual(state);
    const x = randomInput([1, 10, 10], 2, 12);
    expect(bits(back.forward(x).data)).toEqual(bits(back.predict(x).data));   // eval: Dropout off, running statistics
  });
});

interface Expected { inputShape: number[]; input: { shape: number[]; data: number[] }; output: { shape: number[]; data: number[] }; nodes: string[] }

describe('import: torch.onnx.export -> simdnet', () => {
  const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')).models as Record<string, Expected>;
  const compare = (file: string, e: Expected, label: string) => {
    const m = importOnnx(readFileSync(file));
    expect(m.inputShape, label).toEqual(e.input.shape.slice(1));
    const y = m.predict(Float32Array.from(e.input.data));
    expect(y.shape, label).toEqual(e.output.shape);
    const err = maxAbs(y.data, e.output.data);
    results.push(`torch ${label}: ${err.toExponential(2)} (${m.layers.map((l) => l.constructor.name).join(' ')})`);
    expect(err, label).toBeLessThanOrEqual(1e-5);
    m.dispose();
  };

  for (const name of ['mlp', 'cnn', 'cnn_opset11', 'cnn_opset17', 'matmul_add', 'global_pool', 'net_static', 'view_static']) {
    it(`${name} (${expected[name].nodes.filter((n, i, a) => a.indexOf(n) === i).join(', ')})`, () => {
      compare(`${FIXTURES}${name}.onnx`, expected[name], name);
    });
  }

  it('maps the operators onto the layers PyTorch had', () => {
    const layers = (name: string) => importOnnx(readFileSync(`${FIXTURES}${name}.onnx`)).layers.map(String);
    expect(layers('cnn')).toEqual([
      'Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))', 'ReLU()',
      'BatchNorm2d(4, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True)',
      'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)', 'Conv2d(4, 6, kernel_size=(3, 3), stride=(2, 2))',
      "GELU(approximate='none')", 'AvgPool2d(kernel_size=3, stride=1, padding=1)', 'Flatten(start_dim=1, end_dim=-1)',
      'Linear(in_features=24, out_features=5, bias=True)', 'Softmax(dim=1)',
    ]);
    expect(layers('matmul_add')).toEqual([
      'Linear(in_features=7, out_features=9, bias=True)', "GELU(approximate='tanh')", 'Linear(in_features=9, out_features=6, bias=False)',
      'BatchNorm1d(6, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True)', 'LeakyReLU(negative_slope=0.1)', 'Sigmoid()',
    ]);
  });

  const interop = existsSync(`${INTEROP}expected.json`) ? JSON.parse(readFileSync(`${INTEROP}expected.json`, 'utf8')) : null;
  describe.skipIf(!interop)('the interop fixtures (tests/fixtures/interop)', () => {
    it('the trained MNIST MLP and CNN match PyTorch on test images 0..63', async () => {
      const mnist = await loadMnist({ trainLimit: 1, testLimit: 64 });
      const unit = scalePixels(mnist.test.images);
      for (const name of ['mlp', 'cnn']) {
        const info = interop.models[name];
        const x = info.preprocessing === 'standard'
          ? Float32Array.from(mnist.test.images, (p) => (p * (1 / 255) - 0.1307) / 0.3081)
          : unit;
        const m = importOnnx(readFileSync(`${INTEROP}${info.onnx}`));
        const y = m.predict(x);
        expect(y.shape).toEqual(info.outputs.shape);
        const err = maxAbs(y.data, info.outputs.data);
        results.push(`torch interop ${name}: ${err.toExponential(2)}`);
        expect(err, name).toBeLessThanOrEqual(1e-5);
        m.dispose();
      }
    });

    it('each operator model matches PyTorch', () => {
      for (const op of interop.ops as { name: string; onnx: string; input: Expected['input']; output: Expected['output'] }[]) {
        const m = importOnnx(readFileSync(`${INTEROP}${op.onnx}`));
        const err = maxAbs(m.predict(Float32Array.from(op.input.data)).data, op.output.data);
        results.push(`torch interop ops/${op.name}: ${err.toExponential(2)}`);
        expect(err, op.name).toBeLessThanOrEqual(1e-5);
        m.dispose();
      }
    });
  });
});

// ---- refusals ------------------------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;
const mutate = (bytes: Uint8Array, f: (m: Msg) => void): Uint8Array => {
  const m = decodeModel(bytes, 'test');
  f(m);
  return encodeModel(m as never);
};
const nodeOf = (m: Msg, op: string) => m.graph.node.find((n: Msg) => n.op_type === op);
const attr = (name: string, type: number, value: Record<string, unknown>) => ({ name, type, ints: [], floats: [], strings: [], ...value });

describe('refusals are FormatErrors naming the operator or attribute', () => {
  const refuse = (bytes: Uint8Array, pattern: RegExp) => {
    let error: unknown;
    try { importOnnx(bytes).dispose(); } catch (e) { error = e; }
    expect(error, String(pattern)).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(pattern);
  };

  it('torch exports simdnet has no layer for', () => {
    refuse(readFileSync(`${FIXTURES}elu.onnx`), /operator 'Elu' is not supported/);
    refuse(readFileSync(`${FIXTURES}grouped_conv.onnx`), /attribute 'group' = 2 is not supported/);
    refuse(readFileSync(`${FIXTURES}residual.onnx`), /not a chain/);
  });

  it('operators, attributes and values', () => {
    const m = exportOnnx(mlp()), c = exportOnnx(cnn());
    refuse(mutate(m, (x) => { nodeOf(x, 'Relu').op_type = 'Selu'; }), /operator 'Selu' is not supported/);
    refuse(mutate(m, (x) => { nodeOf(x, 'Relu').domain = 'com.microsoft'; }), /domain 'com.microsoft'/);
    refuse(mutate(m, (x) => { nodeOf(x, 'Relu').attribute.push(attr('inplace', 2, { i: 1 })); }), /\(Relu\): attribute 'inplace' is not supported/);
    refuse(mutate(m, (x) => { nodeOf(x, 'Gemm').attribute.find((a: Msg) => a.name === 'alpha').f = 2; }), /attribute 'alpha' = 2 is not supported/);
    refuse(mutate(m, (x) => { nodeOf(x, 'Gemm').attribute.find((a: Msg) => a.name === 'transB').type = 1; }), /attribute 'transB' has type FLOAT, expected INT/);
    refuse(mutate(m, (x) => { nodeOf(x, 'LogSoftmax').attribute[0].i = 0; }), /attribute 'axis' = 0 is not supported/);
    refuse(mutate(c, (x) => { nodeOf(x, 'Conv').attribute.find((a: Msg) => a.name === 'pads').ints = [1, 1, 0, 0]; }), /'pads' \[1, 1, 0, 0\] is asymmetric/);
    refuse(mutate(c, (x) => { nodeOf(x, 'MaxPool').attribute.find((a: Msg) => a.name === 'ceil_mode').i = 1; nodeOf(x, 'MaxPool').attribute.find((a: Msg) => a.name === 'kernel_shape').ints = [3, 3]; }), /ceil_mode 1 is not supported/);
    refuse(mutate(c, (x) => { nodeOf(x, 'Conv').attribute.find((a: Msg) => a.name === 'group').i = 2; }), /attribute 'group' = 2/);
    refuse(mutate(c, (x) => { nodeOf(x, 'BatchNormalization').op_type = 'InstanceNormalization'; }), /'InstanceNormalization' is not supported/);
    refuse(mutate(m, (x) => { x.opset_import[0].version = 30; }), /opset 30 is not supported/);
    refuse(mutate(m, (x) => { x.graph.initializer[0].data_type = 10; }), /data type FLOAT16 is not supported/);
    refuse(mutate(m, (x) => { x.graph.initializer[0].data_location = 1; }), /external data/);
    refuse(mutate(m, (x) => { x.graph.initializer[0].raw_data = x.graph.initializer[0].raw_data.subarray(4); }), /need 768 bytes, raw_data has 764/);
    refuse(mutate(m, (x) => { x.graph.initializer[0].dims = [1 << 20, 1 << 20]; }), /more than 2\^31 elements/);
    refuse(mutate(m, (x) => { x.graph.initializer[0].dims = [100000, 10000]; }), /need 4000000000 bytes, raw_data has 768/);
    refuse(mutate(m, (x) => { nodeOf(x, 'Relu').input[0] = 'nowhere'; }), /input 'nowhere' is not the graph input/);
    refuse(mutate(m, (x) => { x.graph.node.reverse(); }), /not the graph input, an initializer or the output of an earlier node|not a chain/);
    refuse(mutate(m, (x) => { x.graph.input.push({ ...x.graph.input[0], name: 'second' }); }), /2 inputs/);
    refuse(mutate(m, (x) => { x.graph.input[0].type.tensor_type.elem_type = 11; }), /is DOUBLE \(simdnet takes FLOAT\)/);
    refuse(mutate(m, (x) => { x.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 3; }), /declared \[batch, 3\], the layers compute \[N, 4\]/);
    refuse(new Uint8Array([1, 2, 3, 4, 5]), /not a valid ONNX protobuf|not an ONNX model/);
    refuse(new Uint8Array(0), /not an ONNX model/);
    expect(() => importOnnx('model.onnx' as never)).toThrow(FormatError);
  });

  it('symbolic per-sample sizes need an inputShape', () => {
    const bytes = mutate(exportOnnx(cnn()), (x) => { for (const d of x.graph.input[0].type.tensor_type.shape.dim.slice(2)) { delete d.dim_value; d.dim_param = 'side'; } });
    refuse(bytes, /symbolic size \('side'\)/);
    const m = importOnnx(bytes, { inputShape: [1, 10, 10] });
    expect(m.inputShape).toEqual([1, 10, 10]);
    expect(() => importOnnx(bytes, { inputShape: [2, 10, 10] })).toThrow(FormatError);
    expect(() => importOnnx(bytes, { inputShape: [0] })).toThrow(ConfigError);
    expect(() => importOnnx(bytes, { runtim: rt } as never)).toThrow(/unknown option 'runtim' \(did you mean 'runtime'\?\)/);
    expect(() => importOnnx(bytes, { runtime: {} as never })).toThrow(ConfigError);
  });
});

// ---- fuzzing ---------------------------------------------------------------------------------------

const INTERESTING = [0, 1, 2, 3, -1, -2, 7, 255, 0x7f, 0x80, 1 << 16, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 1e15];

/** One seeded mutation: of the bytes (flips, overwrites, inserts, deletes, splices, truncation) or of the decoded model. */
function mutateOnce(base: Uint8Array, g: Generator): Uint8Array {
  if (!base.length) return base;
  const pick = <T>(a: readonly T[]): T => a[g.randint(Math.max(1, a.length))];
  let kind = g.randint(14);
  let m: Msg = null;
  if (kind >= 7) {
    try { m = decodeModel(base, 'fuzz'); } catch { kind = g.randint(7); }   // an earlier mutation broke the protobuf
  }
  const b = new Uint8Array(base);   // a copy (Buffer.prototype.slice would be a view)
  switch (kind) {
    case 0: return b.subarray(0, g.randint(b.length));
    case 1: { for (let k = 1 + g.randint(4); k > 0; k--) b[g.randint(b.length)] ^= 1 << g.randint(8); return b; }
    case 2: { for (let k = 1 + g.randint(8); k > 0; k--) b[g.randint(b.length)] = g.randint(256); return b; }
    case 3: { b[g.randint(Math.min(b.length, 96))] = pick([0, 0xff, 0x7f, 0x80, 1, 8, 0x12]); return b; }
    case 4: {
      const at = g.randint(b.length), extra = new Uint8Array(1 + g.randint(16)).map(() => g.randint(256));
      return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
    }
    case 5: { const at = g.randint(b.length), len = 1 + g.randint(32); return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]); }
    case 6: {
      const from = g.randint(b.length), len = 1 + g.randint(64), at = g.randint(b.length);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(from, from + len), ...b.subarray(at)]);
    }
    default: {
      // structural: decode, change one thing the importer must check, encode
      const graph = m.graph;
      if (!graph || !graph.node.length || !graph.input.length) return b;
      const node = pick(graph.node as Msg[]);
      switch (g.randint(12)) {
        case 0: node.op_type = pick(['Relu', 'Gemm', 'Conv', 'MaxPool', 'AveragePool', 'Flatten', 'Reshape', 'Add', 'Mul', 'Erf', 'Shape', 'Gather',
          'Concat', 'Unsqueeze', 'Squeeze', 'BatchNormalization', 'Softmax', 'Identity', 'Pad', 'Dropout', 'MatMul', 'GlobalAveragePool', 'Cast', 'Constant', 'Tanh']); break;
        case 1: if (node.input.length) node.input[g.randint(node.input.length)] = pick([...graph.node.flatMap((n: Msg) => n.output), ...graph.initializer.map((t: Msg) => t.name), 'input', '']); break;
        case 2: if (node.attribute.length) { const a = pick(node.attribute as Msg[]); a.i = pick(INTERESTING); a.ints = a.ints.map(() => pick(INTERESTING)); a.f = pick([0, -1, 1e30, NaN, 0.5]); } break;
        case 3: if (node.attribute.length) pick(node.attribute as Msg[]).type = g.randint(15); break;
        case 4: if (node.attribute.length) node.attribute.splice(g.randint(node.attribute.length), 1); break;
        case 5: if (graph.initializer.length) { const t = pick(graph.initializer as Msg[]); t.dims = t.dims.map(() => pick(INTERESTING)); } break;
        case 6: if (graph.initializer.length) { const t = pick(graph.initializer as Msg[]); t.data_type = g.randint(17); } break;
        case 7: if (graph.initializer.length) { const t = pick(graph.initializer as Msg[]); if (t.raw_data) t.raw_data = t.raw_data.subarray(0, g.randint(t.raw_data.length + 1)); } break;
        case 8: graph.node.splice(g.randint(graph.node.length), 1); break;
        case 9: graph.node.splice(g.randint(graph.node.length), 0, { ...node, output: [...node.output] }); break;
        case 10: { const d = pick((graph.input[0].type?.tensor_type?.shape?.dim ?? [{}]) as Msg[]); d.dim_value = pick(INTERESTING); break; }
        default: if (m.opset_import.length) m.opset_import[0].version = pick([1, 6, 7, 9, 11, 12, 13, 14, 18, 20, 28, 29]);
      }
      return encodeModel(m);
    }
  }
}

/** One to three mutations in a row. */
function mutate3(base: Uint8Array, g: Generator): Uint8Array {
  let b = base;
  for (let k = 1 + g.randint(3); k > 0; k--) b = mutateOnce(b, g);
  return b;
}

// SIMDNET_ONNX_FUZZ=100000 SIMDNET_ONNX_FUZZ_SEED=7 npx vitest run tests/onnx.test.ts -t fuzz: a longer run
const FUZZ_RUNS = Number(process.env.SIMDNET_ONNX_FUZZ ?? 3000);
const FUZZ_SEED = Number(process.env.SIMDNET_ONNX_FUZZ_SEED ?? 2026);

describe('fuzzing', () => {
  it(`${FUZZ_RUNS} seeded mutations and truncations: each imports or is a FormatError, quickly, leaving other models as they were`, () => {
    const bases = [exportOnnx(cnn()), readFileSync(`${FIXTURES}cnn.onnx`), readFileSync(`${FIXTURES}matmul_add.onnx`), exportOnnx(layerCases()[5][1])];
    const witness = cnn();
    const probe = randomInput([1, 10, 10], 3, 20);
    const before = { state: stateBits(witness), out: bits(witness.predict(probe).data), generator: defaultGenerator.getState() };
    const memoryBefore = rt.kernels.memory.buffer.byteLength;
    const g = new Generator(FUZZ_SEED);
    const reasons = new Map<string, number>();
    let imported = 0, refused = 0, slowest = 0;
    const start = performance.now();
    for (let i = 0; i < FUZZ_RUNS; i++) {
      const bytes = mutate3(bases[i % bases.length], g);
      const t = performance.now();
      try {
        const m = importOnnx(bytes);
        imported++;
        if (m.memoryBytes({ batchSize: 2, training: false }) < 64 << 20) {
          const x = randomInput(m.inputShape!, 2, i);
          expect(m.predict(x).data.length).toBe(2 * size(m.outputShape!));
        }
        m.dispose();
      } catch (e) {
        if (!(e instanceof FormatError)) throw new Error(`mutation ${i}: ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
        refused++;
        const reason = e.message.replace(/^importOnnx: /, '').replace(/node \d+ '[^']*' /, '').replace(/[0-9][0-9, ]*/g, '#').slice(0, 50);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      slowest = Math.max(slowest, performance.now() - t);
    }
    const seconds = (performance.now() - start) / 1000;
    const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([r, n]) => `${n} x ${r}`);
    results.push(`fuzz: ${imported} imported, ${refused} FormatErrors (${reasons.size} kinds), ${seconds.toFixed(1)} s, slowest ${slowest.toFixed(1)} ms; ` +
      `wasm memory ${memoryBefore >> 20} -> ${rt.kernels.memory.buffer.byteLength >> 20} MiB; most frequent:\n    ${top.join('\n    ')}`);
    expect(imported + refused).toBe(FUZZ_RUNS);
    expect(refused).toBeGreaterThan(FUZZ_RUNS / 3);
    expect(imported).toBeGreaterThan(FUZZ_RUNS / 60);
    expect(slowest).toBeLessThan(1000);
    expect(seconds).toBeLessThan(40 * (FUZZ_RUNS / 3000));
    expect(rt.kernels.memory.buffer.byteLength - memoryBefore).toBeLessThan(64 << 20);
    expect(stateBits(witness)).toEqual(before.state);
    expect(bits(witness.predict(probe).data)).toEqual(before.out);
    expect(defaultGenerator.getState()).toEqual(before.generator);
  });

  it('refuses, never allocates for, what a small file claims to be large', () => {
    const m = exportOnnx(mlp());
    const claims = [
      mutate(m, (x) => { x.graph.initializer[0].dims = [2 ** 30, 2]; }),
      mutate(m, (x) => { x.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 2 ** 40; }),
      mutate(m, (x) => { nodeOf(x, 'Gemm').attribute.push(attr('pads', 7, { ints: new Array(100000).fill(1) })); }),
    ];
    for (const bytes of claims) {
      const t = performance.now();
      expect(() => importOnnx(bytes)).toThrow(FormatError);
      expect(performance.now() - t).toBeLessThan(200);
    }
  });
});

describe('packaging', () => {
  it('bindings/io/onnx-descriptor.ts is what tools/make-onnx-descriptor.mjs makes of bindings/io/onnx.proto', () => {
    execFileSync(process.execPath, [here('../tools/make-onnx-descriptor.mjs'), '--check'], { stdio: 'pipe' });
  });

  it('protobufjs is in the simdnet/onnx entry only, not in the main entries', async () => {
    const esbuild = await import('esbuild');
    const inputs = async (entry: string) => Object.keys((await esbuild.build({
      entryPoints: [here(`../bindings/${entry}`)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser',
      external: ['node:*'], logLevel: 'silent',
    })).metafile!.inputs);
    expect((await inputs('entry/browser.ts')).some((f) => f.includes('protobufjs'))).toBe(false);
    expect((await inputs('index.ts')).some((f) => f.includes('protobufjs'))).toBe(false);
    const onnx = await esbuild.build({ entryPoints: [here('../bindings/entry/onnx.ts')], bundle: true, write: false, minify: true, format: 'esm', platform: 'browser', logLevel: 'silent', metafile: true });
    expect(Object.keys(onnx.metafile!.inputs).some((f) => f.includes('protobufjs'))).toBe(true);
    const { gzipSync } = await import('node:zlib');
    results.push(`simdnet/onnx bundled for browsers, minified (with the rest of simdnet's bindings, without wasm): ${(onnx.outputFiles[0].contents.length / 1024).toFixed(0)} KiB, ` +
      `${(gzipSync(onnx.outputFiles[0].contents).length / 1024).toFixed(0)} KiB gzipped`);
  });

  it('summary', () => {
    console.log(`ONNX results (max abs error):\n  ${results.join('\n  ')}`);
    expect(SimdnetError).toBeDefined();
  });
});
