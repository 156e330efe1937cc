// Conformance across runtimes (issue 8): one suite (tests/conformance/suite.mjs: a seeded MLP
// through the explicit loop and fit, a seeded CNN with a Winograd convolution and BatchNorm
// through fit, then predict and evaluate) run against the packed package, installed into a fresh
// project and imported by name, on Node 20 and 24, Bun, Deno, workerd, and Chromium in a page and
// in a Web Worker. The 'simd' tier must give the same bits everywhere (weights, outputs, losses);
// for the 'relaxed' tier the test prints which runtimes agree (fused or unfused multiply-add is
// the engine's choice) and fails only where a runtime that supports relaxed SIMD cannot run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Targets, TARGETS, EXPECTED_ENTRY, type Result, type Target, type Tier } from './conformance/targets.js';
import { agreementReport, bitsOf, diffPaths, summarisePaths, summaryTable } from './conformance/compare.js';

/** Runtimes whose engine (V8) ships relaxed SIMD: the relaxed tier must run there (Node 20 with its flag). */
const RELAXED_REQUIRED: readonly Target[] = ['node20', 'node24', 'deno', 'workerd', 'chromium-page', 'chromium-worker'];

let targets: Targets | null = null;
let setupError: unknown = null;
const results: Record<Tier, Map<Target, Result>> = { simd: new Map(), relaxed: new Map() };
const threaded = new Map<Target, Result>();
const failures: Record<Tier, Map<Target, string>> = { simd: new Map(), relaxed: new Map() };

beforeAll(async () => {
  try {
    targets = await Targets.create();
    targets.cliVersions();
  } catch (e) {
    setupError = e;
    throw e;
  }
}, 120_000);

afterAll(async () => {
  try {
    for (const tier of ['simd', 'relaxed'] as const) {
      const rows = TARGETS.map((target) => ({ target, result: results[tier].get(target), failure: failures[tier].get(target) }))
        .filter((r) => r.result || r.failure);
      if (rows.length) console.log(`simdnet conformance, tier ${tier}:\n${summaryTable(rows)}`);
    }
  } finally {
    await targets?.stop();
  }
}, 30_000);

/** The suite did real work: the weights moved, the losses are finite and fell, the models beat chance. */
function expectNonTrivial(r: Result): void {
  const mlp = r.mlp as unknown as {
    initial: Record<string, string>; explicit: { state: Record<string, string> }; fit: { state: Record<string, string> };
    predict: { shape: number[] }; values: { explicitLosses: number[]; fitLoss: number[]; valLoss: number[]; evaluate: { accuracy: number } };
  };
  const cnn = r.cnn as unknown as {
    initial: Record<string, string>; fit: { state: Record<string, string> }; predict: { shape: number[] };
    values: { fitLoss: number[]; valLoss: number[]; evaluate: { accuracy: number } };
  };
  for (const name of Object.keys(mlp.initial)) {
    expect(mlp.explicit.state[name], `mlp ${name} after the explicit loop`).not.toBe(mlp.initial[name]);
    expect(mlp.fit.state[name], `mlp ${name} after fit`).not.toBe(mlp.explicit.state[name]);
  }
  for (const name of Object.keys(cnn.initial)) expect(cnn.fit.state[name], `cnn ${name} after fit`).not.toBe(cnn.initial[name]);
  const losses = [...mlp.values.explicitLosses, ...mlp.values.fitLoss, ...mlp.values.valLoss, ...cnn.values.fitLoss, ...cnn.values.valLoss];
  expect(losses.every(Number.isFinite), 'every loss finite').toBe(true);
  const e = mlp.values.explicitLosses, f = mlp.values.fitLoss, c = cnn.values.fitLoss;
  expect(e.at(-1)!, 'mlp explicit loop loss fell').toBeLessThan(e[0]);
  expect(f.at(-1)!, 'mlp fit loss fell').toBeLessThan(f[0]);
  expect(c.at(-1)!, 'cnn fit loss fell').toBeLessThan(c[0]);
  expect(mlp.values.evaluate.accuracy, 'mlp beats chance (0.2)').toBeGreaterThan(0.4);
  expect(cnn.values.evaluate.accuracy, 'cnn beats chance (0.25)').toBeGreaterThan(0.6);
  expect(mlp.predict.shape).toEqual([96, 5]);
  expect(cnn.predict.shape).toEqual([48, 4]);
}

async function runTarget(target: Target, tier: Tier): Promise<Result> {
  if (!targets) throw new Error(`the consumer project was not built: ${String(setupError)}`);
  try {
    const r = await targets.run(target, tier);
    results[tier].set(target, r);
    return r;
  } catch (e) {
    failures[tier].set(target, (e as Error).message);
    throw e;
  }
}

