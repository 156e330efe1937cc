// npm run bench [-- --json] [-- --quick] [-- --only simdnet,torch] [-- --threads N] [-- --torch-python PATH]
// Rows: GEMM, MLP inference (b1, b1000), MLP epochs (SGD, Adam), cold start, the CNN convolutions,
// inference and training step.
//
// Runs every workload on simdnet, on TensorFlow.js's WASM backend (XNNPACK, SIMD, one thread:
// TF.js disables threads in Node) and on PyTorch (CPU, `--threads` threads, default 1; see
// bench/torch.ts) side by side in this one run, section by section, and prints a markdown table
// with the ratios per row. Machines are shared and noisy: compare ratios, not absolute figures.
// Systems: simdnet, tfjs-wasm, torch (all by default; torch is skipped with one line when no
// Python can import it). `--threads` applies to torch only: simdnet and TF.js-wasm run one thread.
// The npm script raises glibc's malloc trim/mmap thresholds: otherwise TF.js's predict, which
// copies each input batch into fresh memory, pays hundreds of page faults per call (the torch
// child inherits the same environment).
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { init, loadMnist, scalePixels, Generator, type Mnist } from '../bindings/index.js';
import {
  simdnetGemmGflops, simdnetMlpEpochSeconds, simdnetMlpInference, median,
  simdnetCnnApi, simdnetConv2dMs, simdnetCnnInferMs, simdnetCnnTrainStepMs, convFlops, type CnnBatches, type ConvSpec,
} from './simdnet.js';
import {
  initTfjsWasm, tfjsGemmGflops, tfjsMlpEpochSeconds, tfjsMlpInference, tfjsConv2dMs, tfjsCnnInferMs, tfjsCnnTrainStep,
  type TfjsInfo,
} from './tfjs.js';
import { startTorch, type TorchSession } from './torch.js';

interface Result {
  system: string;
  workload: string;
  metric: string;
  /** null when the system could not run the workload: see error. */
  value: number | null;
  unit: string;
  threads: number;
  /** Conv rows: the time as GFLOP/s (2 * multiply-adds of the convolution, bias not counted). */
  gflops?: number;
  /** Why there is no value ("not supported: ..." or the failure's message). */
  error?: string;
  note?: string;
}

const SYSTEMS = ['simdnet', 'tfjs-wasm', 'torch'];
const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'torch-python': { type: 'string' },
  },
});
const log = args.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => console.log(s);
const systems = new Set(args.only ? args.only.split(',').map((s) => s.trim()) : SYSTEMS);
for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`--only: unknown system '${s}' (known: ${SYSTEMS.join(', ')})`);
const torchThreads = Number(args.threads);
if (!Number.isInteger(torchThreads) || torchThreads < 1) throw new Error(`--threads must be a positive integer, got '${args.threads}'`);
const minSeconds = args.quick ? 0.3 : 1;

const CNN = 'Conv2d(1,32,5,p2)-ReLU-MaxPool2d(2)-Conv2d(32,64,5,p2)-ReLU-MaxPool2d(2)-Flatten-Linear(3136,128)-ReLU-Linear(128,10)';
const CONVS: [string, ConvSpec][] = [
  ['conv2d_1x32x5_28', { batch: 64, inChannels: 1, outChannels: 32, kernelSize: 5, size: 28, padding: 2 }],
  ['conv2d_32x64x5_14', { batch: 64, inChannels: 32, outChannels: 64, kernelSize: 5, size: 14, padding: 2 }],
];

/**
 * Cold start as a serverless instance pays it: a fresh Node process (this one's executable)
 * imports the package entry, calls init(), builds the course MLP and predicts one image. Timed
 * inside the child from the first line of its script (Node's own bootstrap, which no library can
 * shorten, is reported beside it: from process start, performance.timeOrigin); medians of `runs`.
 */
