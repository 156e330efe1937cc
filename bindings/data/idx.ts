// The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian header
// [0, 0, type, ndims], ndims big-endian u32 dimensions, then the data. Only unsigned bytes (0x08)
// occur in MNIST and only those are read here.

import { FormatError, describe } from '../errors.js';
import { privateU8 } from '../memory/view.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX buffer of unsigned bytes, checking the header against the data length. */
export function parseIdx(input: Uint8Array | ArrayBuffer | ArrayBufferView, name = 'IDX data'): IdxArray {
  let bytes: Uint8Array | null = null;
  try {
    bytes = privateU8(input);
  } catch (e) {
    throw new FormatError(`${name}: cannot read the bytes (${(e as Error).message})`, { cause: e });
  }
  if (!bytes) throw new FormatError(`${name}: IDX data must be bytes (a Uint8Array or an ArrayBuffer), got ${describe(input)}`);
  if (bytes.length < 4) throw new FormatError(`${name}: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new FormatError(`${name}: not an IDX file (magic bytes ${bytes[0]}, ${bytes[1]}; expected 0, 0)`);
  if (bytes[2] !== 0x08) throw new FormatError(`${name}: IDX element type 0x${bytes[2].toString(16)} is not supported (expected 0x08, unsigned byte)`);
  const ndims = bytes[3];
  if (ndims < 1 || ndims > 4) throw new FormatError(`${name}: IDX header claims ${ndims} dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new FormatError(`${name}: truncated IDX header (${bytes.length} of ${headerBytes} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = bytes.length - headerBytes;
  if (have < count) throw new FormatError(`${name}: truncated: header [${dims.join(', ')}] needs ${count} data bytes, the file has ${have}`);
  if (have > count) throw new FormatError(`${name}: ${have - count} unexpected bytes after the data of shape [${dims.join(', ')}]`);
  return { dims, data: bytes.subarray(headerBytes) };
}
