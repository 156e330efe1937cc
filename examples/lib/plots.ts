// SVG charts for the examples: training curves, confusion matrices, pixel histograms, digit
// grids and per-class bar charts. Each chart is a Vega-Lite spec (https://vega.github.io/vega-lite/)
// compiled to Vega and rendered headless in Node with `renderer: 'none'` and `view.toSVG()`:
// no canvas, no browser. Text widths are then estimated by Vega rather than measured, so labels
// get a little more room than they need, never less.
//
// Only plain numbers and typed arrays come in; nothing here touches the simdnet runtime. Bad input
// throws a TypeError (wrong kind, shape or length) or a RangeError (a value out of range) whose
// message names the function, the problem and the value.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

// ---------------------------------------------------------------------------------------------
// Rendering

const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' as const, offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
};

/** Compiles a Vega-Lite spec and renders it to an SVG string (headless, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { spec: vgSpec } = compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec);
  const view = new View(parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes an SVG to `path`, creating its folder. */
export async function writeSvg(path: string, svg: string): Promise<void> {
  if (typeof svg !== 'string' || !svg.startsWith('<svg')) {
    throw new TypeError(`writeSvg: expected an SVG string starting with '<svg', got ${describe(svg)}`);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, svg);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 20 ? `${v.slice(0, 20)}...` : v}'`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

function positiveInt(fn: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function titleOf(text: string, subtitle?: string): { text: string; subtitle?: string } {
  return subtitle ? { text, subtitle } : { text };
}

// ---------------------------------------------------------------------------------------------
// Curves over epochs

export interface CurveSeries {
  name: string;
  /** One value per epoch. NaN / Infinity are not drawn (the line breaks there; the subtitle counts them). */
  values: ArrayLike<number>;
  /** Where each value sits on the x axis; defaults to 1, 2, 3, ... (Keras counts epochs from 1). */
  x?: ArrayLike<number>;
}

export interface CurvesOptions {
  title?: string;
  series: CurveSeries[];
  yTitle: string;
  xTitle?: string;
  /** d3-format string for the y axis labels, e.g. '.1~%' for accuracies in [0, 1]. */
  yFormat?: string;
  width?: number;
  height?: number;
}

/** A line chart of one or more series over epochs (e.g. train vs validation loss). */
export async function lossAccuracyCurves(options: CurvesOptions): Promise<string> {
  const fn = 'lossAccuracyCurves';
  const { series, yTitle, xTitle = 'epoch', title = yTitle, yFormat, width = 420, height = 260 } = options ?? {};
  if (!Array.isArray(series) || series.length === 0) {
    throw new TypeError(`${fn}: series must be a non-empty array of { name, values }, got ${describe(series)}`);
  }
  if (typeof yTitle !== 'string') throw new TypeError(`${fn}: yTitle must be a string, got ${describe(yTitle)}`);
  const rows: { x: number; value: number | null; series: string }[] = [];
  const names = new Set<string>();
  let dropped = 0;
  let integerX = true;
  series.forEach((s, k) => {
    if (typeof s?.name !== 'string' || s.name === '') throw new TypeError(`${fn}: series[${k}].name must be a non-empty string, got ${describe(s?.name)}`);
    if (names.has(s.name)) throw new TypeError(`${fn}: two series are named '${s.name}'`);
    names.add(s.name);
    if (!isArrayLike(s.values) || s.values.length === 0) {
      throw new TypeError(`${fn}: series '${s.name}' needs a non-empty array of values, got ${describe(s.values)}`);
    }
    if (s.x !== undefined && (!isArrayLike(s.x) || s.x.length !== s.values.length)) {
      throw new TypeError(`${fn}: series '${s.name}' has ${s.values.length} values but x is ${describe(s.x)}`);
    }
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      if (typeof v !== 'number') throw new TypeError(`${fn}: series '${s.name}' value ${i} is ${describe(v)}, not a number`);
      const x = s.x ? s.x[i] : i + 1;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError(`${fn}: series '${s.name}' x[${i}] is ${describe(x)}, not a finite number`);
      if (!Number.isInteger(x)) integerX = false;
      if (!Number.isFinite(v)) dropped++;
      rows.push({ x, value: Number.isFinite(v) ? v : null, series: s.name });
    }
  });
  const order = series.map((s) => s.name);
  return renderSvg({
    title: titleOf(title, dropped ? `${dropped} non-finite value${dropped > 1 ? 's' : ''} not drawn` : undefined),
    width,
    height,
    data: { values: rows },
    mark: { type: 'line', point: true, invalid: 'break-paths-filter-domains', strokeWidth: 2 },
    encoding: {
      x: {
        field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false, nice: false, padding: 10 },
        axis: integerX ? { tickMinStep: 1, format: 'd' } : {},
      },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false }, axis: yFormat ? { format: yFormat } : {} },
      color: {
        field: 'series', type: 'nominal', sort: order, scale: { domain: order },
        legend: { title: null, orient: 'bottom', direction: 'horizontal', labelLimit: 0, symbolType: 'stroke' },
      },
    },
  });
}

