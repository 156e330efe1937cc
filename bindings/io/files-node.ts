// Model files in Node, Bun and Deno: saveModelFile writes to a temporary file beside the target
// and renames it over the target, so a crash (or a full disk) never leaves half a model where a
// whole one was; the loaders read the file and parse it as the in-memory versions do.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Sequential } from '../model/sequential.js';
import { loadCheckpoint, loadModel, type Checkpoint, type LoadOptions, type SaveOptions } from './checkpoint.js';

/** Writes model.save(options) to `path` atomically (a temporary file, flushed, then renamed). */
export async function saveModelFile(model: Sequential, path: string, options?: SaveOptions): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ConfigError(`saveModelFile: path must be a file name, got ${String(path)}`);
  const bytes = model.save(options);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (e) {
    await unlink(temporary).catch(() => undefined);
    throw new ConfigError(`saveModelFile: cannot write ${path} (${(e as Error).message})`, { cause: e });
  }
}

async function read(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ConfigError(`${what}: cannot read ${path} (${(e as Error).message})`, { cause: e });
  }
}

/** Sequential.load of a file. */
export async function loadModelFile(path: string, options?: LoadOptions): Promise<Sequential> {
  return loadModel(await read(path, 'loadModelFile'), options);
}

/** loadCheckpoint of a file. */
export async function loadCheckpointFile(path: string, options?: LoadOptions): Promise<Checkpoint> {
  return loadCheckpoint(await read(path, 'loadCheckpointFile'), options);
}
