"""scikit-learn's exact kernel ridge regression on a .npy table (label in the last column), the
baseline of bench/tables.ts: the laplacian kernel exp(-‖x-z‖₂/σ) (kmfit's, the L2 distance; sklearn's
own kernel='laplacian' is L1, so the kernel is precomputed), float64, a tiny ridge, one-hot targets
for classification as kmfit trains on. Prints one JSON object: the seconds of each part (reading not
counted), the test error (classification: the fraction misclassified; regression: 1 − R²) and R².
Run with Debian's /usr/bin/python3 (apt-get install python3-sklearn python3-numpy python3-scipy)."""
import argparse
import json
import os
import time


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--train', required=True)
    p.add_argument('--test', required=True)
    p.add_argument('--bandwidth', type=float, required=True, help='laplacian σ')
    p.add_argument('--task', choices=['classification', 'regression'], required=True)
    p.add_argument('--ridge', type=float, default=1e-8, help="KernelRidge's alpha")
    p.add_argument('--threads', type=int, default=2, help='OpenBLAS threads')
    a = p.parse_args()
    for name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[name] = str(a.threads)
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge

    train = np.load(a.train).astype(np.float64)
    test = np.load(a.test).astype(np.float64)
    X, y = train[:, :-1], train[:, -1]
    Xt, yt = test[:, :-1], test[:, -1]

    def laplacian(A, B):
        sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
        np.maximum(sq, 0.0, out=sq)
        np.sqrt(sq, out=sq)
        sq *= -1.0 / a.bandwidth
        return np.exp(sq, out=sq)

    started = time.perf_counter()
    if a.task == 'classification':
        classes = np.unique(y)
        Y = (y[:, None] == classes[None, :]).astype(np.float64)
    else:
        Y = y
    K = laplacian(X, X)
    model = KernelRidge(alpha=a.ridge, kernel='precomputed').fit(K, Y)
    del K
    fitted = time.perf_counter()
    scores = model.predict(laplacian(Xt, X))
    done = time.perf_counter()
    if a.task == 'classification':
        error = float(np.mean(classes[scores.argmax(1)] != yt))
        r2 = None
    else:
        r2 = float(1.0 - ((scores - yt) ** 2).sum() / ((yt - yt.mean()) ** 2).sum())
        error = 1.0 - r2
    print(json.dumps({'fitSeconds': fitted - started, 'predictSeconds': done - fitted, 'seconds': done - started,
                      'error': error, 'r2': r2, 'n': int(X.shape[0]), 'testRows': int(Xt.shape[0])}))


main()
