// The ONNX protobuf schema (bindings/io/onnx.proto, the official file, as the JSON descriptor
// bindings/io/onnx-descriptor.ts) loaded into protobufjs/light, and what the importer and exporter
// share: the decoded messages' shapes, int64 values, enums by name, and a checked reader of
// TensorProto values.
//
// Untrusted bytes: protobufjs decodes any well-formed protobuf (unknown fields skipped, nesting
// limited to 100), and its failures become FormatErrors here. A decoded message costs a bounded
// multiple of the bytes it came from (bytes fields are views, not copies), so nothing large is
// allocated before the importer has compared what a tensor claims (its dims) with the bytes it
// really holds.

import protobuf from 'protobufjs/light.js';
import { FormatError } from '../errors.js';
import { onnxDescriptor } from './onnx-descriptor.js';

/** An int64 as protobufjs gives it: a Long when the `long` package is there, else a number. */
export type Int64 = number | { low: number; high: number; unsigned?: boolean } | string;

export interface TensorMsg {
  dims: Int64[];
  data_type?: number;
  segment?: unknown;
  float_data: number[];
  int32_data: number[];
  string_data: Uint8Array[];
  int64_data: Int64[];
  name?: string;
  raw_data?: Uint8Array;
  external_data: unknown[];
  data_location?: number;
  double_data: number[];
  uint64_data: Int64[];
}

export interface AttributeMsg {
  name?: string;
  ref_attr_name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorMsg;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}

export interface NodeMsg {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute: AttributeMsg[];
}

export interface DimensionMsg { dim_value?: Int64; dim_param?: string }

export interface TypeMsg {
  tensor_type?: { elem_type?: number; shape?: { dim: DimensionMsg[] } };
}

export interface ValueInfoMsg { name?: string; type?: TypeMsg }

export interface GraphMsg {
  node: NodeMsg[];
  name?: string;
  initializer: TensorMsg[];
  sparse_initializer: unknown[];
  input: ValueInfoMsg[];
  output: ValueInfoMsg[];
  value_info: ValueInfoMsg[];
}

export interface OperatorSetIdMsg { domain?: string; version?: Int64 }

export interface ModelMsg {
  ir_version?: Int64;
  opset_import: OperatorSetIdMsg[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphMsg;
  metadata_props: { key?: string; value?: string }[];
  functions: unknown[];
}

/** TensorProto.DataType values simdnet reads or writes. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

interface Schema {
  model: protobuf.Type;
  dataTypes: Record<number, string>;
  attributeTypes: Record<number, string>;
}

let schema: Schema | null = null;

/** The protobufjs types, built on first use (importing this module costs nothing until then). */
function getSchema(): Schema {
  if (!schema) {
    const root = protobuf.Root.fromJSON(onnxDescriptor as protobuf.INamespace);
    root.resolveAll();
    schema = {
      model: root.lookupType('onnx.ModelProto'),
      dataTypes: root.lookupEnum('onnx.TensorProto.DataType').valuesById,
      attributeTypes: root.lookupEnum('onnx.AttributeProto.AttributeType').valuesById,
    };
  }
  return schema;
}

/** The name of a TensorProto.DataType value, e.g. 'FLOAT16'. */
export function dataTypeName(t: number): string { return getSchema().dataTypes[t] ?? `data type ${t}`; }

/** The name of an AttributeProto.AttributeType value, e.g. 'INTS'. */
export function attributeTypeName(t: number): string { return getSchema().attributeTypes[t] ?? `attribute type ${t}`; }

/** Decodes the bytes of a .onnx file (a ModelProto); any protobuf error is a FormatError. */
export function decodeModel(bytes: Uint8Array, what: string): ModelMsg {
  const { model } = getSchema();
  try {
    return model.decode(bytes) as unknown as ModelMsg;
  } catch (e) {
    throw new FormatError(`${what}: not a valid ONNX protobuf (${(e as Error)?.message ?? String(e)})`, { cause: e });
  }
}

/** The bytes of a ModelProto given as a plain object with the .proto's field names. */
export function encodeModel(message: Record<string, unknown>): Uint8Array {
  const { model } = getSchema();
  const bytes = model.encode(model.fromObject(message)).finish();
  return new Uint8Array(bytes);   // a copy: Node's writer may hand out a view of a shared pool
}

/** Whether a decoded message holds the field (protobufjs keeps defaults on the prototype). */
export function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

/** An int64 as a number: exact within +-2^53, beyond that still far past any limit checked. */
export function int64(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v !== null && typeof v === 'object') {
    const { low, high, unsigned } = v as { low?: unknown; high?: unknown; unsigned?: unknown };
    if (typeof low === 'number' && typeof high === 'number') {
      return (unsigned === true ? high >>> 0 : high | 0) * 4294967296 + (low >>> 0);
    }
  }
  return NaN;
}