/** What trainingCurves reads: simdnet's History ({ history: { loss, accuracy, val_loss, val_accuracy } }). */
export interface HistoryLike {
  history: {
    loss: ArrayLike<number>;
    accuracy?: ArrayLike<number>;
    val_loss?: ArrayLike<number>;
    val_accuracy?: ArrayLike<number>;
  };
}

function hasFinite(values: ArrayLike<number> | undefined): values is ArrayLike<number> {
  if (!values) return false;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) return true;
  return false;
}

/**
 * Loss and accuracy curves of a fit: train, then validation and test when present. `test` values
 * are per epoch; a single test value (the usual evaluate after training) is drawn at the last
 * epoch. `accuracy` is undefined when no series has a finite accuracy (a loss without an accuracy
 * rule records NaN).
 */
export async function trainingCurves(
  history: HistoryLike,
  options: { title?: string; test?: { loss?: ArrayLike<number>; accuracy?: ArrayLike<number> } } = {},
): Promise<{ loss: string; accuracy?: string }> {
  const h = history?.history;
  if (!h || !isArrayLike(h.loss)) {
    throw new TypeError(`trainingCurves: expected a History ({ history: { loss: number[], ... } }), got ${describe(history)}`);
  }
  const epochs = h.loss.length;
  if (epochs === 0) throw new TypeError('trainingCurves: the history has no epochs (its loss array is empty)');
  const pick = (train: ArrayLike<number> | undefined, val: ArrayLike<number> | undefined, test: ArrayLike<number> | undefined) => {
    const out: CurveSeries[] = [];
    if (train && train.length) out.push({ name: 'train', values: train });
    if (val && val.length) out.push({ name: 'validation', values: val });
    if (test && test.length) {
      out.push(test.length === 1 && epochs > 1 ? { name: 'test', values: test, x: [epochs] } : { name: 'test', values: test });
    }
    return out;
  };
  const prefix = options.title ? `${options.title}: ` : '';
  const loss = await lossAccuracyCurves({
    title: `${prefix}loss per epoch`, yTitle: 'loss', series: pick(h.loss, h.val_loss, options.test?.loss),
  });
  const accSeries = pick(h.accuracy, h.val_accuracy, options.test?.accuracy).filter((s) => hasFinite(s.values));
  const accuracy = accSeries.length
    ? await lossAccuracyCurves({ title: `${prefix}accuracy per epoch`, yTitle: 'accuracy', yFormat: '.1~%', series: accSeries })
    : undefined;
  return { loss, accuracy };
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

/** A square matrix of counts: rows are true classes, columns predicted (simdnet's ConfusionMatrix fits). */
export type ConfusionInput = number[][] | ArrayLike<number> | { classes: number; counts: ArrayLike<number> };

function squareCounts(fn: string, matrix: ConfusionInput, classesOption?: number): { n: number; counts: number[] } {
  let n: number;
  let flat: ArrayLike<unknown>;
  if (Array.isArray(matrix) && matrix.length > 0 && Array.isArray(matrix[0])) {
    n = matrix.length;
    const rows = matrix as unknown[];
    const out: number[] = [];
    rows.forEach((row, t) => {
      if (!Array.isArray(row) || row.length !== n) {
        throw new TypeError(`${fn}: the matrix must be square: row ${t} has ${isArrayLike(row) ? row.length : describe(row)} entries, expected ${n}`);
      }
      out.push(...(row as number[]));
    });
    flat = out;
  } else if (isArrayLike(matrix)) {
    flat = matrix;
    n = classesOption ?? Math.round(Math.sqrt(matrix.length));
    if (n * n !== matrix.length) {
      throw new TypeError(`${fn}: a flat matrix of length ${matrix.length} is not ${classesOption !== undefined ? `${n} x ${n}` : 'square'}`);
    }
  } else if (matrix && typeof matrix === 'object' && 'counts' in matrix) {
    n = matrix.classes;
    flat = matrix.counts;
    if (!Number.isInteger(n) || !isArrayLike(flat) || flat.length !== n * n) {
      throw new TypeError(`${fn}: counts of length ${isArrayLike(flat) ? flat.length : describe(flat)} do not make a ${n} x ${n} matrix`);
    }
  } else {
    throw new TypeError(`${fn}: expected number[][], a flat array with options.classes, or { classes, counts }; got ${describe(matrix)}`);
  }
  if (n === 0) throw new TypeError(`${fn}: the matrix is empty`);
  const counts: number[] = [];
  for (let i = 0; i < flat.length; i++) {
    const c = flat[i];
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
      throw new RangeError(`${fn}: entry [${Math.floor(i / n)}][${i % n}] is ${describe(c)}; counts must be finite and non-negative`);
    }
    counts.push(c);
  }
  return { n, counts };
}

