// Classification metrics over integer labels: accuracy, the confusion matrix, and a per-class
// precision / recall / F1 report printed like scikit-learn's classification_report.

import { ShapeError, InputError, ConfigError, describe } from '../errors.js';
import { checkInteger, checkOptions } from '../options.js';
import { Tensor, formatShape, readTensor } from '../tensor.js';
import { typedArrayParts } from '../memory/view.js';

/** Class labels, or a (N, classes) score tensor whose row argmax is the predicted label. */
export type Predictions = ArrayLike<number> | Tensor;

/** Predicted labels: the argmax of each row of a (N, classes) tensor (first index on ties). */
export function argmax(scores: Tensor): Int32Array {
  const s = readTensor(scores, 'argmax: scores');
  if (s.shape.length !== 2 || s.shape[1] < 1) throw new ShapeError(`argmax expects scores of shape [N, classes] with classes >= 1, got ${formatShape(s.shape)}`);
  const [n, c] = s.shape;
  const data = s.data;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = data[r * c], arg = 0;
    for (let j = 1; j < c; j++) if (data[r * c + j] > best) { best = data[r * c + j]; arg = j; }
    out[r] = arg;
  }
  return out;
}

/** Labels as integers, checked against the other side's length. */
function labelsOf(y: Predictions, what: string): Int32Array {
  let values: ArrayLike<unknown>;
  if (Tensor.isTensor(y)) {
    const t = readTensor(y, what);
    values = t.shape.length === 1 ? t.data : argmax(y);
  } else if (Array.isArray(y)) {
    values = y;
  } else if (typedArrayParts(y) !== null) {
    try { values = new Float64Array(y as ArrayLike<number>); } catch (e) {
      throw new InputError(`${what}: cannot read ${describe(y)} as labels (${(e as Error).message})`, { cause: e });
    }
  } else {
    throw new InputError(`${what} must be an array of labels or a Tensor of scores, got ${describe(y)}`);
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= MAX_CLASSES) {
      throw new InputError(`${what}: label ${i} is ${describe(v)}: labels must be integers in [0, ${MAX_CLASSES})`);
    }
    out[i] = v;
  }
  return out;
}

function pair(yTrue: Predictions, yPred: Predictions, fn: string): [Int32Array, Int32Array] {
  const t = labelsOf(yTrue, `${fn}: yTrue`), p = labelsOf(yPred, `${fn}: yPred`);
  if (t.length !== p.length) throw new ShapeError(`${fn}: ${t.length} true labels but ${p.length} predictions`);
  if (t.length === 0) throw new InputError(`${fn}: no samples`);
  return [t, p];
}

/** Fraction of predictions equal to the true label. */
export function accuracy(yTrue: Predictions, yPred: Predictions): number {
  const [t, p] = pair(yTrue, yPred, 'accuracy');
  let correct = 0;
  for (let i = 0; i < t.length; i++) if (t[i] === p[i]) correct++;
  return correct / t.length;
}

/** counts[t * classes + p]: samples of true class t predicted as p (rows: true, columns: predicted). */
export class ConfusionMatrix {
  constructor(readonly classes: number, readonly counts: Int32Array) {}

  at(trueClass: number, predicted: number): number {
    return this.counts[trueClass * this.classes + predicted];
  }

  /** Rows of counts, for printing and plotting. */
  toArray(): number[][] {
    return Array.from({ length: this.classes }, (_, t) => Array.from(this.counts.subarray(t * this.classes, (t + 1) * this.classes)));
  }

  toString(): string {
    const w = Math.max(...Array.from(this.counts, (c) => String(c).length), String(this.classes - 1).length) + 1;
    const pad = (s: string | number) => String(s).padStart(w);
    const lines = [`${pad('')} predicted`, `${pad('')}${Array.from({ length: this.classes }, (_, j) => pad(j)).join('')}`];
    for (let t = 0; t < this.classes; t++) lines.push(`${pad(t)}${this.toArray()[t].map(pad).join('')}`);
    return lines.join('\n');
  }
}

/** The most classes a confusion matrix takes (4096^2 counts are 64 MiB). */
const MAX_CLASSES = 4096;

