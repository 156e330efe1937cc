// `npm run predict` (examples/predict.ts) on models trained in PyTorch (tests/fixtures/interop,
// written by tests/fixtures/make_interop.py): a torch.onnx.export of the course MLP and of the
// MNIST CNN, and the MLP's bare state_dict in safetensors (no architecture in it), each reaching
// PyTorch's own test accuracy; a CNN state_dict, which cannot be rebuilt from its weights, is a
// FormatError saying what to do; --image gives one image's probabilities.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, type TensorToWrite } from '../bindings/index.js';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const PREDICT = here('../dist/examples/predict.js');
const INTEROP = here('./fixtures/interop/');
const expected = JSON.parse(readFileSync(INTEROP + 'expected.json', 'utf8')) as { models: Record<'mlp' | 'cnn', { test_accuracy: number }> };

function predict(...args: string[]): { code: number | null; json: Record<string, unknown> | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [PREDICT, ...args], { encoding: 'utf8', timeout: 120_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> | null = null;
  try { json = JSON.parse(last) as Record<string, unknown>; } catch { /* not JSON */ }
  return { code: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run predict on PyTorch models', () => {
  it.each([
    ['mlp.onnx', 'mlp', 'unit'],
    ['cnn.onnx', 'cnn', 'standard'],
    ['mlp.safetensors', 'mlp', 'unit'],
  ] as const)('%s: --json gives PyTorch\'s test accuracy, with the preprocessing it was trained on', (file, model, how) => {
    const r = predict('--model', INTEROP + file, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ test_images: 10000, preprocessing: how });
    expect(r.json!.test_accuracy).toBe(expected.models[model].test_accuracy);
  }, 120_000);

  it('a bare state_dict is rebuilt as the MLP its Linear shapes chain into, and says so', () => {
    const r = predict('--model', INTEROP + 'mlp.safetensors', '--test-limit', '1000');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/records no architecture .*rebuilt as the MLP 784-64-32-32-10/);
    expect(r.stdout).toMatch(/7 layers \(Linear, ReLU, Linear, ReLU, Linear, ReLU, Linear\)/);
  }, 60_000);

  it('a CNN state_dict is a FormatError naming the tensor and the way out (ONNX)', () => {
    const r = predict('--model', INTEROP + 'cnn.safetensors', '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^FormatError: .*'0\.weight' \[32,1,5,5\] is not a Linear weight.*torch\.onnx\.export/m);
  }, 60_000);

  it('a state_dict whose Linear shapes do not chain from 784 inputs, a bias without its weight or of the wrong size, is a FormatError naming them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'simdnet-predict-'));
    const t = (shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    try {
      const gap = join(dir, 'gap.safetensors'), orphan = join(dir, 'orphan.safetensors');
      writeFileSync(gap, encodeSafetensors([['fc1.weight', t([64, 784])], ['fc2.weight', t([10, 32])]]));
      writeFileSync(orphan, encodeSafetensors([['fc1.weight', t([10, 784])], ['fc2.bias', t([10])]]));
      const a = predict('--model', gap, '--json');
      expect(a.code).toBe(1);
      expect(a.stderr).toMatch(/^FormatError: .*do not chain from 784 inputs: after fc1 \(64 features\), none of fc2 \[10,32\] takes 64/m);
      const b = predict('--model', orphan, '--json');
      expect(b.code).toBe(1);
      expect(b.stderr).toMatch(/^FormatError: .*'fc2\.bias' has no 'fc2\.weight'/m);
      const mismatch = join(dir, 'mismatch.safetensors');
      writeFileSync(mismatch, encodeSafetensors([['fc1.weight', t([10, 784])], ['fc1.bias', t([9])]]));
      const c = predict('--model', mismatch, '--json');
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/^FormatError: .*'fc1\.bias' \[9\] does not match 'fc1\.weight' \[10,784\]/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--image N: one image\'s class probabilities as JSON', () => {
    const r = predict('--model', INTEROP + 'mlp.onnx', '--image', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const p = r.json!.probabilities as number[];
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(r.json).toMatchObject({ predicted: 7, label: 7 });
  }, 60_000);
});
