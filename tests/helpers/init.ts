// init() for the suites that also run on the thread pool: `npm run test:threads` sets
// SIMDNET_TEST_THREADS, and then every call that can split does (thresholds lowered to 1), so the
// parity, gradient-check and CNN suites exercise the split kernels, not the single-thread ones.
import { init, type Runtime } from '../../bindings/index.js';
import { setSplitThresholds } from '../../bindings/runtime/threads.js';

export const TEST_THREADS = Number(process.env.SIMDNET_TEST_THREADS ?? 1);

export async function initForTests(): Promise<Runtime> {
  if (TEST_THREADS > 1) setSplitThresholds({ gemmFlopsPerThread: 1, pointwisePerThread: 1 });
  const rt = await init({ threads: TEST_THREADS });
  if (rt.threads !== TEST_THREADS) throw new Error(`asked for ${TEST_THREADS} threads, got ${rt.threads}: ${rt.threadsNote}`);
  return rt;
}
