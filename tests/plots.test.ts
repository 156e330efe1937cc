// The example charts (examples/lib/plots.ts): Vega-Lite rendered headless to SVG. Each chart is
// checked for well-formed SVG, its size, its title and the number of marks it draws, read from
// Vega's SVG output (each mark is a <g class="mark-TYPE role-mark NAME"> of <path>/<text> items).
// PLOTS_DIR=/some/dir also writes every chart there to look at.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  barChart, confusionMatrixHeatmap, digitGrid, lossAccuracyCurves, pixelHistogram, trainingCurves, writeSvg,
} from '../examples/lib/plots.js';
import { History } from '../bindings/model/callbacks.js';
import { confusionMatrix } from '../bindings/metrics/classification.js';

const warn = vi.spyOn(console, 'warn');
const error = vi.spyOn(console, 'error');
afterAll(() => { warn.mockRestore(); error.mockRestore(); });

async function keep(name: string, svg: string): Promise<string> {
  if (process.env.PLOTS_DIR) await writeSvg(join(process.env.PLOTS_DIR, `${name}.svg`), svg);
  return svg;
}

/** Every tag closes in order, the root is one <svg> with a positive width and height. */
function expectSvg(svg: string, title: string): { width: number; height: number } {
  expect(svg.startsWith('<svg')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)(?:\s[^>]*?)?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const root = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
  expect(root, 'width and height on <svg>').not.toBeNull();
  const width = Number(root![1]);
  const height = Number(root![2]);
  expect(width).toBeGreaterThan(0);
  expect(height).toBeGreaterThan(0);
  expect(texts(svg, 'role-title-text')).toEqual([escapeXml(title)]);
  return { width, height };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The item elements (<path> or <text>) of every mark group whose class contains `cls`. */
function items(svg: string, cls: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/<g class="([^"]*)"[^>]*>/g)) {
    if (!` ${m[1]} `.includes(` ${cls} `)) continue;
    const start = m.index! + m[0].length;
    const body = svg.slice(start, svg.indexOf('</g>', start));
    out.push(...(body.match(/<(path|text)\b[^>]*?(\/>|>[^<]*<\/text>)/g) ?? []));
  }
  return out;
}

function texts(svg: string, cls: string): string[] {
  return items(svg, cls).map((t) => /> *([^<]*)<\/text>$/.exec(t)?.[1] ?? '');
}

function axisLabel(svg: string, axis: 'X' | 'Y'): string {
  return new RegExp(`aria-label="(${axis}-axis[^"]*)"`).exec(svg)?.[1] ?? '';
}

