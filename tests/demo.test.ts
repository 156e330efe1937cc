// The browser demo (examples/web) end to end, the way `npm run demo` runs it: the build script
// builds and serves it (cross-origin isolated), Chromium opens it, trains the course MLP briefly in
// the worker, the confusion matrix appears, a "7" drawn with mouse events gets class probabilities,
// and the page kept drawing frames while the worker trained. The screenshot goes to
// test-results/demo.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serveStatic } from './helpers/browser.js';

const repo = new URL('..', import.meta.url).pathname;
const screenshot = join(repo, 'test-results', 'demo.png');

/**
 * Runs `npm run demo`'s command on a free port into a temporary folder; `url` resolves with the
 * address it prints. The child is returned at once, so that it is ended whatever happens next.
 */
function startDemo(outDir: string): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [join(repo, 'tools', 'build-demo.mjs'), '--serve', '--port', '0', '--out', outDir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /serving the demo at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`build-demo exited with ${code} before serving:\n${output}`)));
  });
  return { child, url };
}

interface DemoState {
  ready: boolean; training: boolean; predictions: number; predictionsWhileTraining: number; frames: number;
  framesAtTrainStart: number; framesAtTrainEnd: number; maxFrameGapMs: number;
  info: { isolated: boolean; threads: number; note: string; tier: string; trainCount: number; testCount: number };
  lastPrediction: { digit: number; probs: number[]; trained: boolean } | null;
}
const demoState = (page: Page) => page.evaluate(() => (window as unknown as { simdnetDemo: { state: DemoState } }).simdnetDemo.state);

