#!/usr/bin/python3
"""The EigenPro 3 reference (PyTorch) on an MNIST-like .npy file, for bench/eigenpro3.ts.

Runs the authors' code (package `eigenpro3`, github EigenPro/EigenPro3) with its defaults and times
it the way kmfit reports an epoch: wall time of the training epoch only, the test error computed
afterwards outside the timed part. Their code is NOT part of this repository: export it to a
scratch folder and put that on PYTHONPATH (bench/README.md):

    apt-get install -y python3-torch python3-scipy
    mkdir -p /tmp/ep3 && git --git-dir=<mirror of EigenPro/EigenPro3> archive HEAD | tar -x -C /tmp/ep3
    PYTHONPATH=/tmp/ep3 /usr/bin/python3 bench/eigenpro3_reference.py --n 60000 --centers 10000 --epochs 3

Prints one JSON object on stdout (everything else, theirs included, goes to stderr):
{"program", "p", "n", "setupSeconds", "epochs": [{"epoch", "seconds", "testError", ...}], "peakRssKB", ...}
Seconds are wall time; cpuSeconds (the process's CPU time, all threads) tell how much of it the
process had on a machine that other work shares.

--max-batches K stops each epoch after K of its batches and reports the epoch's time as measured
seconds × batches per epoch / K, with "extrapolated": true on that epoch (its test error is then the
error of a partial epoch). Use it only where a whole epoch is impractical.
"""
import reference_common as common  # beside this script (python puts its folder on sys.path)
import contextlib
import json
import resource
import sys
import time

parser = common.parser(__doc__.split('\n')[0])
parser.add_argument('--max-batches', type=int, default=0, help='stop each epoch after K batches and extrapolate (0: whole epochs)')
args = parser.parse_args()

np, torch = common.torch_with_threads(args.threads)

# eigenpro3.utils imports torchvision's dataset classes for its own loaders, which we do not use.
# Where Debian's python3-torchvision is not installed, stand in empty names for that import only.
try:
    import torchvision.datasets  # noqa: F401
except ImportError:
    import types
    stub = types.ModuleType('torchvision')
    stub.datasets = types.ModuleType('torchvision.datasets')
    for cls in ('MNIST', 'EMNIST', 'FashionMNIST', 'KMNIST', 'CIFAR10'):
        setattr(stub.datasets, cls, None)
    sys.modules['torchvision'] = stub
    sys.modules['torchvision.datasets'] = stub.datasets

from eigenpro3.kernels import gaussian  # noqa: E402
from eigenpro3.models import KernelModel  # noqa: E402

log = common.log
cpu_model = common.cpu_model


torch.manual_seed(args.seed)  # their code draws its Nyström subsamples from torch's global generator
X, labels, X_test, labels_test, n_classes, center_rows = common.load_data(args, np, torch)
n, d = X.shape
y = torch.nn.functional.one_hot(labels, n_classes).float()
centers = X[center_rows].clone()

# eigenpro3.kernels.gaussian(x, z, bandwidth) = exp(-‖x-z‖² · 1/(2·bandwidth²)), the same function
# as kmfit's gaussian exp(-r²/(2σ²)): their bandwidth is our σ, passed through unchanged.
sigma = args.bandwidth


def kernel_fn(x, z):
    return gaussian(x, z, bandwidth=sigma)


def test_error(model):
    weights = model.weights.to('cpu')
    wrong = 0
    with torch.no_grad():
        for start in range(0, X_test.shape[0], 1000):
            scores = kernel_fn(X_test[start:start + 1000], model.centers) @ weights
            wrong += (scores.argmax(dim=1) != labels_test[start:start + 1000]).sum().item()
    return wrong / X_test.shape[0]


class EpochCut(Exception):
    pass


log(f'EigenPro3 reference: n={n} d={d} p={args.centers} σ={sigma} threads={torch.get_num_threads()} '
    f'torch {torch.__version__} on {cpu_model()}')
# Their progress lines go to stderr, so that stdout carries only our JSON.
with contextlib.redirect_stdout(sys.stderr):
    started, cpu_started = time.perf_counter(), time.process_time()
    model = KernelModel(n_classes, centers, kernel_fn, X=X, y=y, devices=[torch.device('cpu')])
    setup_seconds = time.perf_counter() - started
    setup_cpu_seconds = time.process_time() - cpu_started
    batches_per_epoch = sum(len(loader) for loader in model.train_loaders)
    log(f'set-up {setup_seconds:.2f} s; data batch size {model.batch_size}, learning rate {model.lr:.3g}, '
        f'{batches_per_epoch} batches per epoch')

    # Time each batch too (a thin wrapper around their fit_batch; the work is theirs unchanged).
    their_fit_batch = model.fit_batch
    batch_seconds = []

    def timed_fit_batch(X_batch, y_batch):
        if args.max_batches and len(batch_seconds) >= args.max_batches:
            raise EpochCut()
        t = time.perf_counter()
        their_fit_batch(X_batch, y_batch)
        batch_seconds.append(time.perf_counter() - t)
        log(f'  batch {len(batch_seconds)}/{batches_per_epoch}  {batch_seconds[-1]:.2f} s')

    model.fit_batch = timed_fit_batch
    epochs = []
    for epoch in range(args.epochs):
        model.epoch = epoch
        batch_seconds = []
        t, cpu_t = time.perf_counter(), time.process_time()
        try:
            model.fit_epoch(model.train_loaders)
        except EpochCut:
            pass
        seconds = time.perf_counter() - t
        cpu_seconds = time.process_time() - cpu_t
        error = test_error(model)
        record = {'epoch': epoch + 1, 'seconds': seconds, 'testError': error,
                  'cpuSeconds': cpu_seconds, 'batches': len(batch_seconds), 'batchSeconds': batch_seconds}
        if len(batch_seconds) < batches_per_epoch:
            record['measuredSeconds'] = seconds
            record['seconds'] = seconds * batches_per_epoch / len(batch_seconds)
            record['extrapolated'] = True
        epochs.append(record)
        log(f'epoch {epoch + 1}/{args.epochs}  {record["seconds"]:.1f} s'
            f'{" (extrapolated)" if record.get("extrapolated") else ""}  test error {100 * error:.2f} %')

projector = model.inexact_projector
result = {
    **common.run_facts('EigenPro3', args, n, d, torch),
    'setupSeconds': setup_seconds,
    'setupCpuSeconds': setup_cpu_seconds,
    'batchSize': model.batch_size,
    'learningRate': float(model.lr),
    'batchesPerEpoch': batches_per_epoch,
    'projection': {'batchSize': int(projector.bs), 'nystromSamples': int(projector.nystrom_samples.shape[0])}
    if getattr(projector, 'eigenpro_f', None) is not None else None,
    'epochs': epochs,
    'peakRssKB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}
print(json.dumps(result))
