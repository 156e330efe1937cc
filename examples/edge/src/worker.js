// simdnet on the edge: a Cloudflare Worker (workerd) that classifies MNIST digits with a model
// bundled with it, and trains a model sent to it a few steps at a time.
//
//   GET  /             what this worker does, as JSON
//   POST /predict      one 28x28 image (JSON or 784 raw bytes, see input.js)
//                      -> { probabilities: [10 numbers summing to 1], predicted: 0..9 }
//   GET  /model        the bundled /predict model (safetensors; Sequential.load reads it)
//   GET  /checkpoint   the starting checkpoint for /train (a fresh model, its optimizer, epoch 0)
//   POST /train?steps=N   body: a checkpoint (safetensors, application/octet-stream)
//                      -> the checkpoint after N more steps on the bundled training subset
//                      (headers x-simdnet-epoch, x-simdnet-step, x-simdnet-loss), see train.js
// Errors are JSON { error, message }: error is the name of the library's typed error
// (ShapeError, InputError, FormatError, ConfigError, NumericError, MemoryError) for what the
// request got wrong, with status 400 (422 for a step that diverged, 413 for a body too large).
//
// The data files are bundled as Data modules (ArrayBuffers; the [[rules]] of wrangler.toml) and
// made by build.mjs. simdnet's `workerd` entry imports its .wasm as modules, which wrangler
// compiles ahead of time: workerd compiles no wasm from bytes.
import { init, parseIdx, Sequential, SimdnetError, MemoryError } from 'simdnet';
import modelFile from '../dist/model.safetensors';
import initialFile from '../dist/initial.safetensors';
import imagesFile from '../dist/train-images.idx';
import labelsFile from '../dist/train-labels.idx';
import { readImage } from './input.js';
import { BATCH_SIZE, stepsOf, train, trainingSet } from './train.js';

const MAX_BODY = 4 << 20;   // a checkpoint of the course MLP is 432 KB
const MAX_IMAGE = 64 << 10;  // 784 pixels as JSON with 17 digits each: 15 KB

let ready = null;   // per isolate: the runtime, the /predict model and the training subset, made once

async function setUp() {
  // the bit-exact tier, so that a checkpoint trains to the same bits here as in Node or a browser;
  // the wasm memory never shrinks, so an isolate (128 MB in all) caps it
  await init({ tier: 'simd', maxMemoryBytes: 64 << 20 });
  const model = Sequential.load(modelFile);
  const data = trainingSet(parseIdx(imagesFile, 'train-images.idx'), parseIdx(labelsFile, 'train-labels.idx'));
  return { model, data };
}

const json = (body, status = 200, headers = {}) => Response.json(body, { status, headers });

function failure(e) {
  if (e instanceof SimdnetError) {
    const status = e.name === 'NumericError' ? 422 : e instanceof MemoryError ? 413 : 400;
    return json({ error: e.name, message: e.message }, status);
  }
  throw e;   // a bug of the worker's, not the request's: a 500 with the stack in the logs
}

function describe(env, data) {
  return {
    name: 'simdnet edge example',
    model: 'MNIST MLP 784-64-32-32-10 (ReLU, LogSoftmax), trained by build.mjs',
    routes: {
      'POST /predict': 'a 28x28 image: JSON [784 numbers in [0,1] or 0..255] or { "pixels": [...] }, or 784 bytes as application/octet-stream -> { probabilities, predicted }',
      'GET /model': 'the /predict model as safetensors',
      'GET /checkpoint': 'the starting checkpoint for /train (fresh weights, SGD lr 0.05 momentum 0.9, epoch 0)',
      'POST /train?steps=N': `a checkpoint as application/octet-stream -> the checkpoint after N (1..${maxSteps(env)}) steps`,
    },
    training: { images: data.count, batchSize: BATCH_SIZE, stepsPerEpoch: data.stepsPerEpoch, maxSteps: maxSteps(env) },
  };
}

const maxSteps = (env) => Number(env?.MAX_STEPS ?? 200);

const tooLarge = (request, limit) => Number(request.headers.get('content-length') ?? 0) > limit;
const payloadTooLarge = (what, limit) => json({ error: 'PayloadTooLarge', message: `${what} is over ${limit} bytes` }, 413);

const safetensors = (bytes, headers = {}) => new Response(bytes, {
  headers: { 'content-type': 'application/octet-stream', ...headers },
});

export default {
  async fetch(request, env) {
    const { model, data } = await (ready ??= setUp().catch((e) => { ready = null; throw e; }));
    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname}`;
    try {
      switch (route) {
        case 'GET /':
          return json(describe(env, data));
        case 'GET /model':
          return safetensors(modelFile);
        case 'GET /checkpoint':
          return safetensors(initialFile);
        case 'POST /predict': {
          if (tooLarge(request, MAX_IMAGE)) return payloadTooLarge('predict: the image', MAX_IMAGE);
          const x = await readImage(request);
          const logProbs = model.predict(x).data;
          const probabilities = Array.from(logProbs, Math.exp);
          let predicted = 0;
          for (let k = 1; k < logProbs.length; k++) if (logProbs[k] > logProbs[predicted]) predicted = k;
          return json({ probabilities, predicted });
        }
        case 'POST /train': {
          const steps = stepsOf(url, maxSteps(env));
          if (tooLarge(request, MAX_BODY)) return payloadTooLarge('train: the checkpoint', MAX_BODY);
          const bytes = new Uint8Array(await request.arrayBuffer());
          if (bytes.length > MAX_BODY) return payloadTooLarge('train: the checkpoint', MAX_BODY);
          const r = train(bytes, steps, data);
          return safetensors(r.checkpoint, {
            'x-simdnet-steps': String(steps), 'x-simdnet-epoch': String(r.epoch),
            'x-simdnet-step': String(r.step), 'x-simdnet-loss': String(r.loss),
          });
        }
        default: {
          const known = ['GET /', 'GET /model', 'GET /checkpoint', 'POST /predict', 'POST /train'];
          const path = known.filter((r) => r.endsWith(` ${url.pathname}`));
          if (path.length) return json({ error: 'MethodNotAllowed', message: `${route}: use ${path.join(' or ')}` }, 405, { allow: path.map((r) => r.split(' ')[0]).join(', ') });
          return json({ error: 'NotFound', message: `${route}: the routes are ${known.join(', ')}` }, 404);
        }
      }
    } catch (e) {
      return failure(e);
    }
  },
};
