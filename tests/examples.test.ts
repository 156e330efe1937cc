// Every example runs in its shortened form (--quick) so none of them rots: it must exit 0, print
// its results table, end with one JSON line, and write its charts as SVG.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);
const script = (name: string) => new URL(`../dist/examples/${name}.js`, import.meta.url).pathname;

const EXAMPLES: [string, string[]][] = [
  ['course-mlp', ['course-mlp-loss.svg', 'course-mlp-accuracy.svg', 'course-mlp-confusion.svg']],
  ['softmax-vs-logsoftmax', ['softmax-vs-logsoftmax.svg']],
  ['binarized', ['binarized-loss.svg', 'binarized-pixels.svg']],
  ['normalization', ['pixels-linear.svg', 'pixels-log.svg']],
  ['optimizers', ['optimizers-loss.svg', 'optimizers-accuracy.svg']],
  ['evidence', ['evidence.svg', 'misclassified.svg']],
  ['early-stopping', ['early-stopping-loss.svg', 'early-stopping-accuracy.svg']],
  ['binary-3v7', ['binary-3v7-loss.svg', 'binary-3v7-confusion.svg']],
];

describe('examples (shortened)', () => {
  for (const [name, charts] of EXAMPLES) {
    it(name, async () => {
      const dir = await mkdtemp(join(tmpdir(), `simdnet-${name}-`));
      const table = await run(process.execPath, [script(name), '--quick', '--plots', dir]);
      expect(table.stdout).toMatch(/^\| .* \|$/m);            // a results table
      const json = await run(process.execPath, [script(name), '--quick', '--json']);
      const last = json.stdout.trim().split('\n').at(-1)!;
      expect(() => JSON.parse(last)).not.toThrow();
      expect((await readdir(dir)).sort()).toEqual([...charts].sort());
      for (const c of charts) expect((await readFile(join(dir, c), 'utf8')).trimStart()).toMatch(/^<svg/);
    });
  }

  it('npm run mnist takes --optimizer, --validation-split and --plots, and prints the classification report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdnet-mnist-'));
    const { stdout } = await run(process.execPath, [script('mnist'), '--optimizer', 'adam', '--epochs', '1', '--train-limit', '3000',
      '--validation-split', '0.1', '--plots', dir]);
    expect(stdout).toMatch(/val loss \d/);
    expect(stdout).toMatch(/precision {4}recall {2}f1-score {3}support/);
    expect(stdout).toMatch(/weighted avg/);
    expect((await readdir(dir)).sort()).toEqual(['mnist-accuracy.svg', 'mnist-confusion.svg', 'mnist-loss.svg']);
    await expect(run(process.execPath, [script('mnist'), '--optimizer', 'lbfgs'])).rejects.toThrow(/--optimizer must be one of sgd, momentum, rmsprop, adam, adamw/);
  });

  it('npm run mnist -- --model cnn trains the CNN with Adam, batch 64, and the same report and JSON', async () => {
    const { stdout } = await run(process.execPath, [script('mnist'), '--model', 'cnn', '--epochs', '1', '--train-limit', '640', '--test-limit', '1000']);
    expect(stdout).toMatch(/Conv2d\(1, 32, kernel_size=\(5, 5\), stride=\(1, 1\), padding=\(2, 2\)\) -> \[32, 28, 28\]/);
    expect(stdout).toMatch(/Linear\(in_features=3136, out_features=128, bias=True\)/);
    expect(stdout).toMatch(/adam lr 0.001 cosine-annealed to 0 over the run, batch 64/);
    expect(stdout).toMatch(/weighted avg/);
    const json = await run(process.execPath, [script('mnist'), '--model', 'cnn', '--epochs', '1', '--train-limit', '640', '--test-limit', '1000', '--json']);
    const result = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    expect(result.config).toMatchObject({ model: 'cnn', optimizer: 'adam', lr_schedule: 'cosine', batch_size: 64, train_images: 640 });
    expect(result.test_accuracy).toBeGreaterThan(0.5); // 10 Adam steps already learn something
    await expect(run(process.execPath, [script('mnist'), '--model', 'resnet'])).rejects.toThrow(/--model must be one of mlp, cnn/);
  }, 120_000);
});