describe('browser demo (examples/web)', () => {
  let outDir: string, child: ChildProcess | undefined, browser: Browser | undefined;
  const demo = { url: '' };

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'simdnet-demo-'));
    const started = startDemo(outDir);
    child = started.child;
    const launching = launchChromium().then((b) => (browser = b));
    [demo.url] = await Promise.all([started.url, launching]);
  });
  afterAll(async () => {
    await browser?.close();
    child?.kill();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('serves the page cross-origin isolated, with the data as one compressed file', async () => {
    const page = await fetch(demo.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const data = await fetch(new URL('mnist.bin.gz', demo.url));
    expect(data.status).toBe(200);
    expect(data.headers.get('content-encoding')).toBeNull();     // the worker inflates it itself
    const bytes = new Uint8Array(await data.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);          // gzip
    expect(bytes.length).toBeLessThan(8 * 1024 * 1024);
  });

  it('works without cross-origin isolation too, and says so', async () => {
    const plain = await serveStatic(outDir);   // no COOP/COEP: no shared memory, so no threads
    const page = await browser!.newPage();
    try {
      await page.goto(plain.url);
      await page.waitForFunction(() => (window as unknown as { simdnetDemo?: { state: DemoState } }).simdnetDemo?.state.ready, null, { timeout: 20_000 });
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.textContent('#isolation')).toBe('cross-origin isolated: no');
      expect(await page.textContent('#threads')).toBe('threads: 1 (page not cross-origin isolated)');
      expect(await page.isEnabled('#start')).toBe(true);
    } finally {
      await page.close();
      await plain.close();
    }
  });

  it('trains in a worker with live charts, shows the confusion matrix, and classifies a drawn digit', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(demo.url);
    // on a timeout, say what the page said (its status line) and what it threw
    const waitFor = async (what: string, wait: () => Promise<unknown>) => {
      try { await wait(); } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}\npage status: ${await page.textContent('#status')}\npage errors: ${errors.join('\n') || 'none'}`);
      }
    };
    await waitFor('the worker never got ready', () => page.waitForFunction(
      () => (window as unknown as { simdnetDemo?: { state: DemoState } }).simdnetDemo?.state.ready, null, { timeout: 20_000 }));

    const info = (await demoState(page)).info;
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // one thread per core, up to 4: a pool of Web Workers over one shared memory
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = Math.max(1, Math.min(4, cores));
    expect(info).toMatchObject({ isolated: true, threads, trainCount: 20000, testCount: 10000 });
    if (threads > 1) expect(await page.textContent('#threads')).toBe(`threads: ${threads} (worker pool over shared memory)`);
    expect(await page.textContent('#isolation')).toBe('cross-origin isolated: yes');

    // a short run: 3 epochs over the 20,000 training images (a second or two)
    await page.selectOption('#train-count', '20000');
    await page.fill('#epochs', '3');
    await page.fill('#lr', '0.05');
    await page.fill('#batch-size', '32');
    await page.click('#start');
    await waitFor('training never finished', () => page.waitForSelector('#confusion table', { timeout: 30_000 }));

    const charts = await page.evaluate(() => {
      const { charts } = (window as unknown as { simdnetDemo: { charts: Record<'loss' | 'accuracy', { data: { datasets: { data: { x: number; y: number }[] }[] } }> } }).simdnetDemo;
      return { loss: charts.loss.data.datasets.map((d) => d.data), accuracy: charts.accuracy.data.datasets.map((d) => d.data) };
    });
    expect(charts.loss[0].length, 'per-batch train loss points').toBeGreaterThan(3);
    expect(charts.loss[1].map((p) => p.x), 'test loss per epoch').toEqual([1, 2, 3]);
    const testAccuracy = charts.accuracy[1].map((p) => p.y);
    expect(testAccuracy.length).toBe(3);
    expect(testAccuracy[2], 'test accuracy after 3 epochs').toBeGreaterThan(0.85);
    expect(charts.loss[0].at(-1)!.y).toBeLessThan(charts.loss[0][0].y);

    // the confusion matrix: 10 rows of counts that add up to the 10,000 test images
    const cells = await page.$$eval('#confusion tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).slice(0, 10).map((td) => Number(td.textContent))));
    expect(cells.length).toBe(10);
    expect(cells.flat().reduce((a, b) => a + b, 0)).toBe(10000);
    expect(await page.textContent('#status')).toMatch(/^done in .* test accuracy \d+\.\d+%/);

    // the page stayed responsive: it kept drawing animation frames while the worker trained
    const trained = await demoState(page);
    expect(trained.framesAtTrainEnd - trained.framesAtTrainStart, 'animation frames during training').toBeGreaterThan(5);
    expect(trained.maxFrameGapMs, 'longest gap between two frames during training').toBeLessThan(1000);   // a blocked page would show the whole training as one gap

    // draw a "7" with the mouse: a bar across the top, then the diagonal down
    const box = (await page.locator('#pad').boundingBox())!;
    const at = (x: number, y: number): [number, number] => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
    await page.mouse.move(...at(70, 60));
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(...at(70 + 14 * i, 60));
    for (let i = 1; i <= 14; i++) await page.mouse.move(...at(210 - 6 * i, 60 + 13 * i));
    await page.mouse.up();
    await waitFor('no prediction for the drawing', () => page.waitForFunction(
      () => (window as unknown as { simdnetDemo: { state: DemoState } }).simdnetDemo.state.lastPrediction?.trained, null, { timeout: 10_000 }));
    // let the bar animation settle and the last stroke's prediction arrive before the screenshot
    await page.waitForTimeout(400);
    const { lastPrediction } = await demoState(page);
    expect(lastPrediction!.probs.length).toBe(10);
    expect(lastPrediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(lastPrediction!.digit, `probabilities ${lastPrediction!.probs.map((p) => p.toFixed(3))}`).toBe(7);
    expect(await page.textContent('#prediction')).toMatch(/^prediction: 7 \(\d+\.\d%\)$/);
    expect(await page.getAttribute('#prediction', 'data-digit')).toBe('7');

    mkdirSync(join(repo, 'test-results'), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });

    // a long run, stopped from the page; meanwhile the worker keeps classifying the drawing (the
    // page asks again after every epoch) although fit is running
    const before = await demoState(page);
    await page.fill('#epochs', '100');
    await page.click('#start');
    await waitFor('no second epoch', () => page.waitForFunction(
      () => (window as unknown as { simdnetDemo: { charts: { accuracy: { data: { datasets: { data: unknown[] }[] } } } } })
        .simdnetDemo.charts.accuracy.data.datasets[1].data.length >= 2, null, { timeout: 20_000 }));
    await page.click('#stop');
    await waitFor('training did not stop', () => page.waitForFunction(() => /^stopped/.test(document.getElementById('status')!.textContent!), null, { timeout: 20_000 }));
    const stopped = await demoState(page);
    const epochsRun = await page.evaluate(() =>
      (window as unknown as { simdnetDemo: { charts: { accuracy: { data: { datasets: { data: unknown[] }[] } } } } }).simdnetDemo.charts.accuracy.data.datasets[1].data.length);
    expect(epochsRun).toBeLessThan(100);
    await page.waitForSelector('#confusion table');   // the stopped model's confusion matrix
    expect(stopped.predictionsWhileTraining - before.predictionsWhileTraining, 'predictions answered while fit ran').toBeGreaterThan(0);
    expect(await page.isEnabled('#start')).toBe(true);

    expect(errors).toEqual([]);
    await page.close();
  });
});
