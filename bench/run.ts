// npm run bench [-- --json] [-- --quick] [-- --only simdnet]
//
// Runs every workload on simdnet and on TensorFlow.js's WASM backend (XNNPACK, SIMD, one thread:
// TF.js disables threads in Node) side by side in this one process, and prints a markdown table
// with the ratio per row. Machines are shared and noisy: compare ratios, not absolute figures.
// The npm script raises glibc's malloc trim/mmap thresholds: otherwise TF.js's predict, which
// copies each input batch into fresh memory, pays hundreds of page faults per call.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { init, loadMnist, scalePixels } from '../bindings/index.js';
import { simdnetGemmGflops, simdnetMlpEpochSeconds, simdnetMlpInference, median } from './simdnet.js';
import { initTfjsWasm, tfjsGemmGflops, tfjsMlpEpochSeconds, tfjsMlpInference, type TfjsInfo } from './tfjs.js';

interface Result { system: string; workload: string; metric: string; value: number; unit: string; threads: number }

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const log = args.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => console.log(s);
const systems = new Set(args.only ? args.only.split(',') : ['simdnet', 'tfjs-wasm']);
const minSeconds = args.quick ? 0.3 : 1;

async function main(): Promise<void> {
  const rt = await init();
  let tf: TfjsInfo | null = null;
  if (systems.has('tfjs-wasm')) tf = await initTfjsWasm();
  const results: Result[] = [];
  const add = (system: string, workload: string, metric: string, value: number, unit: string) => {
    results.push({ system, workload, metric, value, unit, threads: 1 });
    log(`  ${system.padEnd(10)} ${workload.padEnd(16)} ${format(value)} ${unit}`);
  };

  log('GEMM (C = A . B, f32)');
  for (const [M, K, N, name] of [[32, 784, 64, 'gemm_32x784x64'], [256, 256, 256, 'gemm_256'], [1024, 1024, 1024, 'gemm_1024']] as const) {
    if (systems.has('simdnet')) add('simdnet', name, 'gflops', simdnetGemmGflops(rt, M, K, N, minSeconds), 'GFLOP/s');
    if (tf) add('tfjs-wasm', name, 'gflops', await tfjsGemmGflops(M, K, N, minSeconds), 'GFLOP/s');
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

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.arch()}`,
    node: process.version, simdnet_tier: rt.tier,
    tfjs: tf ? { version: tf.version, backend: tf.backend, simd: tf.simd, threads: tf.threads } : null,
    quick: args.quick,
  };
  const table = markdown(results);
  if (args.json) {
    process.stderr.write(table + '\n');
    console.log(JSON.stringify({ machine, results }));
  } else {
    console.log('\n' + table);
    console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; simdnet tier '${rt.tier}'` +
      (tf ? `; TF.js ${tf.version} wasm (SIMD ${tf.simd}, ${tf.threads} thread)` : ''));
  }
}

/**
 * One row per workload; "simdnet advantage" = how many times better simdnet is than TF.js-wasm
 * (higher is better for every metric). TF.js's model.apply figures, where measured, are shown
 * in brackets beside its model.predict ones.
 */
function markdown(results: Result[]): string {
  const rows = ['| workload | metric | simdnet | tfjs-wasm | simdnet advantage |', '|---|---|---|---|---|'];
  const get = (workload: string, system: string) => results.find((r) => r.workload === workload && r.system === system);
  for (const workload of [...new Set(results.map((r) => r.workload))]) {
    const s = get(workload, 'simdnet'), t = get(workload, 'tfjs-wasm'), apply = get(workload, 'tfjs-wasm-apply');
    const any = (s ?? t)!;
    const lowerIsBetter = any.unit === 's' || any.unit === 'us';
    const advantage = (other?: Result) => !s || !other ? '-' : (lowerIsBetter ? other.value / s.value : s.value / other.value).toFixed(2) + 'x';
    const tfjs = t ? format(t.value) + (apply ? ` (apply: ${format(apply.value)})` : '') : '-';
    rows.push(`| ${workload} | ${any.metric} (${any.unit}) | ${s ? format(s.value) : '-'} | ${tfjs} | ` +
      `${advantage(t)}${apply ? ` (${advantage(apply)})` : ''} |`);
  }
  return rows.join('\n');
}

function format(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

main().catch((e) => { console.error(e); process.exit(1); });
