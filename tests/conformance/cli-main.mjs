// Node, Bun and Deno: `<runtime> main.mjs <tier> [threads]` inside the consumer project. The package is
// imported by name, so each runtime's export condition picks the entry (node, bun, deno).
// Prints one line: CONFORMANCE <json>.
import * as simdnet from 'simdnet';
import { run } from './suite.mjs';

const args = globalThis.Deno?.args ?? globalThis.process.argv.slice(2);
const result = await run(simdnet, { tier: args[0] ?? 'simd', threads: Number(args[1] ?? 1) });
console.log(`CONFORMANCE ${JSON.stringify(result)}`);
