// The browser entry bundles with no configuration: esbuild with platform 'browser', no
// externals, no loaders; nothing node:* anywhere in its graph; the wasm inside it. Size budgets
// for each wasm build and for the minified, gzipped browser entry (the README states the sizes).
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const entry = new URL('../bindings/entry/browser.ts', import.meta.url).pathname;
const KiB = 1024;

describe('bundling', () => {
  it('the browser entry bundles for the browser with no externals or loaders, and imports nothing node:*', async () => {
    const result = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'browser', logLevel: 'silent', metafile: true });
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/["']node:/);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).toContain('SIMD_WASM_BASE64');
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('bindings/runtime/source-inline.ts');
    expect(inputs.filter((f) => /node/.test(f)), 'no Node-only module in the graph').toEqual([]);
  });

  it('size budgets: each wasm build under 16 KiB gzipped, the minified browser entry (wasm inside) under 72 KiB gzipped', async () => {
    for (const file of ['simdnet.wasm', 'simdnet-relaxed.wasm']) {
      const gz = gzipSync(readFileSync(new URL(`../build/${file}`, import.meta.url)), { level: 9 }).length;
      expect(gz, file).toBeLessThan(16 * KiB);
    }
    const result = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'browser', minify: true, logLevel: 'silent' });
    const bytes = result.outputFiles[0].contents;
    expect(gzipSync(bytes, { level: 9 }).length).toBeLessThan(72 * KiB);
  });
});
