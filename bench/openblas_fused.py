"""The baseline for `kmfit bench`: the same fused block in numpy (OpenBLAS sgemm plus the same
transform and product with alpha), float32.

It serves timed calls, so that kmfit can interleave them with its backends' calls: each line
"M,N,D,L" on stdin answers one line of JSON on stdout, {"seconds": S}, the time of one call of
the fused block of that shape (the first request of a shape builds its inputs and warms up).

Usage: OPENBLAS_CORETYPE=SkylakeX python3 openblas_fused.py
"""
import json
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


def inputs(m, n, d, l):
    rng = np.random.default_rng(0)
    x = rng.random((m, d), dtype=np.float32)
    z = rng.random((n, d), dtype=np.float32)
    alpha = (rng.random((n, l), dtype=np.float32) - 0.5).astype(np.float32)
    x_norms = np.einsum("ij,ij->i", x, x)
    z_norms = np.einsum("ij,ij->i", z, z)
    inv_sigma = np.float32(1.0 / np.sqrt(d / 6.0))
    return x, x_norms, z, z_norms, alpha, inv_sigma


def main():
    prepared = {}
    for line in sys.stdin:
        shape = tuple(int(v) for v in line.strip().split(","))
        if shape not in prepared:
            prepared[shape] = inputs(*shape)
            fused_block(*prepared[shape])  # warm-up
        started = time.perf_counter()
        fused_block(*prepared[shape])
        print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


main()
