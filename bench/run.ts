// npm run bench [-- --json] [-- --quick] [-- --only simdnet,torch] [-- --threads 1,2] [-- --torch-python PATH]
// Rows: GEMM, MLP inference (b1, b1000), MLP epochs (SGD, Adam), cold start, the CNN convolutions,
// inference and training step.
//
// Runs every workload on simdnet, on TensorFlow.js's WASM backend (XNNPACK, SIMD, one thread:
// TF.js disables threads in Node) and on PyTorch (CPU, `--threads` threads, default 1; see
// bench/torch.ts) side by side in this one run, section by section, and prints a markdown table
// with the ratios per row. Machines are shared and noisy: compare ratios, not absolute figures.
// Systems: simdnet, tfjs-wasm, torch (all by default; torch is skipped with one line when no
// Python can import it). simdnet runs on each `--threads` count (default 1,2) in its default tier,
// and in the 'simd' tier too where the default is 'relaxed'; torch on each count; TF.js-wasm on
// one (it has no threads in Node). The peak rows measure this machine's wasm SIMD limit per core
// (bench/peak.ts); GEMM and convolution rows say what fraction of it they reach.
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
import { peakGflops } from './peak.js';
import { createRuntime, type Runtime } from '../bindings/index.js';

interface Result {
  system: string;
  workload: string;
  metric: string;
  /** null when the system could not run the workload: see error. */
  value: number | null;
  unit: string;
  threads: number;
  /** simdnet's build tier. */
  tier?: 'simd' | 'relaxed';
  /** GEMM and convolution rows of simdnet: GFLOP/s over the tier's peak (peak_muladd or peak_fma) times the threads. */
  fractionOfPeak?: number;
  /** Conv rows: the time as GFLOP/s (2 * multiply-adds of the convolution, bias not counted). */
  gflops?: number;
  /** Why there is no value ("not supported: ..." or the failure's message). */
  error?: string;
  note?: string;
}

