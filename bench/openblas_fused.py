"""The baseline for `kmfit bench`: the same fused block in numpy (OpenBLAS sgemm plus the same
transform and product with alpha), float32, timed the same way. Prints one JSON object per shape.

Usage: OPENBLAS_CORETYPE=SkylakeX python3 openblas_fused.py REPS M,N,D,L [M,N,D,L ...]
"""
import json
import os
import sys
import time

import numpy as np


def fused_block(x, x_norms, z, z_norms, alpha, inv_sigma):
    r2 = x_norms[:, None] + z_norms[None, :] - 2.0 * (x @ z.T)
    np.maximum(r2, 0.0, out=r2)
    np.sqrt(r2, out=r2)
    r2 *= -inv_sigma
    np.exp(r2, out=r2)  # laplacian: exp(-r / sigma)
    return r2 @ alpha


def main():
    reps = int(sys.argv[1])
    rng = np.random.default_rng(0)
    for shape in sys.argv[2:]:
        m, n, d, l = (int(v) for v in shape.split(","))
        x = rng.random((m, d), dtype=np.float32)
        z = rng.random((n, d), dtype=np.float32)
        alpha = (rng.random((n, l), dtype=np.float32) - 0.5).astype(np.float32)
        x_norms = np.einsum("ij,ij->i", x, x)
        z_norms = np.einsum("ij,ij->i", z, z)
        inv_sigma = np.float32(1.0 / np.sqrt(d / 6.0))
        fused_block(x, x_norms, z, z_norms, alpha, inv_sigma)  # warm-up
        seconds = []
        for _ in range(reps):
            started = time.perf_counter()
            fused_block(x, x_norms, z, z_norms, alpha, inv_sigma)
            seconds.append(time.perf_counter() - started)
        median = float(np.median(seconds))
        threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or os.cpu_count()
        print(json.dumps({"backend": "openblas", "kernel": "laplacian", "m": m, "n": n, "d": d, "l": l,
                          "threads": threads, "gflops": 2.0 * m * n * d / median / 1e9,
                          "medianSeconds": median}))


main()