describe('lossAccuracyCurves', () => {
  it('draws one line per series and one point per finite value, with a legend', async () => {
    const svg = await keep('curves', await lossAccuracyCurves({
      title: 'Loss <train & val>', yTitle: 'loss',
      series: [{ name: 'train loss', values: [0.9, 0.5, 0.3, 0.2, 0.15] }, { name: 'validation loss', values: [0.6, 0.4, 0.3, 0.28, 0.27] }],
    }));
    expectSvg(svg, 'Loss <train & val>');
    expect(items(svg, 'mark-line')).toHaveLength(2);
    expect(items(svg, 'mark-symbol').filter((p) => p.includes('epoch:'))).toHaveLength(10);
    expect(texts(svg, 'role-legend-label')).toEqual(['train loss', 'validation loss']);
    expect(texts(svg, 'role-axis-title')).toEqual(['epoch', 'loss']);
    expect(texts(svg, 'role-axis-label')).toContain('5');
  });

  it('leaves NaN / Infinity out, breaks the line there and says so', async () => {
    const svg = await lossAccuracyCurves({ yTitle: 'loss', series: [{ name: 'naive', values: [2.3, NaN, 1.0, Infinity] }] });
    expectSvg(svg, 'loss');
    expect(items(svg, 'mark-symbol').filter((p) => p.includes('epoch:'))).toHaveLength(2);
    expect(texts(svg, 'role-title-subtitle')).toEqual(['2 non-finite values not drawn']);
    // Two pieces (epoch 1 and epoch 3), not one segment joining them across the NaN.
    const line = items(svg, 'mark-line')[0];
    expect(/ d="([^"]*)"/.exec(line)![1].match(/M/g)).toHaveLength(2);
    expect(axisLabel(svg, 'Y')).toMatch(/values from 1(\.0)? to 2\.3/);
  });

  it('rejects empty, unnamed, duplicate, ragged and non-numeric series', async () => {
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [] })).rejects.toThrow(/lossAccuracyCurves: series must be a non-empty array/);
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [{ name: 'train', values: [] }] }))
      .rejects.toThrow(new TypeError("lossAccuracyCurves: series 'train' needs a non-empty array of values, got an array of length 0"));
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [{ name: '', values: [1] }] })).rejects.toThrow(/series\[0\]\.name/);
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [{ name: 'a', values: [1] }, { name: 'a', values: [2] }] }))
      .rejects.toThrow(/two series are named 'a'/);
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [{ name: 'a', values: [1, 2], x: [1] }] }))
      .rejects.toThrow(/series 'a' has 2 values but x is an array of length 1/);
    await expect(lossAccuracyCurves({ yTitle: 'loss', series: [{ name: 'a', values: [1, '2' as unknown as number] }] }))
      .rejects.toThrow(/series 'a' value 1 is '2', not a number/);
  });
});

describe('trainingCurves', () => {
  const history = new History();
  [[0.9, 0.7, 0.5, 0.8], [0.4, 0.9, 0.35, 0.9], [0.3, 0.93, 0.33, 0.91]].forEach(([loss, accuracy, vl, va], e) =>
    history.record(e, { loss, accuracy, seconds: 1, val_loss: vl, val_accuracy: va }));

  it('plots train and validation loss and accuracy of a History, and a final test value at the last epoch', async () => {
    const { loss, accuracy } = await trainingCurves(history, { title: 'MLP', test: { accuracy: [0.92] } });
    expectSvg(await keep('training-loss', loss), 'MLP: loss per epoch');
    expectSvg(await keep('training-accuracy', accuracy!), 'MLP: accuracy per epoch');
    expect(texts(loss, 'role-legend-label')).toEqual(['train', 'validation']);
    expect(texts(accuracy!, 'role-legend-label')).toEqual(['train', 'validation', 'test']);
    const points = items(accuracy!, 'mark-symbol').filter((p) => p.includes('epoch:'));
    expect(points).toHaveLength(7);
    expect(points.filter((p) => /epoch: 3; accuracy: 92(\.0)?%; series: test/.test(p))).toHaveLength(1);
    expect(texts(accuracy!, 'role-axis-label')).toContain('90%');
  });

  it('draws only what exists: no validation series without validation, no accuracy chart without accuracies', async () => {
    const { loss, accuracy } = await trainingCurves({ history: { loss: [1, 0.5], accuracy: [NaN, NaN], val_loss: [], val_accuracy: [] } });
    expectSvg(loss, 'loss per epoch');
    expect(items(loss, 'mark-line')).toHaveLength(1);
    expect(accuracy).toBeUndefined();
    await expect(trainingCurves({} as never)).rejects.toThrow(/trainingCurves: expected a History/);
    await expect(trainingCurves(new History())).rejects.toThrow(new TypeError('trainingCurves: the history has no epochs (its loss array is empty)'));
  });
});

