// The demo's data file: a training subset and the test set of MNIST as raw bytes, in one
// gzip-compressed file (mnist.bin.gz, written by tools/build-demo.mjs). One file instead of the
// four IDX files because the page loads it in a single request and the worker decompresses it with
// the browser's own DecompressionStream: no network beyond the demo's origin, no inflate library.
//
// Layout (little-endian uint32 header, then bytes):
//   'SNMD' (magic), version 1, trainCount, testCount, rows, cols,
//   train images (trainCount * rows * cols), train labels (trainCount),
//   test images (testCount * rows * cols), test labels (testCount).
// This module is plain JavaScript with no imports so that both the Node build script and the
// bundled worker can use it.

export const MAGIC = 0x444d4e53; // 'SNMD' read as a little-endian uint32
export const VERSION = 1;
const HEADER_BYTES = 24;

/**
 * @typedef {{ images: Uint8Array, labels: Uint8Array, count: number }} Split
 * @typedef {{ train: Split, test: Split, rows: number, cols: number }} DemoData
 */

/** Packs the splits into the file's layout (uncompressed). @param {DemoData} data */
export function encodeDataset(data) {
  const { train, test, rows, cols } = data;
  const px = rows * cols;
  const size = HEADER_BYTES + (train.count + test.count) * (px + 1);
  const out = new Uint8Array(size);
  const header = new DataView(out.buffer);
  [MAGIC, VERSION, train.count, test.count, rows, cols].forEach((v, i) => header.setUint32(4 * i, v, true));
  let at = HEADER_BYTES;
  for (const part of [train.images.subarray(0, train.count * px), train.labels.subarray(0, train.count),
    test.images.subarray(0, test.count * px), test.labels.subarray(0, test.count)]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Reads the file's layout back; the arrays are views of `bytes`. @param {Uint8Array} bytes @returns {DemoData} */
export function decodeDataset(bytes) {
  if (bytes.length < HEADER_BYTES) throw new Error(`demo data: ${bytes.length} bytes is too short for the header`);
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const [magic, version, trainCount, testCount, rows, cols] = Array.from({ length: 6 }, (_, i) => header.getUint32(4 * i, true));
  if (magic !== MAGIC || version !== VERSION) throw new Error('demo data: not a simdnet demo data file (rebuild it: npm run build:demo)');
  const px = rows * cols;
  const expected = HEADER_BYTES + (trainCount + testCount) * (px + 1);
  if (bytes.length !== expected) throw new Error(`demo data: ${bytes.length} bytes, the header says ${expected}`);
  let at = HEADER_BYTES;
  const take = (n) => bytes.subarray(at, (at += n));
  const train = { images: take(trainCount * px), labels: take(trainCount), count: trainCount };
  const test = { images: take(testCount * px), labels: take(testCount), count: testCount };
  return { train, test, rows, cols };
}

/** Fetches and gunzips the data file in the browser (DecompressionStream). @param {string | URL} url */
export async function fetchDataset(url) {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`demo data: fetching ${url} gave HTTP ${response.status}`);
  const inflated = response.body.pipeThrough(new DecompressionStream('gzip'));
  return decodeDataset(new Uint8Array(await new Response(inflated).arrayBuffer()));
}