const SYSTEMS = ['simdnet', 'tfjs-wasm', 'torch', 'torch-sse41'];
const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    'torch-python': { type: 'string' },
  },
});
const log = args.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => console.log(s);
const systems = new Set(args.only ? args.only.split(',').map((s) => s.trim()) : SYSTEMS);
for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`--only: unknown system '${s}' (known: ${SYSTEMS.join(', ')})`);
const threadCounts = [...new Set(args.threads.split(',').map((t) => Number(t.trim())))];
if (!threadCounts.every((t) => Number.isInteger(t) && t >= 1)) throw new Error(`--threads must be positive integers (1,2), got '${args.threads}'`);
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
  const skipped: string[] = [];
  // simdnet's variants: its default tier (and 'simd' where the default is 'relaxed') on each thread count
  const variants: { rt: Runtime; tier: 'simd' | 'relaxed'; threads: number }[] = [];
  if (systems.has('simdnet')) {
    for (const tier of rt.tier === 'relaxed' ? (['relaxed', 'simd'] as const) : (['simd'] as const)) {
      for (const threads of threadCounts) {
        const r = tier === rt.tier && threads === 1 ? rt : await createRuntime({ tier, threads });
        if (r.threads !== threads) {
          skipped.push(`simdnet ${tier} tier on ${threads} threads skipped: ${r.threadsNote}`);
          continue;
        }
        variants.push({ rt: r, tier, threads });
      }
    }
  }
  let tf: TfjsInfo | null = null;
  if (systems.has('tfjs-wasm')) tf = await initTfjsWasm();
  // torch with all the CPU has, and limited to 128-bit vectors (torch-sse41), on each thread count
  const torchSessions: { system: 'torch' | 'torch-sse41'; session: TorchSession }[] = [];
  for (const system of ['torch', 'torch-sse41'] as const) {
    if (!systems.has(system)) continue;
    for (const threads of threadCounts) {
      const t = await startTorch({ threads, isa: system === 'torch' ? 'native' : 'sse41', python: args['torch-python'],
        log: (line) => process.stderr.write(line + '\n') });
      if (typeof t === 'string') {
        skipped.push(`${system} skipped: ${t}`);
        log(`${system} skipped: ${t}`);
        break;
      }
      torchSessions.push({ system, session: t });
      const i = t.info;
      log(`${system}: torch ${i.version} (${i.executable}), ${i.threads} thread(s); BLAS ${i.blasLibraries?.find((l) => /openblas/i.test(l)) ?? i.blas}; ` +
        `ATen ${i.cpuCapability}; oneDNN ${i.onednnIsa?.convImpl ?? '?'} (${i.onednnIsa?.isa ?? '?'}); conv via ${i.convOps.filter((o) => /mkldnn|slow|thnn|winograd/.test(o)).join(', ') || i.convOps.join(', ')}`);
    }
  }
  const torch = torchSessions.find((t) => t.system === 'torch')?.session ?? null;

  const results: Result[] = [];
  const label = (r: Pick<Result, 'system' | 'tier' | 'threads'>) => columnLabel(r, rt.tier);
  const add = (system: string, workload: string, metric: string, value: number, unit: string, extra: Partial<Result> = {}) => {
    const row = { system, workload, metric, value, unit, threads: 1, ...extra };
    results.push(row);
    log(`  ${label(row).padEnd(18)} ${workload.padEnd(18)} ${format(value)} ${unit}` +
      (extra.gflops !== undefined ? ` (${format(extra.gflops)} GFLOP/s)` : '') +
      (extra.fractionOfPeak !== undefined ? ` (${percent(extra.fractionOfPeak)} of peak)` : '') + (extra.note ? `  [${extra.note}]` : ''));
  };
  const fail = (system: string, workload: string, metric: string, unit: string, error: string, threads = 1) => {
    results.push({ system, workload, metric, value: null, unit, threads, error });
    log(`  ${system.padEnd(18)} ${workload.padEnd(18)} ${error}`);
  };
  /** A row of one torch session: add() with the session's system and thread count. */
  type Put = (workload: string, metric: string, value: number, unit: string, extra?: Partial<Result>) => void;
  /** Runs a measurement on every torch session; a failure becomes an error row and the bench goes on. */
  const viaTorch = async (workload: string, metric: string, unit: string, f: (t: TorchSession, put: Put) => Promise<void>) => {
    for (const { system, session } of torchSessions) {
      const threads = session.info.threads;
      try {
        await f(session, (w, m, value, u, extra = {}) => add(system, w, m, value, u, { ...extra, threads }));
      } catch (e) {
        fail(system, workload, metric, unit, `failed: ${e instanceof Error ? e.message : String(e)}`, threads);
      }
    }
  };
  /** Runs a measurement on every simdnet variant. */
  const viaSimdnet = async (f: (r: Runtime, extra: Partial<Result>) => void | Promise<void>) => {
    for (const v of variants) await f(v.rt, { tier: v.tier, threads: v.threads });
  };
  const peaks: Partial<Record<'simd' | 'relaxed', number>> = {};
  const ofPeak = (gflops: number, extra: Partial<Result>) =>
    (extra.tier && peaks[extra.tier] ? { fractionOfPeak: gflops / (peaks[extra.tier]! * (extra.threads ?? 1)) } : {});

  try {
    if (systems.has('simdnet')) {
      log('Peak: register-only wasm SIMD loops, one thread (12 chains of acc = acc * a + b)');
      peaks.simd = peakGflops(false)!;
      add('simdnet', 'peak_muladd', 'gflops', peaks.simd, 'GFLOP/s', { tier: 'simd', note: 'f32x4.mul then f32x4.add' });
      const fma = peakGflops(true);
      if (fma === null) fail('simdnet', 'peak_fma', 'gflops', 'GFLOP/s', 'not supported: this runtime has no relaxed SIMD');
      else {
        peaks.relaxed = fma;
        add('simdnet', 'peak_fma', 'gflops', fma, 'GFLOP/s', { tier: 'relaxed', note: 'f32x4.relaxed_madd' });
      }
    }

    log('GEMM (C = A . B, f32)');
    for (const [M, K, N, name] of [[32, 784, 64, 'gemm_32x784x64'], [256, 256, 256, 'gemm_256'], [1024, 1024, 1024, 'gemm_1024']] as const) {
      await viaSimdnet((r, extra) => {
        const gflops = simdnetGemmGflops(r, M, K, N, minSeconds);
        add('simdnet', name, 'gflops', gflops, 'GFLOP/s', { ...extra, ...ofPeak(gflops, extra) });
      });
      if (tf) add('tfjs-wasm', name, 'gflops', await tfjsGemmGflops(M, K, N, minSeconds), 'GFLOP/s');
      await viaTorch(name, 'gflops', 'GFLOP/s', async (t, put) => put(name, 'gflops', await t.gemmGflops(M, K, N, minSeconds), 'GFLOP/s'));
    }

    log('Inference, course MLP 784-64-32-32-10');
    await viaSimdnet((r, extra) => {
      const m = simdnetMlpInference(r, minSeconds);
      add('simdnet', 'mlp_infer_b1', 'latency', m.latencyB1Us, 'us', extra);
      add('simdnet', 'mlp_infer_b1000', 'throughput', m.throughputB1000, 'img/s', extra);
    });
    if (tf) {
      const r = await tfjsMlpInference(undefined, minSeconds);
      add('tfjs-wasm', 'mlp_infer_b1', 'latency', r.latencyB1Us, 'us');
      add('tfjs-wasm', 'mlp_infer_b1000', 'throughput', r.throughputB1000, 'img/s');
      // model.apply skips predict's input slicing: TF.js at its best, reported beside predict
      add('tfjs-wasm-apply', 'mlp_infer_b1', 'latency', r.latencyB1ApplyUs, 'us');
      add('tfjs-wasm-apply', 'mlp_infer_b1000', 'throughput', r.throughputB1000Apply, 'img/s');
    }
    await viaTorch('mlp_infer_b1', 'latency', 'us', async (t, put) => {
      const r = await t.mlpInference(minSeconds);
      put('mlp_infer_b1', 'latency', r.latencyB1Us, 'us');
      put('mlp_infer_b1000', 'throughput', r.throughputB1000, 'img/s');
    });

    // Training: one warm-up epoch, then the median of the timed epochs (ANCHORS.md's method).
    const mnist = await loadMnist();
    const n = args.quick ? 10000 : mnist.train.count;
    const x = scalePixels(mnist.train.images.subarray(0, n * 784));
    const y = Int32Array.from(mnist.train.labels.subarray(0, n));
    const perEpoch = (secs: number[]) => median(secs.slice(1)) * (60000 / n);
    log(`Training, course MLP, SGD lr 0.01, batch 32, ${n} MNIST images per epoch${n < 60000 ? ' (scaled to 60k)' : ''}`);
    await viaSimdnet(async (r, extra) => {
      const m = await simdnetMlpEpochSeconds(r, x, y, { lr: 0.01, batchSize: 32, epochs: 4 });
      add('simdnet', 'mlp_sgd_epoch', 'epoch_time', perEpoch(m.epochSeconds), 's', extra);
    });
    if (tf) {
      const r = await tfjsMlpEpochSeconds(x, y, n, { optimizer: 'sgd', lr: 0.01, batchSize: 32, epochs: 3 });
      add('tfjs-wasm', 'mlp_sgd_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    await viaTorch('mlp_sgd_epoch', 'epoch_time', 's', async (t, put) => {
      const r = await t.mlpEpochSeconds({ n, lr: 0.01, batchSize: 32, epochs: 4 });
      put('mlp_sgd_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    });

    log(`Training, course MLP, Adam lr 0.001, batch 32, ${n} MNIST images per epoch${n < 60000 ? ' (scaled to 60k)' : ''}`);
    await viaSimdnet(async (r, extra) => {
      const m = await simdnetMlpEpochSeconds(r, x, y, { lr: 0.001, batchSize: 32, epochs: 4, optimizer: 'adam' });
      add('simdnet', 'mlp_adam_epoch', 'epoch_time', perEpoch(m.epochSeconds), 's', extra);
    });
    if (tf) {
      const r = await tfjsMlpEpochSeconds(x, y, n, { optimizer: 'adam', lr: 0.001, batchSize: 32, epochs: 3 });
      add('tfjs-wasm', 'mlp_adam_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    }
    await viaTorch('mlp_adam_epoch', 'epoch_time', 's', async (t, put) => {
      const r = await t.mlpEpochSeconds({ n, lr: 0.001, batchSize: 32, epochs: 4, optimizer: 'adam' });
      put('mlp_adam_epoch', 'epoch_time', perEpoch(r.epochSeconds), 's');
    });

    if (systems.has('simdnet')) {
      log('Cold start: a fresh Node process imports simdnet, init(), builds the course MLP, first predict (median of 10)');
      const c = coldStartMs(10);
      add('simdnet', 'cold_start_ms', 'latency', c.ms, 'ms', { tier: rt.tier, note: `${format(c.fromProcessStartMs)} ms from process start, Node's bootstrap included` });
    }

    await cnnRows(mnist);
  } finally {
    for (const t of torchSessions) await t.session.close();
    for (const v of variants) v.rt.stopThreads();
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
        await viaSimdnet((r, extra) => {
          const ms = simdnetConv2dMs(r, simdnetConv, c, minSeconds);
          add('simdnet', name, 'time', ms, 'ms', { ...extra, gflops: gflops(ms), ...ofPeak(gflops(ms), extra) });
        });
      }
      if (tf) {
        const r = tfjsConv2dMs(c, minSeconds);
        add('tfjs-wasm', name, 'time', r.ms, 'ms', { gflops: gflops(r.ms), note: `NHWC, fused conv+bias; with dataSync of the output: ${format(r.msWithReadBack)} ms` });
      }
      await viaTorch(name, 'time', 'ms', async (t, put) => {
        const ms = await t.conv2dMs(c, minSeconds);
        put(name, 'time', ms, 'ms', { gflops: gflops(ms) });
      });
    }

    if (simdnet) await viaSimdnet((r, extra) => add('simdnet', 'cnn_infer_b64', 'latency', simdnetCnnInferMs(r, simdnet, data, minSeconds), 'ms', extra));
    if (tf) {
      const r = await tfjsCnnInferMs(data.x, batchSize, minSeconds);
      add('tfjs-wasm', 'cnn_infer_b64', 'latency', r.predictMs, 'ms');
      add('tfjs-wasm-apply', 'cnn_infer_b64', 'latency', r.applyMs, 'ms');
    }
    await viaTorch('cnn_infer_b64', 'latency', 'ms', async (t, put) => put('cnn_infer_b64', 'latency', await t.cnnInferMs(batchSize, minSeconds), 'ms'));

    // Training steps: warm-up steps, then the median of the timed ones.
    const warmup = args.quick ? 2 : 5, timed = args.quick ? 6 : 30, steps = warmup + timed;
    const stepNote = (losses: number[]) => `median of ${timed} steps after ${warmup}; loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`;
    if (simdnet) {
      await viaSimdnet((rt, extra) => {
        const r = simdnetCnnTrainStepMs(rt, simdnet, data, steps, 1e-3);
        add('simdnet', 'cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
      });
    }
    if (tf) {
      const r = await tfjsCnnTrainStep(data.x, data.y, batchSize, count, steps, 1e-3);
      if (r.supported) add('tfjs-wasm', 'cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
      else {
        const registered = Object.entries(r.kernels).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ');
        fail('tfjs-wasm', 'cnn_train_step', 'step_time', 'ms', `not supported: model.fit threw "${r.error}" (wasm kernels registered: ${registered})`);
      }
    }
    await viaTorch('cnn_train_step', 'step_time', 'ms', async (t, put) => {
      const r = await t.cnnTrainStepMs({ steps, lr: 1e-3, batchSize });
      put('cnn_train_step', 'step_time', median(r.stepMs.slice(warmup)), 'ms', { note: stepNote(r.losses) });
    });
  }

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}`,
    node: process.version, simdnet_tier: rt.tier,
    tfjs: tf ? { version: tf.version, backend: tf.backend, simd: tf.simd, threads: tf.threads } : null,
    torch: torch ? torch.info : null,
    torchSessions: torchSessions.map(({ system, session }) => ({ system, ...session.info })),
    threads: threadCounts,
    peaks,
    skipped,
    quick: args.quick,
  };
  const table = markdown(results, rt.tier);
  if (args.json) {
    process.stderr.write(table + '\n');
    console.log(JSON.stringify({ machine, results }));
  } else {
    console.log('\n' + table);
    console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; simdnet tier '${rt.tier}'` +
      (tf ? `; TF.js ${tf.version} wasm (SIMD ${tf.simd}, ${tf.threads} thread)` : '') +
      (torchSessions.length ? `; PyTorch ${torchSessions[0].session.info.version} CPU: ` +
        torchSessions.map(({ system, session: t }) => `${system} ${t.info.threads}t oneDNN ${t.info.onednnIsa?.convImpl ?? '?'}`).join(', ') : ''));
    for (const s of skipped) console.log(s);
  }
}

/** A results column: the system, simdnet's tier where it is not the default one, and the thread count past 1. */
function columnLabel(r: Pick<Result, 'system' | 'tier' | 'threads'>, defaultTier: string): string {
  return r.system + (r.system === 'simdnet' && r.tier && r.tier !== defaultTier ? `-${r.tier}` : '') + (r.threads > 1 ? ` ${r.threads}t` : '');
}

function percent(x: number): string { return `${Math.round(x * 100)}%`; }

/**
 * One row per workload, one column per system (simdnet per tier and thread count, torch per thread
 * count). "A vs B" = how many times better A is than B (higher is better for every metric; above
 * 1: A ahead): simdnet on one thread against TF.js-wasm and torch on one, and simdnet on N threads
 * against torch on N. TF.js's model.apply figures, where measured, are shown in brackets beside its
 * model.predict ones. GEMM and convolution cells of simdnet give the fraction of the tier's peak.
 * Systems that could not run a workload show "not supported" / "failed", explained under the table.
 */
function markdown(results: Result[], defaultTier: string): string {
  const label = (r: Result) => columnLabel(r, defaultTier);
  const columns = [...new Set(results.filter((r) => r.system !== 'tfjs-wasm-apply').map(label))];
  const threadCounts = [...new Set(results.filter((r) => r.system === 'torch').map((r) => r.threads))].filter((t) => t > 1);
  const pairs: [string, string][] = [['simdnet', 'tfjs-wasm'], ['simdnet', 'torch'], ['simdnet', 'torch-sse41'], ...threadCounts.map((t): [string, string] => [`simdnet ${t}t`, `torch ${t}t`])];
  const comparisons = pairs
    .filter(([a, b]) => columns.includes(a) && columns.includes(b));
  const header = ['workload', 'metric', ...columns, ...comparisons.map(([a, b]) => `${a} vs ${b}`)];
  const rows = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const notes: string[] = [];
  const ok = (r?: Result): r is Result & { value: number } => r !== undefined && r.value !== null;
  for (const workload of [...new Set(results.map((r) => r.workload))]) {
    const get = (column: string) => results.find((r) => r.workload === workload && r.system !== 'tfjs-wasm-apply' && label(r) === column);
    const apply = results.find((r) => r.workload === workload && r.system === 'tfjs-wasm-apply');
    const any = results.find((r) => r.workload === workload)!;
    const lowerIsBetter = any.unit === 's' || any.unit === 'ms' || any.unit === 'us';
    const ratio = (a?: Result, b?: Result) => !ok(a) || !ok(b) ? '-'
      : (lowerIsBetter ? b.value / a.value : a.value / b.value).toFixed(2) + 'x';
    const cell = (r?: Result) => {
      if (!r) return '-';
      if (!ok(r)) {
        notes.push(`[${notes.length + 1}] ${label(r)}, ${r.workload}: ${r.error}`);
        return `${r.error?.startsWith('not supported') ? 'not supported' : 'failed'} [${notes.length}]`;
      }
      return format(r.value) + (r.gflops !== undefined ? ` (${format(r.gflops)} GFLOP/s)` : '') +
        (r.fractionOfPeak !== undefined ? ` (${percent(r.fractionOfPeak)} of peak)` : '') +
        (r.system === 'tfjs-wasm' && ok(apply) ? ` (apply: ${format(apply.value)})` : '');
    };
    const metric = `${any.metric} (${any.unit})`;
    rows.push(`| ${[workload, metric, ...columns.map((c) => cell(get(c))),
      ...comparisons.map(([a, b]) => ratio(get(a), get(b)) + (b === 'tfjs-wasm' && ok(apply) && ok(get(b)) ? ` (${ratio(get(a), apply)})` : ''))].join(' | ')} |`);
  }
  return [...rows, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

function format(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

main().catch((e) => { console.error(e); process.exit(1); });