describe('confusionMatrixHeatmap', () => {
  const m10 = Array.from({ length: 10 }, (_, t) => Array.from({ length: 10 }, (_, p) => (t === p ? 950 + 10 * t : (3 * t + p) % 7)));

  it('draws a 10x10 matrix as 100 coloured cells, each with its count (true on y, predicted on x)', async () => {
    const svg = await keep('confusion', await confusionMatrixHeatmap(m10, { title: 'MNIST test' }));
    expectSvg(svg, 'MNIST test');
    const cells = items(svg, 'cells_marks');
    expect(cells).toHaveLength(100);
    expect(cells[0]).toMatch(/predicted: 0; true: 0; value: 950/);
    expect(cells[1 * 10 + 7]).toMatch(/predicted: 7; true: 1; value: 3"/);
    expect(texts(svg, 'counts_marks')).toEqual(m10.flat().map(String));
    expect(new Set(cells.map((c) => /fill="([^"]*)"/.exec(c)![1])).size).toBeGreaterThan(5);
    // The largest count is written in white on the darkest cell, small counts in dark text.
    expect(items(svg, 'counts_marks')[99]).toMatch(/fill="white"/);
    expect(items(svg, 'counts_marks')[1]).toMatch(/fill="#222"/);
    expect(texts(svg, 'role-axis-title').sort()).toEqual(['predicted', 'true']);
  });

  it("takes simdnet's ConfusionMatrix or flat counts, with labels, and normalizes by true class", async () => {
    const cm = confusionMatrix([0, 1, 2, 2, 2, 1], [0, 0, 2, 2, 1, 1]);
    const svg = await keep('confusion-normalized', await confusionMatrixHeatmap(cm, { labels: ['cat', 'dog', 'bird'], normalize: true }));
    expectSvg(svg, 'Confusion matrix');
    expect(texts(svg, 'counts_marks')).toEqual(['1.00', '0.00', '0.00', '0.50', '0.50', '0.00', '0.00', '0.33', '0.67']);
    expect(texts(svg, 'role-axis-label')).toEqual(expect.arrayContaining(['cat', 'dog', 'bird']));
    const flat = await confusionMatrixHeatmap(new Int32Array([1, 0, 0, 1, 1, 0, 0, 1, 2]), { classes: 3 });
    expect(texts(flat, 'counts_marks')).toEqual(['1', '0', '0', '1', '1', '0', '0', '1', '2']);
  });

  it('rejects ragged, empty, negative and mislabelled matrices', async () => {
    await expect(confusionMatrixHeatmap([[1, 2, 3], [4, 5, 6], [7, 8]]))
      .rejects.toThrow(new TypeError('confusionMatrixHeatmap: the matrix must be square: row 2 has 2 entries, expected 3'));
    await expect(confusionMatrixHeatmap([])).rejects.toThrow(/the matrix is empty/);
    await expect(confusionMatrixHeatmap(new Int32Array(10))).rejects.toThrow(/a flat matrix of length 10 is not square/);
    await expect(confusionMatrixHeatmap([[1, -1], [0, 1]])).rejects.toThrow(RangeError);
    await expect(confusionMatrixHeatmap([[1, 0], [0, 1]], { labels: ['a'] })).rejects.toThrow(/2 classes need 2 labels/);
    await expect(confusionMatrixHeatmap([[1, 0], [0, 1]], { labels: ['a', 'a'] })).rejects.toThrow(/labels must be distinct/);
  });
});

describe('pixelHistogram', () => {
  // 0 most of the time, 255 often, a few values in between: MNIST's shape in miniature.
  const pixels = new Uint8Array(28 * 28 * 50);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i % 5 === 0 ? 255 : i % 97 === 1 ? (i * 31) % 128 : 0; // nothing in 128..254

  it('bins the values into a linear count axis; the bars add up to the number of values', async () => {
    const svg = await keep('histogram', await pixelHistogram(pixels, { title: 'Training pixels' }));
    expectSvg(svg, 'Training pixels');
    const bars = items(svg, 'bars_marks');
    expect(bars).toHaveLength(50);
    const counts = bars.map((b) => Number(/count: (\d+)/.exec(b)![1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(pixels.length);
    expect(counts[0]).toBe(Array.from(pixels).filter((v) => v < 255 / 50).length);
    expect(axisLabel(svg, 'Y')).toMatch(/for a linear scale/);
    expect(texts(svg, 'role-axis-title')).toEqual(['pixel intensity', 'count']);
  });

  it('logCount: a log axis with power-of-ten ticks; empty bins are dropped', async () => {
    const svg = await keep('histogram-log', await pixelHistogram(pixels, { logCount: true, bins: 64 }));
    expectSvg(svg, 'Pixel intensities');
    expect(axisLabel(svg, 'Y')).toMatch(/titled 'count \(log scale\)' for a log scale/);
    const bars = items(svg, 'bars_marks');
    expect(bars.length).toBeLessThan(64);
    expect(bars.every((b) => !/count: 0;/.test(b))).toBe(true);
    expect(texts(svg, 'role-title-subtitle')[0]).toMatch(new RegExp(`log count: ${64 - bars.length} empty bins not drawn`));
    expect(texts(svg, 'role-axis-label')).toEqual(expect.arrayContaining(['1', '10', '100', '1k', '10k']));
  });

  it('takes Float32Array values and rejects empty input, NaN and bad bin counts', async () => {
    const svg = await pixelHistogram(new Float32Array([0, 0.5, 1, 1]), { bins: 2, xTitle: 'scaled pixel' });
    expect(items(svg, 'bars_marks').map((b) => /count: (\d+)/.exec(b)![1])).toEqual(['1', '3']);
    expect(texts(svg, 'role-axis-title')[0]).toBe('scaled pixel');
    await expect(pixelHistogram(new Uint8Array(0))).rejects.toThrow(/pixelHistogram: expected a non-empty array/);
    await expect(pixelHistogram(new Float32Array([0.1, NaN]))).rejects.toThrow(new RangeError('pixelHistogram: value 1 is number NaN; pixel values must be finite numbers'));
    await expect(pixelHistogram(pixels, { bins: 0 })).rejects.toThrow(/bins must be a positive integer, got 0/);
  });
});

describe('digitGrid', () => {
  it('draws each image as a frame, one rect per non-blank pixel and a caption', async () => {
    const full = (k: number) => Uint8Array.from({ length: 784 }, (_, i) => 1 + ((i + k) % 255));
    const svg = await keep('digits', await digitGrid(
      [0, 1, 2].map((k) => ({ pixels: full(k), caption: `true ${k}, pred ${k + 1}` })), { title: 'Misclassified' }));
    const { width } = expectSvg(svg, 'Misclassified');
    expect(items(svg, 'frames_marks')).toHaveLength(3);
    expect(items(svg, 'pixels_marks')).toHaveLength(3 * 784);
    expect(texts(svg, 'captions_marks')).toEqual(['true 0, pred 1', 'true 1, pred 2', 'true 2, pred 3']);
    expect(width).toBeGreaterThan(3 * 84);
    // Pixel 0 of image 0 is 1/255: almost white; pixel 254 is 255: black.
    const px = items(svg, 'pixels_marks');
    expect(px[0]).toMatch(/fill="rgb\(254, ?254, ?254\)"/);
    expect(px[254]).toMatch(/fill="rgb\(0, ?0, ?0\)"/);
  });

  it('skips blank pixels, reads 0..1 and 0..255 alike, and lays images out in rows of `columns`', async () => {
    const a = new Float32Array(784);
    a[0] = 1; a[29] = 0.5; a[783] = 0.25;
    const b = Float32Array.from(a, (v) => v * 255);
    const svg = await digitGrid([{ pixels: a, caption: 'a' }, { pixels: b, caption: 'b' }, { pixels: a, caption: 'c' }], { columns: 2 });
    const px = items(svg, 'pixels_marks');
    expect(px).toHaveLength(9);
    const fills = px.map((p) => /fill="([^"]*)"/.exec(p)![1]);
    expect(fills.slice(0, 3)).toEqual(fills.slice(3, 6));
    const frames = items(svg, 'frames_marks').map((f) => /d="M([\d.]+),([\d.]+)/.exec(f)!.slice(1).map(Number));
    expect(frames[2][0]).toBe(frames[0][0]);
    expect(frames[2][1]).toBeGreaterThan(frames[0][1]);
    expect(frames[1][1]).toBe(frames[0][1]);
  });

  it('rejects wrong image sizes, out-of-range pixels and an empty list', async () => {
    await expect(digitGrid([{ pixels: new Float32Array(784), caption: 'ok' }, { pixels: new Float32Array(783), caption: 'short' }]))
      .rejects.toThrow(new TypeError('digitGrid: image 1 needs 28x28 = 784 pixels, got 783'));
    await expect(digitGrid([{ pixels: new Float32Array(16), caption: 'x' }], { width: 4, height: 4 })).resolves.toMatch(/^<svg/);
    await expect(digitGrid([{ pixels: Array(784).fill(300), caption: 'x' }])).rejects.toThrow(/image 0 pixel 0 is number 300/);
    await expect(digitGrid([{ pixels: Array(784).fill(-1), caption: 'x' }])).rejects.toThrow(RangeError);
    await expect(digitGrid([])).rejects.toThrow(/digitGrid: expected a non-empty array/);
  });
});

describe('barChart', () => {
  it('draws one bar per category in order, negative bars in another colour, each labelled', async () => {
    const values = [-3.2, 1.5, 0.2, -0.7, 8.9, -1.1, 0.05, 2.4, -5.5, 3.3];
    const svg = await keep('bars', await barChart({
      categories: values.map((_, i) => String(i)), values, title: 'Evidence for every class', yTitle: 'evidence',
    }));
    expectSvg(svg, 'Evidence for every class');
    const bars = items(svg, 'bars_marks');
    expect(bars).toHaveLength(10);
    expect(bars.map((b) => /category: (\d)/.exec(b)![1])).toEqual(values.map((_, i) => String(i)));
    expect(bars.filter((b) => b.includes('#e45756'))).toHaveLength(4);
    expect(texts(svg, 'labels_pos_marks')).toEqual(['1.5', '0.2', '8.9', '0.05', '2.4', '3.3']);
    expect(texts(svg, 'labels_neg_marks').map((t) => t.replace('\u2212', '-'))).toEqual(['-3.2', '-0.7', '-1.1', '-5.5']);
    expect(texts(svg, 'role-axis-title')).toContain('evidence');
  });

  it('rejects mismatched lengths, duplicate categories and non-finite values', async () => {
    await expect(barChart({ categories: ['a', 'b'], values: [1] })).rejects.toThrow(new TypeError('barChart: 2 categories need 2 values, got 1'));
    await expect(barChart({ categories: [], values: [] })).rejects.toThrow(/categories must be a non-empty array/);
    await expect(barChart({ categories: ['a', 'a'], values: [1, 2] })).rejects.toThrow(/categories must be distinct/);
    await expect(barChart({ categories: ['a', 'b'], values: [1, NaN] })).rejects.toThrow(/value 1 \('b'\) is number NaN/);
  });
});

describe('writeSvg', () => {
  it('creates the folder and writes the file; refuses what is not SVG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdnet-plots-'));
    try {
      const svg = await barChart({ categories: ['a'], values: [1] });
      await writeSvg(join(dir, 'nested', 'deeper', 'bar.svg'), svg);
      expect(await readFile(join(dir, 'nested', 'deeper', 'bar.svg'), 'utf8')).toBe(svg);
      await expect(writeSvg(join(dir, 'x.svg'), 'hello')).rejects.toThrow(/writeSvg: expected an SVG string/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('no chart above made Vega or Vega-Lite warn', () => {
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });
});
