// Chromium, in the page: bundled by esbuild with no configuration (platform 'browser'), so the
// package's browser entry with the wasm embedded. The test calls window.runConformance(tier, threads).
import * as simdnet from 'simdnet';
import { run } from './suite.mjs';

globalThis.runConformance = (tier, threads = 1) => run(simdnet, { tier, threads });
globalThis.conformanceReady = true;