describe('conformance: tier simd', () => {
  for (const target of TARGETS) {
    it(`${target} runs the suite on the simd tier with the ${EXPECTED_ENTRY[target]} entry`, async () => {
      const r = await runTarget(target, 'simd');
      expect(r.error, `${target}: init({ tier: 'simd' }) refused`).toBeUndefined();
      expect(r.tier).toBe('simd');
      expect(r.runtime.entry, `${target} got the package's ${r.runtime.entry} entry`).toBe(EXPECTED_ENTRY[target]);
      if (target === 'node20' || target === 'node24') expect(r.runtime.version, `${target} is ${r.how}`).toMatch(target === 'node20' ? /^20\./ : /^24\./);
      // save then load is bit-exact here too (weights and predictions), and a resumed checkpoint trains on
      expect(r.cnn?.save?.loadedSame, `${target}: Sequential.load(model.save()) gives the same bits`).toBe(true);
      expect(r.cnn?.save?.resumed, `${target}: the resumed checkpoint trained`).not.toEqual(r.cnn?.fit?.state);
      expectNonTrivial(r);
    }, 60_000);
  }

  it('every target gives bit-identical weights, outputs and losses', () => {
    const missing = TARGETS.filter((t) => !results.simd.has(t));
    const [reference, ...others] = TARGETS.filter((t) => results.simd.has(t));
    expect(reference, 'at least one target ran').toBeDefined();
    const ref = bitsOf(results.simd.get(reference)!);
    const differences = others
      .map((t) => ({ t, paths: diffPaths(ref, bitsOf(results.simd.get(t)!)) }))
      .filter((d) => d.paths.length)
      .map((d) => `${d.t} differs from ${reference} in ${d.paths.length} items: ${summarisePaths(d.paths)}`);
    expect(differences, 'simd-tier differences').toEqual([]);
    expect(missing, 'targets without a simd result (see their own test)').toEqual([]);
  });
});

describe('conformance: tier relaxed', () => {
  for (const target of TARGETS) {
    const required = RELAXED_REQUIRED.includes(target);
    it(`${target} ${required ? 'runs' : 'runs (where its engine supports it)'} the suite on the relaxed tier`, async () => {
      const r = await runTarget(target, 'relaxed');
      expect(r.runtime.entry).toBe(EXPECTED_ENTRY[target]);
      if (r.error) {
        // refused: allowed only where the engine lacks relaxed SIMD, and then with the library's ConfigError
        expect(required, `${target} refused the relaxed tier: ${r.error}`).toBe(false);
        expect(r.features?.relaxedSimd, `${target} supports relaxed SIMD but refused the tier: ${r.error}`).toBe(false);
        expect(r.error).toMatch(/^ConfigError: tier 'relaxed' was requested but this runtime does not support relaxed SIMD/);
        return;
      }
      expect(r.tier).toBe('relaxed');
      expectNonTrivial(r);
    }, 60_000);
  }

  it('reports which targets agree on the relaxed tier (differences are the engines\' choice, not failures)', () => {
    const report = agreementReport(results.relaxed, results.simd);
    console.log(`simdnet conformance, relaxed tier agreement (= same bits, x differ):\n${report.text}`);
    expect(results.relaxed.size, 'targets with a relaxed result').toBeGreaterThan(0);
  });
});

describe('conformance: two threads', () => {
  // workerd has no workers: it runs on one thread and says why; every other target runs a pool
  for (const target of TARGETS) {
    it(`${target} ${target === 'workerd' ? 'runs on one thread and says why' : 'runs the suite on 2 threads'}, to the bits of one thread`, async () => {
      if (!targets) throw new Error(`the consumer project was not built: ${String(setupError)}`);
      const r = await targets.run(target, 'simd', 2);
      threaded.set(target, r);
      expect(r.error, `${target}: init({ threads: 2 }) refused`).toBeUndefined();
      if (target === 'workerd') {
        expect(r.threads).toBe(1);
        expect(r.threadsNote).toMatch(/workerd/);
      } else {
        expect(r.threads, `${target}: ${r.threadsNote}`).toBe(2);
        expect(r.threadsNote).toBeNull();
      }
      const one = results.simd.get(target);
      expect(one, `${target} has a one-thread simd result to compare with`).toBeDefined();
      const paths = diffPaths(bitsOf(one!), bitsOf(r));
      expect(paths, `${target} on 2 threads differs from 1 thread in: ${summarisePaths(paths)}`).toEqual([]);
      expect(r.digest).toBe(one!.digest);
    }, 60_000);
  }
});
