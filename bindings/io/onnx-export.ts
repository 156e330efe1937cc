// Sequential -> ONNX (opset 13, IR 7): one graph input "input" [batch, ...inputShape] with a
// symbolic batch size, one output "output", the weights as FLOAT initializers (raw_data,
// little-endian) named as the model's state_dict ("0.weight", "1.running_mean"). Layers map to
// operators one to one, except GELU (opset 13 has no Gelu: its Erf formula, or its Tanh formula
// for approximate 'tanh', as torch.onnx.export writes them). importOnnx reads every file this
// writes back into the same layers.

import { ConfigError, describe } from '../errors.js';
import { Sequential } from '../model/sequential.js';
import type { Shape } from '../tensor.js';
import { AttrType, DataType, encodeModel } from './onnx-proto.js';

export const EXPORT_OPSET = 13;
const EXPORT_IR = 7;

type Attr = Record<string, unknown>;
const ints = (name: string, v: readonly number[]): Attr => ({ name, type: AttrType.INTS, ints: [...v] });
const int = (name: string, v: number): Attr => ({ name, type: AttrType.INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: AttrType.FLOAT, f: v });

function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): Record<string, unknown> {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return { name, dims: [...dims], data_type: DataType.FLOAT, raw_data: raw };
}

function valueInfo(name: string, shape: Shape): Record<string, unknown> {
  return {
    name,
    type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'batch' }, ...shape.map((d) => ({ dim_value: d }))] } } },
  };
}

