#!/usr/bin/python3
"""Plain-PyTorch baseline for arlt's forward/training benchmark.

Builds the reference Transformer of tests/model/torch_reference.py from a Hugging Face style
config.json, with random fp32 weights, and measures on the CPU:

  infer_tokens_per_s  B*T / mean time of one no-grad forward over the full sequence (logits)
  train_tokens_per_s  B*T / mean time of one training step: zero grads, forward,
                      cross_entropy(logits[:, :-1], ids[:, 1:]), backward (no optimizer step)

    /usr/bin/python3 bench/forward_ref.py --config CONFIG.json --batch B --seq T \
        --warmup W --iters N [--threads K]
    -> {"infer_tokens_per_s": x, "train_tokens_per_s": y, "params": n}

    /usr/bin/python3 bench/forward_ref.py --peak [--threads K]
    -> {"peak_gflops": g}     (2048^3 fp32 matmul, 2*2048^3 flops per call)

Prints exactly one line of JSON on stdout.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
from torch_reference import from_config  # noqa: E402


def mean_seconds(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters


def bench_model(cfg, batch, seq, warmup, iters):
    torch.manual_seed(0)
    model = from_config(cfg, seed=0, dtype=torch.float32)
    vocab = model.cfg.vocab_size
    ids = torch.randint(0, vocab, (batch, seq), dtype=torch.long)
    tokens = batch * seq

    model.eval()

    def infer():
        with torch.no_grad():
            model(ids)

    infer_s = mean_seconds(infer, warmup, iters)

    model.train()

    def train_step():
        model.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
        loss.backward()

    train_s = mean_seconds(train_step, warmup, iters)
    return {"infer_tokens_per_s": tokens / infer_s,
            "train_tokens_per_s": tokens / train_s,
            "params": model.num_parameters()}


def bench_peak(warmup, iters, n=2048):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    c = torch.empty(n, n)
    seconds = mean_seconds(lambda: torch.mm(a, b, out=c), warmup, iters)
    return {"peak_gflops": 2.0 * n ** 3 / seconds / 1e9}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", help="Hugging Face style config.json")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: os.cpu_count())")
    p.add_argument("--peak", action="store_true", help="time a 2048^3 fp32 matmul instead")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    if args.peak:
        result = bench_peak(max(args.warmup, 1), max(args.iters, 1))
    else:
        if not args.config:
            p.error("--config is required unless --peak is given")
        if args.seq < 2:
            p.error("--seq must be at least 2 for the training loss")
        with open(args.config) as f:
            cfg = json.load(f)
        result = bench_model(cfg, args.batch, args.seq, args.warmup, max(args.iters, 1))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