/**
 * A heat map of a confusion matrix: true class on the y axis, predicted on the x axis, colour by
 * count and the count written in each cell. `normalize` divides each row by its total (the
 * fraction of each true class, sklearn's normalize='true'); rows with no samples stay 0.
 */
export async function confusionMatrixHeatmap(
  matrix: ConfusionInput,
  options: { labels?: string[]; title?: string; normalize?: boolean; classes?: number } = {},
): Promise<string> {
  const fn = 'confusionMatrixHeatmap';
  const { n, counts } = squareCounts(fn, matrix, options.classes);
  const labels = options.labels ?? Array.from({ length: n }, (_, i) => String(i));
  if (!Array.isArray(labels) || labels.length !== n) {
    throw new TypeError(`${fn}: ${n} classes need ${n} labels, got ${describe(labels)}`);
  }
  if (new Set(labels).size !== n) throw new TypeError(`${fn}: labels must be distinct, got [${labels.join(', ')}]`);
  const normalize = options.normalize ?? false;
  const rows: { true: string; pred: string; value: number; text: string }[] = [];
  let max = 0;
  for (let t = 0; t < n; t++) {
    let total = 0;
    for (let p = 0; p < n; p++) total += counts[t * n + p];
    for (let p = 0; p < n; p++) {
      const c = counts[t * n + p];
      const value = normalize ? (total > 0 ? c / total : 0) : c;
      max = Math.max(max, value);
      rows.push({ true: labels[t], pred: labels[p], value, text: normalize ? value.toFixed(2) : String(c) });
    }
  }
  const widest = Math.max(...rows.map((r) => r.text.length));
  const cell = Math.max(18, Math.min(44, Math.ceil(widest * 7.5 + 8), Math.floor(480 / n)));
  const fontSize = Math.max(7, Math.min(12, Math.floor((cell - 4) / (widest * 0.62))));
  // Class names longer than a cell is wide are slanted on the x axis.
  const slant = Math.max(...labels.map((l) => l.length)) * 6.5 > cell;
  const total = counts.reduce((a, b) => a + b, 0);
  return renderSvg({
    title: titleOf(options.title ?? 'Confusion matrix',
      normalize ? `each row divided by its true-class total (${total} samples)` : `${total} samples`),
    width: { step: cell },
    height: { step: cell },
    data: { values: rows },
    encoding: {
      x: { field: 'pred', type: 'ordinal', sort: labels, title: 'predicted', axis: slant ? { labelAngle: -40 } : { labelAngle: 0 } },
      y: { field: 'true', type: 'ordinal', sort: labels, title: 'true' },
    },
    layer: [
      {
        name: 'cells',
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'value', type: 'quantitative', scale: { scheme: 'blues', domain: [0, max || 1] },
            legend: normalize ? { title: 'fraction', format: '.0%' } : { title: 'count' },
          },
        },
      },
      {
        name: 'counts',
        mark: { type: 'text', fontSize, baseline: 'middle' },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: `datum.value > ${max / 2}`, value: 'white' }, value: '#222' },
        },
      },
    ],
    config: { view: { stroke: null }, axis: { grid: false, domain: false, ticks: false } },
  });
}

// ---------------------------------------------------------------------------------------------
// Pixel histogram

/**
 * A histogram of pixel intensities: `bins` equal bins over [min, max] of the values (computed here,
 * so 47 million MNIST pixels cost one pass). With `logCount` the count axis is a log scale and
 * empty bins are left out (log 0 has no place on it); the subtitle says how many.
 */
