#!/usr/bin/python3
"""Speed of the decode step's matmul shapes on their own (small model, batch 64): torch's
F.linear (OpenBLAS here) against oneDNN (torch.utils.mkldnn, weights reordered once).
It bounds what any engine on this BLAS can reach: see bench/results/generate.md.

    /usr/bin/python3 bench/linear_shapes.py [--threads 2]
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils import mkldnn

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
print("| M x K x N | F.linear ms | GFLOP/s | oneDNN ms | GFLOP/s |\n|---|---:|---:|---:|---:|")
for m, k, n in [(64, 512, 32000), (64, 512, 1408), (64, 1408, 512), (64, 512, 512), (768, 512, 1408)]:
    lin = torch.nn.Linear(k, n, bias=False)
    x = torch.randn(m, k)
    packed = mkldnn.to_mkldnn(torch.nn.Sequential(lin))[0]

    def timed(f, reps=20):
        f()
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        return (time.perf_counter() - t0) / reps

    with torch.no_grad():
        a = timed(lambda: F.linear(x, lin.weight))
        b = timed(lambda: packed(x.to_mkldnn()).to_dense())
    fl = 2 * m * k * n
    print(f"| {m} x {k} x {n} | {a * 1e3:.2f} | {fl / a / 1e9:.0f} | {b * 1e3:.2f} | {fl / b / 1e9:.0f} |")
