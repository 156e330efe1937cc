// The image of a POST /predict: 784 pixels (one 28x28 MNIST image, rows first) as
//   - raw bytes (Content-Type: application/octet-stream): 784 uint8, 0..255;
//   - JSON (any other Content-Type): an array of 784 numbers, or { "pixels": [...] }, the pixels either in [0, 1] or in
//     0..255 (read as 0..255 when any value is above 1); 28 rows of 28 numbers are taken too.
// Returns the input as the model takes it: a [1, 784] Tensor in [0, 1], scaled as scalePixels
// scales (v * (1 / 255) in float32). What is wrong with the input is the library's typed error
// (ShapeError, InputError, FormatError), which the worker answers with 400.
import { FormatError, InputError, Tensor, toTensor } from 'simdnet';

export const PIXELS = 784;
const SCALE = 1 / 255;

/** The image of the request as a [1, 784] Tensor, or a SimdnetError saying what is wrong. */
export async function readImage(request) {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/octet-stream') {
    const bytes = new Uint8Array(await request.arrayBuffer());
    // toTensor checks the length against the shape (a ShapeError) and scales by 1/255
    return toTensor(bytes, [1, PIXELS]);
  }
  // anything else is read as JSON (curl -d sends application/x-www-form-urlencoded)
  const text = await request.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`predict: the body is not valid JSON (${e.message}); send JSON, or 784 bytes as application/octet-stream`, { cause: e });
  }
  let pixels = Array.isArray(body) ? body : body !== null && typeof body === 'object' && 'pixels' in body ? body.pixels : undefined;
  if (!Array.isArray(pixels)) {
    throw new InputError('predict: expected a JSON array of 784 pixels or { "pixels": [...] }, ' +
      `got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
  }
  if (pixels.length === 28 && pixels.every((row) => Array.isArray(row))) {
    const bad = pixels.findIndex((row) => row.length !== 28);
    if (bad >= 0) throw new InputError(`predict: row ${bad} of the 28x28 image has ${pixels[bad].length} pixels, not 28`);
    pixels = pixels.flat();
  }
  // the library checks the length (ShapeError) and that every element is a number (InputError);
  // NaN and Infinity (in float32) it refuses in predict, but the range is ours to check
  const values = new Tensor(pixels, [1, PIXELS]).data;
  let max = 0;
  for (let i = 0; i < PIXELS; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 255)) {
      throw new InputError(`predict: pixel ${i} is ${Number.isNaN(v) ? 'NaN' : v} (as float32): pixels are in [0, 1] or 0..255`);
    }
    if (v > max) max = v;
  }
  const scaled = max > 1 ? Float32Array.from(values, (v) => v * SCALE) : values;
  return new Tensor(scaled, [1, PIXELS]);
}
