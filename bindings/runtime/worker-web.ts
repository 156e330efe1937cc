// Web Workers for the thread pool (browsers, Deno, Bun): the worker's script as a Blob URL, so
// there is no worker file for a bundler to find or a server to serve.

import type { PoolWorker } from './threads.js';

const PROLOGUE = 'const onMessage = (f) => { self.onmessage = (e) => { self.onmessage = null; f(e.data); }; };\n' +
  'const post = (m) => self.postMessage(m);\n';

export function startWebWorker(body: string): PoolWorker {
  const url = URL.createObjectURL(new Blob([PROLOGUE + body], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => { worker.onmessage = (e: MessageEvent) => listener(e.data); },
    onError: (listener) => { worker.onerror = (e: ErrorEvent) => { e.preventDefault?.(); listener(new Error(e.message || 'the worker failed to start')); }; },
    unref: () => { URL.revokeObjectURL(url); (worker as { unref?: () => void }).unref?.(); },
    terminate: () => { URL.revokeObjectURL(url); worker.terminate(); },
  };
}

/** Why this global scope cannot start Web Workers for the pool, or null. */
export function noWebWorkers(): string | null {
  if (typeof Worker !== 'function') return 'this runtime has no Worker';
  if (typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function') return 'this runtime cannot start a worker from a Blob URL';
  return null;
}
