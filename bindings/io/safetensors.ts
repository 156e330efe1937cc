// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header (starting with '{', padded with spaces to a multiple of
// 8), then the raw little-endian tensor data, tensor after tensor with no holes. The header maps
// each name to { dtype, shape, data_offsets: [begin, end) } relative to the data, plus an optional
// "__metadata__" map of strings.
//
// The reader takes untrusted bytes: everything is checked against the file's own length before
// anything is allocated, so a header claiming 2^40 elements is a FormatError, not an allocation;
// every failure is a FormatError naming the problem.

import { FormatError, describe } from '../errors.js';
import { privateU8 } from '../memory/view.js';

/** The element types read (converted to float32 / numbers) and written (F32, I64). */
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** The values as float32 (F32 as is; other types converted; I64 within +-2^53 exactly). */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write: float32 values (F32) or integers (I64, e.g. BatchNorm's num_batches_tracked). */
export interface TensorToWrite {
  dtype: 'F32' | 'I64';
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** The bytes of a safetensors file holding `tensors` (in the order given) and `metadata`. */
export function encodeSafetensors(tensors: [string, TensorToWrite][], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new FormatError(`safetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const bytes = count * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  json += ' '.repeat(padded - headerBytes.length);
  headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === 'F32') { view.setFloat32(at, t.data[i], true); at += 4; }
      else { view.setBigInt64(at, BigInt(Math.trunc(t.data[i])), true); at += 8; }
    }
  }
  return out;
}

/** Parses and checks a safetensors file (FormatError for anything malformed, naming it). */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer, what = 'safetensors'): SafetensorsFile {
  let bytes: Uint8Array | null;
  try { bytes = privateU8(input); } catch (e) { throw new FormatError(`${what}: cannot read the bytes (${(e as Error).message})`, { cause: e }); }
  if (!bytes) throw new FormatError(`${what}: expected the bytes of a file (a Uint8Array or an ArrayBuffer), got ${describe(input)}`);
  if (bytes.length < 8) throw new FormatError(`${what}: ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new FormatError(`${what}: the header claims ${headerLength} bytes, the file has ${bytes.length - 8} after the length` +
      (headerLength > BigInt(MAX_HEADER_BYTES) ? ` (at most ${MAX_HEADER_BYTES} are accepted)` : ''));
  }
  const n = Number(headerLength);
  if (n < 2 || bytes[8] !== 0x7b) throw new FormatError(`${what}: the header does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new FormatError(`${what}: the header is not valid UTF-8 JSON (${(e as Error).message})`, { cause: e });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new FormatError(`${what}: the header is not a JSON object`);
  const dataStart = 8 + n, dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError(`${what}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new FormatError(`${what}: __metadata__['${k}'] is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== 'object') throw new FormatError(`${what}: tensor '${name}' is not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) throw new FormatError(`${what}: tensor '${name}' has dtype ${describe(t.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    if (!Array.isArray(t.shape) || t.shape.length > 8 || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(`${what}: tensor '${name}' has an invalid shape ${describe(t.shape)}`);
    }
    const o = t.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((x) => Number.isSafeInteger(x) && x >= 0) || o[0] > o[1] || o[1] > dataLength) {
      throw new FormatError(`${what}: tensor '${name}' has data_offsets ${describe(o)} outside the ${dataLength} data bytes`);
    }
    // the element count from the shape, bounded by what the offsets (inside the file) allow
    let count = 1;
    for (const d of t.shape as number[]) count *= d;
    const size = DTYPE_BYTES[t.dtype];
    if (count * size !== o[1] - o[0]) {
      throw new FormatError(`${what}: tensor '${name}' of shape [${(t.shape as number[]).join(', ')}] ${t.dtype} needs ${count * size} bytes, ` +
        `its data_offsets give ${o[1] - o[0]}`);
    }
    entries.push({ name, dtype: t.dtype, shape: [...(t.shape as number[])], begin: o[0], end: o[1] });
  }
  // the data is the tensors end to end: no holes, no overlaps, nothing after
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin !== expected) throw new FormatError(`${what}: tensor '${e.name}' starts at byte ${e.begin} of the data, expected ${expected} (a hole or an overlap)`);
    expected = e.end;
  }
  if (expected !== dataLength) throw new FormatError(`${what}: the tensors cover ${expected} of the ${dataLength} data bytes`);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: convert(view, dataStart + e.begin, e, what) });
  return { tensors, metadata };
}

function convert(view: DataView, at: number, e: { name: string; dtype: string; begin: number; end: number }, what: string): Float32Array {
  const size = DTYPE_BYTES[e.dtype], n = (e.end - e.begin) / size;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++, at += size) {
    switch (e.dtype) {
      case 'F32': out[i] = view.getFloat32(at, true); break;
      case 'F64': out[i] = view.getFloat64(at, true); break;
      case 'F16': out[i] = half(view.getUint16(at, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([view.getUint16(at, true) << 16]).buffer)[0]; break;
      case 'I64': {
        const v = view.getBigInt64(at, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new FormatError(`${what}: tensor '${e.name}' holds the integer ${v}, beyond what a float32 model can take`);
        }
        out[i] = Number(v);
        break;
      }
      case 'I32': out[i] = view.getInt32(at, true); break;
      case 'I16': out[i] = view.getInt16(at, true); break;
      case 'I8': out[i] = view.getInt8(at); break;
      default: out[i] = view.getUint8(at); // U8, BOOL
    }
  }
  return out;
}

/** IEEE half precision to a number. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
