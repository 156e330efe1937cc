// Node's worker_threads for the thread pool. The Worker class is passed in, so the entries that
// import node:worker_threads (index.ts) and those that find it at run time (the CommonJS bundle,
// through process.getBuiltinModule) share this code.

import type { PoolWorker, StartWorker } from './threads.js';

// a dynamic import works whether Node runs eval'd workers as CommonJS or, under the parent's
// --input-type=module, as a module; the first message waits in the port until the listener is on
const PROLOGUE = 'let port = null;\n' +
  "const onMessage = (f) => { import('node:worker_threads').then((m) => { port = m.parentPort; port.once('message', f); }); };\n" +
  'const post = (m) => port.postMessage(m);\n';

interface NodeWorker {
  postMessage(message: unknown): void;
  on(event: 'message' | 'error', listener: (value: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}
export type NodeWorkerClass = new (code: string, options: { eval: true }) => NodeWorker;

export function nodeWorkerStarter(Worker: NodeWorkerClass): StartWorker {
  return (body: string): PoolWorker => {
    const worker = new Worker(PROLOGUE + body, { eval: true });
    return {
      post: (message) => worker.postMessage(message),
      onMessage: (listener) => { worker.on('message', listener); },
      onError: (listener) => { worker.on('error', listener); },
      unref: () => worker.unref(),
      terminate: () => { void worker.terminate(); },
    };
  };
}
