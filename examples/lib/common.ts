// What every example shares: flags, MNIST as tensors, the course MLP, optimizers by name, a
// results table, and the JSON line that CI and the README figures read.

import { parseArgs } from 'node:util';
import {
  init, loadMnist, toTensor, Sequential, Linear, ReLU, LogSoftmax, Conv2d, MaxPool2d, Flatten, SGD, RMSprop, Adam, AdamW, manualSeed,
  SimdnetError, type Layer, type Optimizer, type Tensor, type Runtime,
} from '../../bindings/index.js';

export interface ExampleFlags {
  epochs: number;
  subset: number | undefined;
  testLimit: number | undefined;
  seed: number;
  plots: string | undefined;
  json: boolean;
  /** The shortened form CI runs so that no example rots. */
  quick: boolean;
}

/**
 * Parses the flags every example takes. `defaults` gives the full run; --quick swaps in
 * `quick` (fewer epochs, a smaller subset), and explicit flags override both.
 */
export function exampleFlags(name: string, defaults: { epochs: number; subset?: number },
  quick: { epochs: number; subset: number }): ExampleFlags {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' }, subset: { type: 'string' }, 'test-limit': { type: 'string' },
      seed: { type: 'string', default: '0' }, plots: { type: 'string' }, json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node dist/examples/${name}.js [--epochs N] [--subset N] [--test-limit N] [--seed N] [--plots DIR] [--json] [--quick]`);
    process.exit(0);
  }
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} needs a non-negative integer, got '${v}'`);
    return n;
  };
  const base = values.quick ? quick : defaults;
  return {
    epochs: int('epochs', values.epochs) ?? base.epochs,
    subset: int('subset', values.subset) ?? base.subset,
    testLimit: int('test-limit', values['test-limit']) ?? (values.quick ? 2000 : undefined),
    seed: int('seed', values.seed) ?? 0,
    plots: values.plots,
    json: values.json,
    quick: values.quick,
  };
}

export interface MnistTensors {
  /** [N, 784] in [0, 1] (scale 1/255) unless another scale is asked for */
  xTrain: Tensor;
  yTrain: Uint8Array;
  xTest: Tensor;
  yTest: Uint8Array;
  /** the raw bytes, for other transforms */
  rawTrain: Uint8Array;
  rawTest: Uint8Array;
}

export async function mnistTensors(flags: Pick<ExampleFlags, 'subset' | 'testLimit'>): Promise<MnistTensors> {
  const m = await loadMnist({ subset: flags.subset, testLimit: flags.testLimit });
  return {
    xTrain: toTensor(m.train.images, [m.train.count, 784]),
    yTrain: m.train.labels,
    xTest: toTensor(m.test.images, [m.test.count, 784]),
    yTest: m.test.labels,
    rawTrain: m.train.images,
    rawTest: m.test.images,
  };
}

/** The course MLP 784-64-32-32-10 with ReLU; `output` is its last layer (LogSoftmax by default). */
export function courseMlp(seed: number, output: Layer | null = new LogSoftmax(1)): Sequential {
  manualSeed(seed);
  const layers: Layer[] = [new Linear(784, 64), new ReLU(), new Linear(64, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 10)];
  if (output) layers.push(output);
  return new Sequential(layers);
}

/**
 * The CNN of issue 4: Conv2d(1,32,5,p2)-ReLU-MaxPool2d(2)-Conv2d(32,64,5,p2)-ReLU-MaxPool2d(2)-
 * Flatten-Linear(3136,128)-ReLU-Linear(128,10), on [1, 28, 28] images; outputs logits.
 */
export function mnistCnn(seed: number): Sequential {
  manualSeed(seed);
  return new Sequential([
    new Conv2d(1, 32, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(64 * 7 * 7, 128), new ReLU(), new Linear(128, 10),
  ], { inputShape: [1, 28, 28] });
}

export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The optimizers of the course by name; 'momentum' is SGD with momentum 0.9. */
export function makeOptimizer(name: OptimizerName, model: Sequential, lr: number): Optimizer {
  switch (name) {
    case 'sgd': return new SGD(model, { lr });
    case 'momentum': return new SGD(model, { lr, momentum: 0.9 });
    case 'rmsprop': return new RMSprop(model, { lr });
    case 'adam': return new Adam(model, { lr });
    case 'adamw': return new AdamW(model, { lr });
    default: throw new Error(`unknown optimizer '${name}' (one of ${OPTIMIZERS.join(', ')})`);
  }
}

/** Prints rows as an aligned markdown table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(keys));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(keys.map((k) => cell(r[k]))));
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(3) : v.toFixed(4);
}

/** Runs an example's main with the runtime loaded; typed errors print as one line. */
export function runExample(main: (rt: Runtime) => Promise<void>): void {
  init().then(main).catch((e) => {
    console.error(e instanceof SimdnetError ? `${e.name}: ${e.message}` : e);
    process.exit(1);
  });
}

/** The machine-readable result: the last line printed, when --json is given. */
export function printJson(flags: ExampleFlags, result: object): void {
  if (flags.json) console.log(JSON.stringify(result));
}

/**
 * Writes each named SVG into dir (when --plots DIR is given) and says where. An undefined chart
 * (an accuracy curve for a loss without an accuracy) is skipped.
 */
export async function savePlots(flags: ExampleFlags,
  charts: Record<string, string | undefined | Promise<string | undefined>>): Promise<string[]> {
  if (!flags.plots) return [];
  const { writeSvg } = await import('./plots.js');
  const { join } = await import('node:path');
  const written: string[] = [];
  for (const [name, svg] of Object.entries(charts)) {
    const content = await svg;
    if (content === undefined) continue;
    const path = join(flags.plots, `${name}.svg`);
    await writeSvg(path, content);
    written.push(path);
  }
  if (!flags.json) console.log(`charts: ${written.join(', ')}`);
  return written;
}
