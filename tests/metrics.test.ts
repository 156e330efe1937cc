import { describe, expect, it } from 'vitest';
import {
  accuracy, argmax, confusionMatrix, classificationReport, Tensor, ShapeError, InputError,
} from '../bindings/index.js';

describe('metrics', () => {
  it('classificationReport prints exactly like scikit-learn (its documentation example)', () => {
    const report = classificationReport([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], { targetNames: ['class 0', 'class 1', 'class 2'] });
    expect(report.toString()).toBe([
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n'));
    expect(report.perClass[2]).toEqual({ label: 'class 2', precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
    expect(report.accuracy).toBe(0.6);
  });

  it('confusionMatrix counts (true row, predicted column)', () => {
    const cm = confusionMatrix([0, 1, 2, 2, 2, 1], [0, 0, 2, 2, 1, 1]);
    expect(cm.classes).toBe(3);
    expect(cm.toArray()).toEqual([[1, 0, 0], [1, 1, 0], [0, 1, 2]]);
    expect(cm.at(2, 1)).toBe(1);
    expect(confusionMatrix([0], [0], { classes: 10 }).toArray().length).toBe(10);
    expect(cm.toString()).toContain('predicted');
  });

  it('accuracy takes labels or score tensors (row argmax)', () => {
    const scores = new Tensor(new Float32Array([0.1, 0.9, 0.8, 0.2, 0.5, 0.5]), [3, 2]);
    expect(Array.from(argmax(scores))).toEqual([1, 0, 0]); // ties pick the first
    expect(accuracy([1, 0, 1], scores)).toBeCloseTo(2 / 3, 12);
    expect(accuracy(Int32Array.from([3, 3]), [3, 4])).toBe(0.5);
  });

  it('mismatched sizes and bad labels are typed errors', () => {
    expect(() => accuracy([1, 2, 3], [1, 2])).toThrow(ShapeError);
    expect(() => accuracy([1, 2, 3], [1, 2])).toThrow(/3 true labels but 2 predictions/);
    expect(() => confusionMatrix([0, 1], [0])).toThrow(ShapeError);
    expect(() => classificationReport([0, 1], [0, 1, 1])).toThrow(ShapeError);
    expect(() => accuracy([0.5], [0])).toThrow(InputError);
    expect(() => confusionMatrix([0, 5], [0, 1], { classes: 3 })).toThrow(/label 5, outside the 3 classes/);
    expect(() => classificationReport([0, 1], [0, 1], { targetNames: ['a'] })).toThrow(/1 target names for 2 classes/);
    expect(() => accuracy([], [])).toThrow(/no samples/);
  });
});
