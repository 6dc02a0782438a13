"""What the PyTorch reference runners (eigenpro2_reference.py, eigenpro3_reference.py,
eigenpro4_reference.py) share: their common arguments, the thread count set before torch loads, the
data, the centers, the CPU's name."""
import argparse
import os
import platform
import sys


def parser(description, centers=True):
    """The arguments every runner takes; a runner adds its own. EigenPro 2's centers are the training
    points themselves: it passes centers=False and has no --centers."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--train', default='datasets/mnist.npy', help='n×(d+1) float32 .npy, label in the last column')
    p.add_argument('--test', default='datasets/mnist-test.npy', help='test file, same layout')
    p.add_argument('--n', type=int, default=60000, help='first N training rows')
    if centers:
        p.add_argument('--centers', type=int, default=10000, help='p: model centers, a seeded random subset of the training rows')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--bandwidth', type=float, default=5.0, help="gaussian σ in kmfit's convention exp(-‖x-z‖²/(2σ²))")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2, help='torch, OpenMP and OpenBLAS threads')
    return p


def torch_with_threads(threads):
    """numpy and torch, loaded after the thread counts are set: their thread pools read them once."""
    for name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[name] = str(threads)
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    return np, torch


def log(text):
    print(text, file=sys.stderr, flush=True)


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_facts(program, args, n, d, torch):
    """The fields every runner's JSON starts with: what ran, on what, where."""
    return {'program': f'{program} (PyTorch {torch.__version__})', 'p': getattr(args, 'centers', n), 'n': n, 'd': d,
            'kernel': 'gaussian', 'bandwidth': args.bandwidth, 'seed': args.seed,
            'threads': torch.get_num_threads(), 'cpu': cpu_model()}


def load_data(args, np, torch):
    """The training rows, the test rows, the class count and the centers' rows (seeded, as kmfit draws
    its own independently: the same count, not the same rows; None without --centers)."""
    def load(path, rows=None):
        data = np.load(path, mmap_mode='r')
        if rows is not None:
            data = data[:rows]
        X = torch.from_numpy(np.ascontiguousarray(data[:, :-1], dtype=np.float32))
        labels = torch.from_numpy(np.asarray(data[:, -1]).astype(np.int64))
        return X, labels

    X, labels = load(args.train, args.n)
    X_test, labels_test = load(args.test)
    n = X.shape[0]
    n_classes = int(max(labels.max().item(), labels_test.max().item())) + 1
    centers = getattr(args, 'centers', None)
    if centers is None:
        return X, labels, X_test, labels_test, n_classes, None
    if centers > n:
        sys.exit(f'--centers {centers} is more than the {n} training rows')
    center_rows = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed))[:centers]
    return X, labels, X_test, labels_test, n_classes, center_rows
