// Chromium, in a dedicated Web Worker (a module worker): the same browser bundle as the page.
// Receives { tier, threads }, answers with the result (or { error } if the suite threw).
import * as simdnet from 'simdnet';
import { run } from './suite.mjs';

globalThis.onmessage = async (event) => {
  try {
    globalThis.postMessage(await run(simdnet, event.data));
  } catch (e) {
    globalThis.postMessage({ thrown: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` });
  }
};