/** The bytes of an .onnx file computing what model.predict computes (inference: BatchNorm's running statistics, no Dropout). */
export function exportOnnx(model: Sequential, options: Record<string, never> = {}): Uint8Array {
  if (!(model instanceof Sequential)) throw new ConfigError(`exportOnnx: expected a Sequential, got ${describe(model)}`);
  if (options !== undefined && (options === null || typeof options !== 'object' || Object.keys(options).length)) {
    throw new ConfigError(`exportOnnx: takes no options, got ${describe(options)}`);
  }
  const state = model.stateDict();   // a StateError for a disposed model
  const inputShape = model.inputShape;
  if (!inputShape) throw new ConfigError('exportOnnx: the model has no input shape (give Sequential an inputShape)');
  const layers = model.layers;
  if (!layers.length) throw new ConfigError('exportOnnx: the model has no layers');
  const nodes: Record<string, unknown>[] = [];
  const initializers: Record<string, unknown>[] = [];
  const tensor = (name: string, dims: readonly number[], values: ArrayLike<number>): string => {
    initializers.push(floatTensor(name, dims, values));
    return name;
  };
  const weight = (i: number, name: string): string => {
    const t = state[`${i}.${name}`];
    return tensor(`${i}.${name}`, t.shape, t.data);
  };
  let shape: Shape = inputShape;
  let current = 'input';
  layers.forEach((layer, i) => {
    const c = layer.config();
    if (!c) throw new ConfigError(`exportOnnx: layer ${i} (${layer}) has no ONNX form (a custom layer)`);
    const outShape = layer.outputShape(shape);
    const last = i === layers.length - 1;
    let step = 0;
    /** Appends a node reading `inputs`; its output is the next one's input (the graph output for the layer's last node). */
    const node = (op: string, inputs: string[], attribute: Attr[] = [], final = true): string => {
      const output = final && last ? 'output' : `/${i}/${op}_${step}_output`;
      nodes.push({ name: `/${i}/${op}_${step}`, op_type: op, input: inputs, output: [output], attribute });
      step++;
      return output;
    };
    const x = current;
    switch (c.type) {
      case 'Linear':
        current = node('Gemm', [x, weight(i, 'weight'), ...(c.bias ? [weight(i, 'bias')] : [])], [float('alpha', 1), float('beta', 1), int('transB', 1)]);
        break;
      case 'Conv2d': {
        const [ph, pw] = c.padding as number[];
        current = node('Conv', [x, weight(i, 'weight'), ...(c.bias ? [weight(i, 'bias')] : [])], [
          ints('dilations', c.dilation as number[]), int('group', 1), ints('kernel_shape', c.kernelSize as number[]),
          ints('pads', [ph, pw, ph, pw]), ints('strides', c.stride as number[]),
        ]);
        break;
      }
      case 'MaxPool2d': case 'AvgPool2d': {
        const [ph, pw] = c.padding as number[];
        const attrs = [int('ceil_mode', 0), ints('kernel_shape', c.kernelSize as number[]), ints('pads', [ph, pw, ph, pw]), ints('strides', c.stride as number[])];
        if (c.type === 'AvgPool2d') attrs.push(int('count_include_pad', c.countIncludePad ? 1 : 0));
        current = node(c.type === 'MaxPool2d' ? 'MaxPool' : 'AveragePool', [x], attrs);
        break;
      }
      case 'BatchNorm1d': case 'BatchNorm2d': {
        if (!c.trackRunningStats) {
          throw new ConfigError(`exportOnnx: layer ${i} (${layer}) has no running statistics: ONNX's BatchNormalization (inference) normalises with them`);
        }
        const C = c.numFeatures as number;
        const scale = c.affine ? weight(i, 'weight') : tensor(`${i}.weight`, [C], new Float32Array(C).fill(1));
        const bias = c.affine ? weight(i, 'bias') : tensor(`${i}.bias`, [C], new Float32Array(C));
        const attrs = [float('epsilon', c.eps as number)];
        if (c.momentum !== null) attrs.push(float('momentum', 1 - (c.momentum as number)));
        current = node('BatchNormalization', [x, scale, bias, weight(i, 'running_mean'), weight(i, 'running_var')], attrs);
        break;
      }
      case 'ReLU': current = node('Relu', [x]); break;
      case 'Sigmoid': current = node('Sigmoid', [x]); break;
      case 'Tanh': current = node('Tanh', [x]); break;
      case 'LeakyReLU': current = node('LeakyRelu', [x], [float('alpha', c.negativeSlope as number)]); break;
      case 'Softmax': current = node('Softmax', [x], [int('axis', c.dim as number)]); break;
      case 'LogSoftmax': current = node('LogSoftmax', [x], [int('axis', c.dim as number)]); break;
      case 'Flatten': current = node('Flatten', [x], [int('axis', 1)]); break;
      case 'Dropout': current = node('Dropout', [x, tensor(`${i}.ratio`, [], [c.p as number])]); break;
      case 'GELU': {
        const k = (name: string, v: number) => tensor(`${i}.${name}`, [], [v]);
        if (c.approximate === 'tanh') {
          // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), grouped as torch.onnx.export groups it
          const x3 = node('Mul', [x, node('Mul', [x, x], [], false)], [], false);
          const inner = node('Add', [x, node('Mul', [x3, k('kappa', 0.044715)], [], false)], [], false);
          const t = node('Tanh', [node('Mul', [inner, k('beta', Math.sqrt(2 / Math.PI))], [], false)], [], false);
          current = node('Mul', [node('Mul', [x, node('Add', [t, k('one', 1)], [], false)], [], false), k('half', 0.5)]);
        } else {
          // x (erf(x / sqrt 2) + 1) 0.5
          const erf = node('Erf', [node('Div', [x, k('sqrt2', Math.SQRT2)], [], false)], [], false);
          current = node('Mul', [node('Mul', [x, node('Add', [erf, k('one', 1)], [], false)], [], false), k('half', 0.5)]);
        }
        break;
      }
      default:
        throw new ConfigError(`exportOnnx: layer ${i} (${layer}) has no ONNX form`);
    }
    shape = outShape;
  });
  return encodeModel({
    ir_version: EXPORT_IR,
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    producer_name: 'simdnet',
    graph: {
      name: 'simdnet',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', inputShape)],
      output: [valueInfo('output', shape)],
    },
  });
}