/** The confusion matrix of integer labels; `classes` defaults to the largest label + 1. */
export function confusionMatrix(yTrue: Predictions, yPred: Predictions, options: { classes?: number } = {}): ConfusionMatrix {
  checkOptions('confusionMatrix', options, ['classes']);
  const [t, p] = pair(yTrue, yPred, 'confusionMatrix');
  if (options?.classes !== undefined) checkInteger('confusionMatrix', 'classes', options.classes, 1, MAX_CLASSES);
  let classes = options?.classes ?? 0;
  if (options?.classes === undefined) for (let i = 0; i < t.length; i++) classes = Math.max(classes, t[i] + 1, p[i] + 1);
  if (classes > MAX_CLASSES) throw new InputError(`confusionMatrix: labels up to ${classes - 1} would need ${classes} classes, more than ${MAX_CLASSES}`);
  const counts = new Int32Array(classes * classes);
  for (let i = 0; i < t.length; i++) {
    if (t[i] >= classes || p[i] >= classes) {
      throw new InputError(`confusionMatrix: sample ${i} has label ${Math.max(t[i], p[i])}, outside the ${classes} classes`);
    }
    counts[t[i] * classes + p[i]]++;
  }
  return new ConfusionMatrix(classes, counts);
}

export interface ClassScores { label: string; precision: number; recall: number; f1: number; support: number }

export interface ClassificationReport {
  perClass: ClassScores[];
  accuracy: number;
  macroAvg: ClassScores;
  weightedAvg: ClassScores;
  support: number;
  /** The report as scikit-learn prints it. */
  toString(): string;
}

/**
 * Per-class precision, recall, F1 and support, with macro and support-weighted averages, as
 * sklearn.metrics.classification_report (zero_division = 0: a class never predicted has
 * precision 0, one never present has recall 0).
 */
export function classificationReport(yTrue: Predictions, yPred: Predictions,
  options: { classes?: number; targetNames?: string[]; digits?: number } = {}): ClassificationReport {
  checkOptions('classificationReport', options, ['classes', 'targetNames', 'digits']);
  options ??= {};
  if (options.targetNames !== undefined && !(Array.isArray(options.targetNames) && options.targetNames.every((n) => typeof n === 'string'))) {
    throw new ConfigError(`classificationReport: targetNames must be an array of strings, got ${describe(options.targetNames)}`);
  }
  if (options.digits !== undefined) checkInteger('classificationReport', 'digits', options.digits, 0, 20);
  let cm = confusionMatrix(yTrue, yPred, { classes: options.classes });
  if (options.targetNames && options.classes === undefined && options.targetNames.length > cm.classes) {
    cm = confusionMatrix(yTrue, yPred, { classes: options.targetNames.length }); // the last classes may be absent from the data
  }
  const names = options.targetNames ?? Array.from({ length: cm.classes }, (_, i) => String(i));
  if (names.length !== cm.classes) throw new ShapeError(`classificationReport: ${names.length} target names for ${cm.classes} classes`);
  const digits = options.digits ?? 2;
  const perClass: ClassScores[] = names.map((label, c) => {
    let predicted = 0, support = 0;
    for (let k = 0; k < cm.classes; k++) { predicted += cm.at(k, c); support += cm.at(c, k); }
    const tp = cm.at(c, c);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const total = perClass.reduce((s, c) => s + c.support, 0);
  let correct = 0;
  for (let c = 0; c < cm.classes; c++) correct += cm.at(c, c);
  const average = (label: string, weight: (c: ClassScores) => number, norm: number): ClassScores => ({
    label,
    precision: perClass.reduce((s, c) => s + weight(c) * c.precision, 0) / norm,
    recall: perClass.reduce((s, c) => s + weight(c) * c.recall, 0) / norm,
    f1: perClass.reduce((s, c) => s + weight(c) * c.f1, 0) / norm,
    support: total,
  });
  const report = {
    perClass,
    accuracy: correct / total,
    macroAvg: average('macro avg', () => 1, perClass.length),
    weightedAvg: average('weighted avg', (c) => c.support, total),
    support: total,
    toString(): string {
      // the layout of sklearn.metrics.classification_report
      const width = Math.max(...names.map((n) => n.length), 'weighted avg'.length, digits);
      const head = ''.padStart(width) + ' ' + ['precision', 'recall', 'f1-score', 'support'].map((h) => ' ' + h.padStart(9)).join('');
      const row = (c: ClassScores) => c.label.padStart(width) + ' ' +
        [c.precision, c.recall, c.f1].map((v) => ' ' + v.toFixed(digits).padStart(9)).join('') + ' ' + String(c.support).padStart(9);
      const acc = 'accuracy'.padStart(width) + ' ' + ' '.padStart(10) + ' '.padStart(10) + ' ' +
        report.accuracy.toFixed(digits).padStart(9) + ' ' + String(total).padStart(9);
      return [head, '', ...perClass.map(row), '', acc, row(report.macroAvg), row(report.weightedAvg), ''].join('\n');
    },
  };
  return report;
}