export async function pixelHistogram(
  values: Uint8Array | Uint8ClampedArray | Float32Array | Float64Array | number[],
  options: { bins?: number; logCount?: boolean; title?: string; xTitle?: string; width?: number; height?: number } = {},
): Promise<string> {
  const fn = 'pixelHistogram';
  if (!isArrayLike(values) || values.length === 0) throw new TypeError(`${fn}: expected a non-empty array of pixel values, got ${describe(values)}`);
  const bins = positiveInt(fn, 'bins', options.bins ?? 50);
  if (bins > 10_000) throw new RangeError(`${fn}: bins must be at most 10000, got ${bins}`);
  const logCount = options.logCount ?? false;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new RangeError(`${fn}: value ${i} is ${describe(v)}; pixel values must be finite numbers`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const width = (hi - lo) / bins;
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) counts[Math.min(bins - 1, Math.floor((values[i] - lo) / width))]++;
  const rows: { start: number; end: number; count: number }[] = [];
  let empty = 0;
  for (let b = 0; b < bins; b++) {
    if (logCount && counts[b] === 0) { empty++; continue; }
    rows.push({ start: lo + b * width, end: lo + (b + 1) * width, count: counts[b] });
  }
  const parts = [`${values.length.toLocaleString('en-US')} values, ${bins} bins of width ${+width.toPrecision(3)}`];
  if (logCount) parts.push(empty ? `log count: ${empty} empty bin${empty > 1 ? 's' : ''} not drawn` : 'log count');
  // On the log axis the bars rise from 0.5: a bin of count 1 still shows.
  const yScale = logCount ? { type: 'log' as const, domainMin: 0.5, nice: false } : { zero: true };
  let maxCount = 1;
  for (let b = 0; b < bins; b++) maxCount = Math.max(maxCount, counts[b]);
  const decades: number[] = [];
  for (let d = 1; d <= maxCount; d *= 10) decades.push(d);
  return renderSvg({
    title: titleOf(options.title ?? 'Pixel intensities', parts.join('; ')),
    width: options.width ?? 420,
    height: options.height ?? 260,
    data: { values: rows },
    name: 'bars',
    mark: { type: 'rect', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: options.xTitle ?? 'pixel intensity', scale: { domain: [lo, hi], nice: false, zero: false } },
      x2: { field: 'end' },
      y: {
        field: 'count', type: 'quantitative', title: logCount ? 'count (log scale)' : 'count', scale: yScale,
        axis: logCount ? { values: decades, format: '~s' } : {},
      },
      y2: { datum: logCount ? 0.5 : 0 },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Digit grid

export interface DigitImage {
  /** width * height values, row-major: 0..1, or 0..255 (a Uint8Array, or any image whose maximum is above 1). */
  pixels: ArrayLike<number>;
  caption: string;
}

/**
 * A grid of small grayscale images (ink dark on white), each with its caption below. Each image is
 * one white framed rect plus one rect per non-blank pixel (blank pixels are the background), so a
 * grid of 40 MNIST digits is a few thousand marks.
 */
export async function digitGrid(
  images: DigitImage[],
  options: { columns?: number; title?: string; width?: number; height?: number; pixelSize?: number } = {},
): Promise<string> {
  const fn = 'digitGrid';
  if (!Array.isArray(images) || images.length === 0) throw new TypeError(`${fn}: expected a non-empty array of { pixels, caption }, got ${describe(images)}`);
  const w = positiveInt(fn, 'width', options.width ?? 28);
  const h = positiveInt(fn, 'height', options.height ?? 28);
  const s = positiveInt(fn, 'pixelSize', options.pixelSize ?? 3);
  const columns = Math.min(positiveInt(fn, 'columns', options.columns ?? 8), images.length);
  const captionH = 16;
  const cellW = w * s;
  // Room for the widest caption (about 0.6 em a character at 10 px), or 12 px between images.
  const widestCaption = Math.max(...images.map((img) => (typeof img?.caption === 'string' ? img.caption.length : 0)));
  const gap = Math.max(12, Math.ceil(widestCaption * 6) - cellW + 8);
  const cellH = h * s + captionH;
  const frames: { x: number; x2: number; y: number; y2: number }[] = [];
  const pixels: { x: number; x2: number; y: number; y2: number; fill: string }[] = [];
  const captions: { x: number; y: number; text: string }[] = [];
  images.forEach((img, k) => {
    const px = img?.pixels;
    if (!isArrayLike(px) || px.length !== w * h) {
      throw new TypeError(`${fn}: image ${k} needs ${w}x${h} = ${w * h} pixels, got ${isArrayLike(px) ? px.length : describe(px)}`);
    }
    if (typeof img.caption !== 'string') throw new TypeError(`${fn}: image ${k} caption must be a string, got ${describe(img.caption)}`);
    let max = 0;
    for (let i = 0; i < px.length; i++) {
      const v = px[i];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 255) {
        throw new RangeError(`${fn}: image ${k} pixel ${i} is ${describe(v)}; pixels must lie in 0..1 or 0..255`);
      }
      if (v > max) max = v;
    }
    const scale = px instanceof Uint8Array || px instanceof Uint8ClampedArray || max > 1 ? 1 / 255 : 1;
    const x0 = (k % columns) * (cellW + gap);
    const y0 = Math.floor(k / columns) * (cellH + gap);
    frames.push({ x: x0, x2: x0 + cellW, y: y0, y2: y0 + h * s });
    captions.push({ x: x0 + cellW / 2, y: y0 + h * s + 3, text: img.caption });
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const g = 255 - Math.round(255 * px[r * w + c] * scale);
        if (g === 255) continue;
        const x = x0 + c * s;
        const y = y0 + r * s;
        pixels.push({ x, x2: x + s, y, y2: y + s, fill: `rgb(${g},${g},${g})` });
      }
    }
  });
  const rowsOfImages = Math.ceil(images.length / columns);
  const pos = { x: { field: 'x', type: 'quantitative', scale: null }, x2: { field: 'x2' }, y: { field: 'y', type: 'quantitative', scale: null }, y2: { field: 'y2' } } as const;
  return renderSvg({
    title: titleOf(options.title ?? 'Digits'),
    width: columns * cellW + (columns - 1) * gap,
    height: rowsOfImages * cellH + (rowsOfImages - 1) * gap,
    layer: [
      { name: 'frames', data: { values: frames }, mark: { type: 'rect', fill: 'white', stroke: '#bbb', strokeWidth: 1 }, encoding: pos },
      { name: 'pixels', data: { values: pixels }, mark: { type: 'rect', strokeWidth: 0, aria: false }, encoding: { ...pos, fill: { field: 'fill', type: 'nominal', scale: null } } },
      {
        name: 'captions',
        data: { values: captions },
        mark: { type: 'text', baseline: 'top', align: 'center', fontSize: 10 },
        encoding: { x: pos.x, y: pos.y, text: { field: 'text', type: 'nominal' } },
      },
    ],
    config: { view: { stroke: null } },
  });
}