function coldStartMs(runs: number): { ms: number; fromProcessStartMs: number } {
  const entry = new URL('../bindings/index.js', import.meta.url).href;
  const script = `const t0 = performance.now();
const { init, Sequential, Linear, ReLU, LogSoftmax, Tensor } = await import(${JSON.stringify(entry)});
await init();
const m = new Sequential([new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 10), new LogSoftmax(1)]);
m.predict(new Tensor(new Float32Array(784).fill(0.5), [1, 784]));
const t1 = performance.now();
console.log(JSON.stringify([t1 - t0, t1]));`;
  const inScript: number[] = [], total: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const [a, b] = JSON.parse(out.trim().split('\n').pop()!) as [number, number];
    inScript.push(a);
    total.push(b);
  }
  return { ms: median(inScript), fromProcessStartMs: median(total) };
}

async function main(): Promise<void> {
  const rt = await init();
  let tf: TfjsInfo | null = null;
  if (systems.has('tfjs-wasm')) tf = await initTfjsWasm();
  let torch: TorchSession | null = null;
  const skipped: string[] = [];
  if (systems.has('torch')) {
    const t = await startTorch({ threads: torchThreads, python: args['torch-python'], log: (line) => process.stderr.write(line + '\n') });
    if (typeof t === 'string') {
      skipped.push(`torch skipped: ${t}`);
      log(`torch skipped: ${t}`);
    } else {
      torch = t;
      const i = t.info;
      log(`torch ${i.version} (${i.executable}), ${i.threads} thread(s); BLAS ${i.blasLibraries?.find((l) => /openblas/i.test(l)) ?? i.blas}; ` +
        `ATen ${i.cpuCapability}; oneDNN ${i.onednnIsa?.convImpl ?? '?'} (${i.onednnIsa?.isa ?? '?'}); conv via ${i.convOps.filter((o) => /mkldnn|slow|thnn|winograd/.test(o)).join(', ') || i.convOps.join(', ')}`);
    }
  }

  const results: Result[] = [];
  const threadsOf = (system: string) => (system === 'torch' && torch ? torch.info.threads : 1);
  const add = (system: string, workload: string, metric: string, value: number, unit: string, extra: Partial<Result> = {}) => {
    results.push({ system, workload, metric, value, unit, threads: threadsOf(system), ...extra });
    log(`  ${system.padEnd(15)} ${workload.padEnd(18)} ${format(value)} ${unit}` +
      (extra.gflops !== undefined ? ` (${format(extra.gflops)} GFLOP/s)` : '') + (extra.note ? `  [${extra.note}]` : ''));
  };
  const fail = (system: string, workload: string, metric: string, unit: string, error: string) => {
    results.push({ system, workload, metric, value: null, unit, threads: threadsOf(system), error });
    log(`  ${system.padEnd(15)} ${workload.padEnd(18)} ${error}`);
  };
  /** Runs a torch measurement; a failure becomes an error row and the bench goes on. */
  const viaTorch = async (workload: string, metric: string, unit: string, f: (t: TorchSession) => Promise<void>) => {
    if (!torch) return;
    try {
      await f(torch);
    } catch (e) {
      fail('torch', workload, metric, unit, `failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  try {
    log('GEMM (C = A . B, f32)');
    for (const [M, K, N, name] of [[32, 784, 64, 'gemm_32x784x64'], [256, 256, 256, 'gemm_256'], [1024, 1024, 1024, 'gemm_1024']] as const) {
      if (systems.has('simdnet')) add('simdnet', name, 'gflops', simdnetGemmGflops(rt, M, K, N, minSeconds), 'GFLOP/s');
      if (tf) add('tfjs-wasm', name, 'gflops', await tfjsGemmGflops(M, K, N, minSeconds), 'GFLOP/s');
      await viaTorch(name, 'gflops', 'GFLOP/s', async (t) => add('torch', name, 'gflops', await t.gemmGflops(M, K, N, minSeconds), 'GFLOP/s'));
    }

    log('Inference, course MLP 784-64-32-32-10');
    if (systems.has('simdnet')) {
      const r = simdnetMlpInference(rt, minSeconds);
      add('simdnet', 'mlp_infer_b1', 'latency', r.latencyB1Us, 'us');
      add('simdnet', 'mlp_infer_b1000', 'throughput', r.throughputB1000, 'img/s');
    }
    if (tf) {
      const r = await tfjsMlpInference(undefined, minSeconds);
      add('tfjs-wasm', 'mlp_infer_b1', 'latency', r.latencyB1Us, 'us');
      add('tfjs-wasm', 'mlp_infer_b1000', 'throughput', r.throughputB1000, 'img/s');
      // model.apply skips predict's input slicing: TF.js at its best, reported beside predict
      add('tfjs-wasm-apply', 'mlp_infer_b1', 'latency', r.latencyB1ApplyUs, 'us');
      add('tfjs-wasm-apply', 'mlp_infer_b1000', 'throughput', r.throughputB1000Apply, 'img/s');
    }
    await viaTorch('mlp_infer_b1', 'latency', 'us', async (t) => {
      const r = await t.mlpInference(minSeconds);
      add('torch', 'mlp_infer_b1', 'latency', r.latencyB1Us, 'us');
      add('torch', 'mlp_infer_b1000', 'throughput', r.throughputB1000, 'img/s');
    });

    // Training: one warm-up epoch, then the median of the timed epochs (ANCHORS.md's method).
    const mnist = await loadMnist();
    const n = args.quick ? 10000 : mnist.train.count;
    const x = scalePixels(mnist.train.images.subarray(0, n * 784));
    const y = Int32Array.from(mnist.train.labels.subarray(0, n));
    const perEpoch = (secs: number[]) => median(secs.slice(1)) * (60000 / n);
    log(`Training, course MLP, SGD lr 0.01, batch 32, ${n} MNIST images per epoch${n < 60000 ? ' (scaled to 60k)' : ''}`);
    if (systems.has('simdnet')) {
      const r = await simdnetMlpEpochSeconds(rt, x, y, { lr: 0.01, batchSize: 32, epochs: 4 });
      add('simdnet', 'mlp_sgd_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    if (tf) {
      const r = await tfjsMlpEpochSeconds(x, y, n, { optimizer: 'sgd', lr: 0.01, batchSize: 32, epochs: 3 });
      add('tfjs-wasm', 'mlp_sgd_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    await viaTorch('mlp_sgd_epoch', 'epoch_time', 's', async (t) => {
      const r = await t.mlpEpochSeconds({ n, lr: 0.01, batchSize: 32, epochs: 4 });
      add('torch', 'mlp_sgd_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    });

    log(`Training, course MLP, Adam lr 0.001, batch 32, ${n} MNIST images per epoch${n < 60000 ? ' (scaled to 60k)' : ''}`);
    if (systems.has('simdnet')) {
      const r = await simdnetMlpEpochSeconds(rt, x, y, { lr: 0.001, batchSize: 32, epochs: 4, optimizer: 'adam' });
      add('simdnet', 'mlp_adam_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    if (tf) {
      const r = await tfjsMlpEpochSeconds(x, y, n, { optimizer: 'adam', lr: 0.001, batchSize: 32, epochs: 3 });
      add('tfjs-wasm', 'mlp_adam_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    await viaTorch('mlp_adam_epoch', 'epoch_time', 's', async (t) => {
      const r = await t.mlpEpochSeconds({ n, lr: 0.001, batchSize: 32, epochs: 4, optimizer: 'adam' });
      add('torch', 'mlp_adam_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    });

    if (systems.has('simdnet')) {
      log('Cold start: a fresh Node process imports simdnet, init(), builds the course MLP, first predict (median of 10)');
      const c = coldStartMs(10);
      add('simdnet', 'cold_start_ms', 'latency', c.ms, 'ms', { note: `${format(c.fromProcessStartMs)} ms from process start, Node's bootstrap included` });
    }

    await cnnRows(mnist);
  } finally {
    await torch?.close();
  }

  /** The issue-4 CNN: each conv layer alone, inference at batch 64, and the Adam training step. */
  async function cnnRows(mnist: Mnist): Promise<void> {
    const batchSize = 64;
    log(`CNN (issue 4), batch ${batchSize}: ${CNN}`);
    // The conv2d_* rows need simdnet's Conv2d only; the model rows need MaxPool2d as well.
    const convApi = simdnetCnnApi(['Conv2d']), api = simdnetCnnApi();
    const simdnetConv = systems.has('simdnet') && typeof convApi !== 'string' ? convApi : null;
    const simdnet = systems.has('simdnet') && typeof api !== 'string' ? api : null;
    if (systems.has('simdnet') && typeof api === 'string') {
      const which = simdnetConv ? 'cnn_infer_b64 and cnn_train_step' : 'CNN rows';
      skipped.push(`simdnet ${which} skipped: ${api}`);
      log(`  simdnet ${which} skipped: ${api}`);
    }
    // Real MNIST batches, the same for simdnet and TF.js (torch draws its own from the same files).
    const count = args.quick ? 4 : 16;
    const pool = Math.min(10000, mnist.train.count);
    const order = new Generator(0).permutation(pool);
    const data: CnnBatches = { batchSize, count, x: new Float32Array(count * batchSize * 784), y: new Int32Array(count * batchSize) };
    for (let i = 0; i < count * batchSize; i++) {
      const j = order[i];
      data.x.set(scalePixels(mnist.train.images.subarray(j * 784, (j + 1) * 784)), i * 784);
      data.y[i] = mnist.train.labels[j];
    }

    for (const [name, c] of CONVS) {
      const gflops = (ms: number) => convFlops(c) / ms / 1e6;
      if (simdnetConv) {
        const ms = simdnetConv2dMs(rt, simdnetConv, c, minSeconds);
        add('simdnet', name, 'time', ms, 'ms', { gflops: gflops(ms) });
      }
      if (tf) {
        const r = tfjsConv2dMs(c, minSeconds);
        add('tfjs-wasm', name, 'time', r.ms, 'ms', { gflops: gflops(r.ms), note: `NHWC, fused conv+bias; with dataSync of the output: ${format(r.msWithReadBack)} ms` });
      }
      await viaTorch(name, 'time', 'ms', async (t) => {
        const ms = await t.conv2dMs(c, minSeconds);
        add('torch', name, 'time', ms, 'ms', { gflops: gflops(ms) });
      });
    }

    if (simdnet) add('simdnet', 'cnn_infer_b64', 'latency', simdnetCnnInferMs(rt, simdnet, data, minSeconds), 'ms');
    if (tf) {
      const r = await tfjsCnnInferMs(data.x, batchSize, minSeconds);
      add('tfjs-wasm', 'cnn_infer_b64', 'latency', r.predictMs, 'ms');
      add('tfjs-wasm-apply', 'cnn_infer_b64', 'latency', r.applyMs, 'ms');
    }
    await viaTorch('cnn_infer_b64', 'latency', 'ms', async (t) => add('torch', 'cnn_infer_b64', 'latency', await t.cnnInferMs(batchSize, minSeconds), 'ms'));

    // Training steps: warm-up steps, then the median of the timed ones.
    const warmup = args.quick ? 2 : 5, timed = args.quick ? 6 : 30, steps = warmup + timed;
    const stepNote = (losses: number[]) => `median of ${timed} steps after ${warmup}; loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`;
    if (simdnet) {
      const r = simdnetCnnTrainStepMs(rt, simdnet, data, steps, 1e-3);
      add('simdnet', 'cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
    }
    if (tf) {
      const r = await tfjsCnnTrainStep(data.x, data.y, batchSize, count, steps, 1e-3);
      if (r.supported) add('tfjs-wasm', 'cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
      else {
        const registered = Object.entries(r.kernels).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ');
        fail('tfjs-wasm', 'cnn_train_step', 'step_time', 'ms', `not supported: model.fit threw "${r.error}" (wasm kernels registered: ${registered})`);
      }
    }
    await viaTorch('cnn_train_step', 'step_time', 'ms', async (t) => {
      const r = await t.cnnTrainStepMs({ steps, lr: 1e-3, batchSize });
      add('torch', 'cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
    });
  }

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}`,
    node: process.version, simdnet_tier: rt.tier,
    tfjs: tf ? { version: tf.version, backend: tf.backend, simd: tf.simd, threads: tf.threads } : null,
    torch: torch ? torch.info : null,
    skipped,
    quick: args.quick,
  };
  const table = markdown(results);
  if (args.json) {
    process.stderr.write(table + '\n');
    console.log(JSON.stringify({ machine, results }));
  } else {
    console.log('\n' + table);
    console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; simdnet tier '${rt.tier}'` +
      (tf ? `; TF.js ${tf.version} wasm (SIMD ${tf.simd}, ${tf.threads} thread)` : '') +
      (torch ? `; PyTorch ${torch.info.version} CPU (${torch.info.threads} thread${torch.info.threads > 1 ? 's' : ''}, ` +
        `oneDNN ${torch.info.onednnIsa?.convImpl ?? '?'} for conv)` : ''));
    for (const s of skipped) console.log(s);
  }
}

/**
 * One row per workload. "simdnet vs X" = how many times better simdnet is than X (higher is better
 * for every metric; above 1: simdnet ahead). TF.js's model.apply figures, where measured, are
 * shown in brackets beside its model.predict ones. The torch columns appear when torch ran.
 * Systems that could not run a workload show "not supported" / "failed", explained under the table.
 */
function markdown(results: Result[]): string {
  const withTorch = results.some((r) => r.system === 'torch');
  const header = ['workload', 'metric', 'simdnet', 'tfjs-wasm', ...(withTorch ? ['torch'] : []), 'simdnet vs tfjs-wasm',
    ...(withTorch ? ['simdnet vs torch'] : [])];
  const rows = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const notes: string[] = [];
  const get = (workload: string, system: string) => results.find((r) => r.workload === workload && r.system === system);
  for (const workload of [...new Set(results.map((r) => r.workload))]) {
    const s = get(workload, 'simdnet'), t = get(workload, 'tfjs-wasm'), apply = get(workload, 'tfjs-wasm-apply');
    const p = get(workload, 'torch');
    const any = results.find((r) => r.workload === workload)!;
    const lowerIsBetter = any.unit === 's' || any.unit === 'ms' || any.unit === 'us';
    const ok = (r?: Result): r is Result & { value: number } => r !== undefined && r.value !== null;
    const ratio = (other?: Result) => !ok(s) || !ok(other) ? '-'
      : (lowerIsBetter ? other.value / s.value : s.value / other.value).toFixed(2) + 'x';
    const cell = (r?: Result) => {
      if (!r) return '-';
      if (!ok(r)) {
        notes.push(`[${notes.length + 1}] ${r.system}, ${r.workload}: ${r.error}`);
        return `${r.error?.startsWith('not supported') ? 'not supported' : 'failed'} [${notes.length}]`;
      }
      return format(r.value) + (r.gflops !== undefined ? ` (${format(r.gflops)} GFLOP/s)` : '');
    };
    const tfjs = cell(t) + (ok(apply) ? ` (apply: ${format(apply.value)})` : '');
    const metric = `${any.metric} (${any.unit})`;
    rows.push(`| ${[workload, metric, cell(s), tfjs, ...(withTorch ? [cell(p)] : []),
      ratio(t) + (ok(apply) && ok(t) ? ` (${ratio(apply)})` : ''), ...(withTorch ? [ratio(p)] : [])].join(' | ')} |`);
  }
  return [...rows, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

function format(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

main().catch((e) => { console.error(e); process.exit(1); });
