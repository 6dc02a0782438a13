#!/usr/bin/python3
"""The EigenPro 4 reference (PyTorch) on an MNIST-like .npy file, for bench/eigenpro3.ts.

Runs the authors' code (package `eigenpro`, github EigenPro/EigenPro) the way its
examples/run_example.py does — a sharded kernel machine on the centers, tmp_centers_coeff = 2 —
with eigenpro.solver.fit's defaults, and reports what bench/eigenpro3_reference.py reports. Their
code is NOT part of this repository: export it to a scratch folder and put that on PYTHONPATH
(bench/README.md):

    apt-get install -y python3-torch python3-scipy python3-tqdm python3-termcolor python3-tabulate
    mkdir -p /tmp/ep4 && git --git-dir=<mirror of EigenPro/EigenPro> archive HEAD | tar -x -C /tmp/ep4
    PYTHONPATH=/tmp/ep4 /usr/bin/python3 bench/eigenpro4_reference.py --n 60000 --centers 10000 --epochs 3

Their solver.fit runs all epochs in one call. An epoch's seconds are the wall time of its loop over
the training batches (projections included), taken by wrapping the progress bar they iterate; the
test error is theirs (eigenpro.utils.metrics.get_performance, which solver.fit calls after each
epoch, outside that time). Set-up is everything before the first batch: the model, the data
preconditioner, K(Z, X_s)·E. The model preconditioner is built at the first projection, inside
epoch 1, as their code does it.
"""
import reference_common as common  # beside this script (python puts its folder on sys.path)
import contextlib
import json
import resource
import sys
import time

parser = common.parser(__doc__.split('\n')[0])
parser.add_argument('--tmp-centers-coeff', type=int, default=2,
                    help='their tmp_centers_coeff (default 2, as in their example): room for (coeff - 1)·p temporary '
                         'centers between projections; it must hold one data batch, so a small p needs more')
args = parser.parse_args()

np, torch = common.torch_with_threads(args.threads)

import eigenpro.kernels as kernels  # noqa: E402
import eigenpro.models.sharded_kernel_machine as skm  # noqa: E402
import eigenpro.solver as solver  # noqa: E402
import eigenpro.utils.device as dev  # noqa: E402
import eigenpro.utils.metrics as metrics  # noqa: E402

log = common.log
cpu_model = common.cpu_model


# Their solver draws Nyström subsamples with np.random and shuffles batches with torch's generator.
np.random.seed(args.seed)
torch.manual_seed(args.seed)
X, labels, X_test, labels_test, n_classes, center_rows = common.load_data(args, np, torch)
n, d = X.shape
Y = torch.nn.functional.one_hot(labels, n_classes).float()
Y_test = torch.nn.functional.one_hot(labels_test, n_classes).float()
Z = X[center_rows].clone()

# eigenpro.kernels.gaussian(x, z, bandwidth) = exp(-‖x-z‖² · 1/(2·bandwidth²)), the same function as
# kmfit's gaussian exp(-r²/(2σ²)): their bandwidth is our σ, passed through unchanged.
sigma = args.bandwidth


def kernel_fn(x, z):
    return kernels.gaussian(x, z, bandwidth=sigma)


# Their default model preconditioner draws 3 000 of the centers without replacement: with fewer
# centers than that (p = 1 000) it cannot; take all of them then. Everything else is their default.
model_nystrom = min(3000, args.centers)

# Time the epochs: solver.fit iterates tqdm(enumerate(train_dataloader)) once per epoch.
clock = {'start': None, 'first_batch': None}
epochs = []
their_tqdm = solver.tqdm


def timed_tqdm(iterable, total=None, desc=None, **kwargs):
    def run():
        batch_seconds = []
        started, cpu_started = time.perf_counter(), time.process_time()
        if clock['first_batch'] is None:
            clock['first_batch'] = started
        last = started
        for item in their_tqdm(iterable, total=total, desc=desc, **kwargs):
            yield item  # their step (and a projection, when due) runs before the next item is asked for
            now = time.perf_counter()
            batch_seconds.append(now - last)
            last = now
        epochs.append({'epoch': len(epochs) + 1, 'seconds': time.perf_counter() - started,
                       'cpuSeconds': time.process_time() - cpu_started,
                       'batches': len(batch_seconds), 'batchSeconds': batch_seconds})
    return run()


their_get_performance = metrics.get_performance


def recorded_get_performance(model, x, y, *rest, **kwargs):
    loss, accuracy = their_get_performance(model, x, y, *rest, **kwargs)
    if epochs and 'testError' not in epochs[-1]:
        epochs[-1]['testError'] = 1 - accuracy
        epochs[-1]['testMse'] = float(loss)
        log(f'epoch {epochs[-1]["epoch"]}/{args.epochs}  {epochs[-1]["seconds"]:.1f} s  '
            f'test error {100 * (1 - accuracy):.2f} %')
    return loss, accuracy


solver.tqdm = timed_tqdm
metrics.get_performance = recorded_get_performance

log(f'EigenPro4 reference: n={n} d={d} p={args.centers} σ={sigma} threads={torch.get_num_threads()} '
    f'torch {torch.__version__} on {cpu_model()}')
with contextlib.redirect_stdout(sys.stderr):
    clock['start'] = time.perf_counter()
    device = dev.Device([torch.device('cpu')])
    model = skm.create_sharded_kernel_machine(Z, n_classes, kernel_fn, device, dtype=torch.float32,
                                              tmp_centers_coeff=args.tmp_centers_coeff)
    model = solver.fit(model, X, Y, X_test, Y_test, device, dtype=torch.float32, kernel=kernel_fn,
                       n_model_pcd_nyst_samples=model_nystrom, epochs=args.epochs, accumulated_gradients=True,
                       tmp_centers_coeff=args.tmp_centers_coeff)

result = {
    **common.run_facts('EigenPro4', args, n, d, torch),
    'tmpCentersCoeff': args.tmp_centers_coeff,
    'modelNystromSamples': model_nystrom,
    'setupSeconds': clock['first_batch'] - clock['start'],
    'epochs': epochs,
    'peakRssKB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}
print(json.dumps(result))