// ---------------------------------------------------------------------------------------------
// Bar chart

/**
 * One bar per category (e.g. the evidence for every class of one image), in the given order.
 * Values may be negative: bars grow from zero, positive blue, negative red, each labelled.
 */
export async function barChart(options: {
  categories: string[]; values: ArrayLike<number>; title?: string; yTitle?: string; xTitle?: string; width?: number; height?: number;
}): Promise<string> {
  const fn = 'barChart';
  const { categories, values } = options ?? {};
  if (!Array.isArray(categories) || categories.length === 0) throw new TypeError(`${fn}: categories must be a non-empty array of strings, got ${describe(categories)}`);
  if (!isArrayLike(values) || values.length !== categories.length) {
    throw new TypeError(`${fn}: ${categories.length} categories need ${categories.length} values, got ${isArrayLike(values) ? `${values.length}` : describe(values)}`);
  }
  const names = categories.map(String);
  if (new Set(names).size !== names.length) throw new TypeError(`${fn}: categories must be distinct, got [${names.join(', ')}]`);
  const rows = names.map((category, i) => {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`${fn}: value ${i} ('${category}') is ${describe(value)}, not a finite number`);
    return { category, value };
  });
  const short = names.every((c) => c.length <= 4);
  const x = { field: 'category', type: 'nominal', sort: names, title: options.xTitle ?? null, axis: short ? { labelAngle: 0 } : {} } as const;
  const y = { field: 'value', type: 'quantitative', title: options.yTitle ?? 'value', scale: { zero: true, padding: 16 } } as const;
  return renderSvg({
    title: titleOf(options.title ?? 'Per-class values'),
    width: options.width ?? Math.max(240, names.length * 36),
    height: options.height ?? 240,
    data: { values: rows },
    encoding: { x, y },
    layer: [
      {
        name: 'bars',
        mark: { type: 'bar' },
        encoding: { color: { condition: { test: 'datum.value < 0', value: '#e45756' }, value: '#4c78a8' } },
      },
      { name: 'labels_pos', transform: [{ filter: 'datum.value >= 0' }], mark: { type: 'text', baseline: 'bottom', dy: -2, fontSize: 10 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.3~g' } } },
      { name: 'labels_neg', transform: [{ filter: 'datum.value < 0' }], mark: { type: 'text', baseline: 'top', dy: 2, fontSize: 10 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.3~g' } } },
      { mark: { type: 'rule', color: '#444' }, encoding: { y: { datum: 0 } } },
    ],
  });
}