/** Bytes as UTF-8 text (malformed sequences become U+FFFD, as TextDecoder does). */
export function utf8(bytes: Uint8Array | undefined): string {
  return bytes ? new TextDecoder().decode(bytes) : '';
}

export const MAX_RANK = 8;
/** The most elements a tensor may claim (2^31 - 1: more is past any wasm32 model). */
const MAX_ELEMENTS = 0x7fffffff;
/** The most elements of an integer tensor (shapes, axes, indices: small by nature). */
export const MAX_INT_ELEMENTS = 1 << 16;

/** A tensor's values: float32 (FLOAT, DOUBLE) or integers (INT32, INT64, BOOL). */
export interface TensorValues {
  dims: number[];
  floats: Float32Array | null;
  ints: number[] | null;
}

const ELEMENT_BYTES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.BOOL]: 1 };

/** The dims of a TensorProto, checked: integers in [0, 2^31), rank at most 8, at most 2^31 - 1 elements. */
export function tensorDims(t: TensorMsg, what: string): { dims: number[]; count: number } {
  if (t.dims.length > MAX_RANK) throw new FormatError(`${what}: rank ${t.dims.length} (at most ${MAX_RANK})`);
  const dims = t.dims.map(int64);
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_ELEMENTS) throw new FormatError(`${what}: dims [${dims.join(', ')}] are not sizes`);
    count *= d;
    if (count > MAX_ELEMENTS) throw new FormatError(`${what}: dims [${dims.join(', ')}] claim more than 2^31 elements`);
  }
  return { dims, count };
}

/**
 * A TensorProto's values, checked against what it claims before anything is allocated: the data
 * type, the dims, and the length of the one field holding the data (raw_data little-endian, or
 * the typed field). External data, segments and other types are FormatErrors naming them.
 */
export function readTensor(t: TensorMsg, what: string): TensorValues {
  const type = t.data_type ?? 0;
  const size = ELEMENT_BYTES[type];
  if (size === undefined) {
    throw new FormatError(`${what}: data type ${dataTypeName(type)} is not supported (FLOAT, DOUBLE, INT32, INT64 and BOOL are)`);
  }
  if ((t.data_location ?? 0) !== 0 || t.external_data.length) throw new FormatError(`${what}: external data is not supported (save the model with its weights inside)`);
  if (has(t, 'segment')) throw new FormatError(`${what}: segmented tensors are not supported`);
  const { dims, count } = tensorDims(t, what);
  const isFloat = type === DataType.FLOAT || type === DataType.DOUBLE;
  if (!isFloat && count > MAX_INT_ELEMENTS) throw new FormatError(`${what}: an integer tensor of ${count} elements (at most ${MAX_INT_ELEMENTS})`);
  const typed: Record<number, ArrayLike<unknown>> = {
    [DataType.FLOAT]: t.float_data, [DataType.DOUBLE]: t.double_data, [DataType.INT32]: t.int32_data,
    [DataType.BOOL]: t.int32_data, [DataType.INT64]: t.int64_data,
  };
  const others = [t.float_data, t.int32_data, t.int64_data, t.double_data, t.uint64_data, t.string_data].filter((a) => a !== typed[type] && a.length);
  if (others.length) throw new FormatError(`${what}: holds values in a field that does not match its data type ${dataTypeName(type)}`);
  if (has(t, 'raw_data')) {
    const raw = t.raw_data!;
    if (typed[type].length) throw new FormatError(`${what}: holds its values twice (raw_data and a typed field)`);
    if (raw.length !== count * size) {
      throw new FormatError(`${what}: dims [${dims.join(', ')}] of ${dataTypeName(type)} need ${count * size} bytes, raw_data has ${raw.length}`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (isFloat) {
      const out = new Float32Array(count);
      if (type === DataType.FLOAT) for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      else for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return { dims, floats: out, ints: null };
    }
    const ints = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      ints[i] = type === DataType.INT64 ? Number(view.getBigInt64(8 * i, true)) : type === DataType.INT32 ? view.getInt32(4 * i, true) : view.getUint8(i);
    }
    return { dims, floats: null, ints };
  }
  const values = typed[type];
  if (values.length !== count) throw new FormatError(`${what}: dims [${dims.join(', ')}] need ${count} values, it holds ${values.length}`);
  if (isFloat) return { dims, floats: Float32Array.from(values as ArrayLike<number>), ints: null };
  return { dims, floats: null, ints: Array.from(values, (v) => (type === DataType.INT64 ? int64(v) : Number(v))) };
}
