// Trains the worker's starting checkpoint across many short requests, then evaluates the result
// here, in Node, on the MNIST test set:
//   node examples/edge/client.mjs [--url http://127.0.0.1:8787] [--requests 10] [--steps 50] [--out checkpoint.safetensors]
// Each POST /train sends the checkpoint the previous one returned; the worker keeps nothing.
import { writeFileSync } from 'node:fs';
import { init, loadCheckpoint, loadMnist, scalePixels, NLLLoss } from 'simdnet';

const o = { url: 'http://127.0.0.1:8787', requests: 10, steps: 50, out: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in o) || process.argv[i + 1] === undefined) throw new Error(`client.mjs: unknown flag or missing value: ${process.argv[i]}`);
  o[name] = typeof o[name] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

async function call(path, init) {
  const res = await fetch(new URL(path, o.url), init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res;
}

await init({ tier: 'simd' });
const mnist = await loadMnist({ trainLimit: 1 });
const x = scalePixels(mnist.test.images);
const evaluate = (bytes) => {
  const { model, optimizer } = loadCheckpoint(bytes);
  model.compile({ loss: new NLLLoss(), optimizer });
  const r = model.evaluate(x, mnist.test.labels);
  model.dispose();
  return r;
};

let checkpoint = new Uint8Array(await (await call('/checkpoint')).arrayBuffer());
console.log(`start: test accuracy ${(evaluate(checkpoint).accuracy * 100).toFixed(2)}%`);
for (let k = 1; k <= o.requests; k++) {
  const started = performance.now();
  const res = await call(`/train?steps=${o.steps}`, {
    method: 'POST', body: checkpoint, headers: { 'content-type': 'application/octet-stream' },
  });
  checkpoint = new Uint8Array(await res.arrayBuffer());
  const h = (name) => res.headers.get(`x-simdnet-${name}`);
  console.log(`request ${k}: ${o.steps} steps in ${(performance.now() - started).toFixed(0)} ms, step ${h('step')}, ` +
    `epoch ${h('epoch')}, mean training loss ${Number(h('loss')).toFixed(4)}`);
}
const r = evaluate(checkpoint);
console.log(`after ${o.requests} x ${o.steps} steps: test loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`);
if (o.out) writeFileSync(o.out, checkpoint);
