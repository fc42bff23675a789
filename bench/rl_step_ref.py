#!/usr/bin/python3
"""Plain-PyTorch baseline for arlt's RL benchmark: one GRPO step, timed phase by phase.

Loads a Hugging Face model folder (config.json + model.safetensors) into the reference Transformer
of tests/model/torch_reference.py (fp32, CPU) and runs GRPO steps exactly as bench/rl_step.cpp does:

  prompts     B prompts of P random ids in [0, vocab) (one torch.Generator seeded by --seed, which
              also drives the sampling; every step draws fresh prompts), each repeated N times:
              R = B*N rows, row b*N + j is sample j of prompt b. Equal lengths, no padding.
  rollout     (no_grad) sample L tokens per row from softmax(logits / temperature) with
              torch.multinomial, no stop tokens. KV cache of bench/generate_ref.py, preallocated
              for R rows: the B distinct prompts are prefilled once, writing into the cache slots
              of sample 0 of each prompt (a strided view), then those P positions are broadcast-
              copied to the other N-1 samples; the prefill's last-position logits are repeated N
              times and the first token is sampled; then L-1 decode steps, one token per row each.
  reward      r = fraction of the L generated ids that are even.
  advantages  per prompt group (r - mean) / (std + 1e-6), torch.std with Bessel's correction,
              broadcast to the L response tokens.
  old_logp    (no_grad) forward of the policy over the R x (P+L) sequences in micro-batches of M
              rows; log_softmax(logits / temperature) at positions P-1 .. P+L-2, gathered at the
              tokens P .. P+L-1. The LM head is applied only to those L positions (what
              transformers' logits_to_keep does; the body runs on all P+L positions).
  ref         the same with a frozen deepcopy of the initial policy.
  update      one PPO epoch, one mini-batch of all R rows, micro-batches of M rows with gradient
              accumulation: ratio = exp(clamp(logp - old, -20, 20)); PPO clipped loss with
              clip +-eps and dual clip c = 3 for negative advantages; plus kl_coef * k3 KL
              (exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10]); token-mean over the
              whole mini-batch (each micro-batch's token sum divided by R*L); backward; then
              clip_grad_norm_(1.0), AdamW(lr, (0.9, 0.999), eps 1e-8, weight_decay 0.01) step,
              zero_grad.

One untimed warm-up step, then S timed steps; per-phase seconds (time.perf_counter) are averaged
over the timed steps and step_s is their sum.

    /usr/bin/python3 bench/rl_step_ref.py --model DIR [--prompts 8] [--n 8] [--prompt-len 16] \
        [--new-tokens 32] [--micro-batch 16] [--lr 1e-6] [--clip 0.2] [--kl-coef 0.001] \
        [--temperature 1.0] [--threads K] [--seed 0] [--steps 2]
    -> {"rollout_s", "reward_s", "old_logp_s", "ref_s", "update_s", "step_s", "tokens" (R*L),
        "loss" (of the last step), "params", the settings: "model", "prompts", "n",
        "prompt_len", "new_tokens", "micro_batch", "lr", "clip", "kl_coef", "temperature",
        "threads" (torch.get_num_threads()), "seed", "steps"}

    /usr/bin/python3 bench/rl_step_ref.py --self-test
    -> {"self_test": "ok"}   on small random models (Llama GQA, Qwen3): the rollout's cached
                             log-probs of the sampled tokens equal old_logp from the full forward
                             within 1e-4 (temperature 1, and 0.7), the response-only LM head equals
                             the full forward's logits, and one step changes the parameters with
                             a finite loss. Fails loudly (AssertionError, exit status 1) otherwise.

Prints exactly one line of JSON on stdout.
"""

import argparse
import copy
import json
import math
import os
import sys
import time
import types

import torch
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "tests", "model"))
sys.path.insert(0, _HERE)
from torch_reference import from_config, load_model  # noqa: E402
from generate_ref import KVCache, forward_cached  # noqa: E402

DUAL_CLIP_C = 3.0


# ----------------------------------------------------------------------------------------------
# rollout
# ----------------------------------------------------------------------------------------------

def rollout(model, prompts, n, new_tokens, temperature, gen, with_logp=False):
    """prompts [B, P] -> generated ids [B*N, L] (and, if with_logp, the log-probs [B*N, L] of the
    sampled ids under softmax(logits / temperature))."""
    b, p = prompts.shape
    r = b * n
    dtype = model.model.embed_tokens.weight.dtype
    cache = KVCache(model, r, p + new_tokens - 1, dtype)  # the last token is never fed back
    # Prefill the B distinct prompts into the slots of sample 0 of every group, then copy.
    grouped = [(k.view(b, n, *k.shape[1:]), v.view(b, n, *v.shape[1:])) for k, v in cache.layers]
    prefill_cache = types.SimpleNamespace(cos=cache.cos, sin=cache.sin,
                                          layers=[(k[:, 0], v[:, 0]) for k, v in grouped])
    out, logps = [], []
    with torch.no_grad():
        logits = forward_cached(model, prompts, 0, prefill_cache)  # [B, vocab]
        for k, v in grouped:
            k[:, 1:, :, :p] = k[:, :1, :, :p]
            v[:, 1:, :, :p] = v[:, :1, :, :p]
        logits = logits.repeat_interleave(n, dim=0)  # [R, vocab]
        for i in range(new_tokens):
            if i > 0:  # feed the previous step's tokens at position p + i - 1
                logits = forward_cached(model, out[-1], p + i - 1, cache)
            scaled = logits / temperature
            probs = torch.softmax(scaled, dim=-1)
            tok = torch.multinomial(probs, 1, generator=gen)  # [R, 1]
            out.append(tok)
            if with_logp:
                logps.append(torch.log_softmax(scaled, dim=-1).gather(-1, tok))
    ids = torch.cat(out, dim=1)
    return (ids, torch.cat(logps, dim=1)) if with_logp else ids


# ----------------------------------------------------------------------------------------------
# scoring
# ----------------------------------------------------------------------------------------------

def response_logits(model, seqs, prompt_len):
    """seqs [M, P+L] -> logits [M, L, vocab] at positions P-1 .. P+L-2 (those predicting the
    response tokens). Runs the reference Transformer's modules; the LM head only on those L."""
    m, t = seqs.shape
    allowed = torch.ones(t, t, dtype=torch.bool).tril()[None, None].expand(m, 1, t, t)
    x = model.model.embed_tokens(seqs)
    cos, sin = model.rope_cos_sin(torch.arange(t).expand(m, t), x.dtype)
    for layer in model.model.layers:
        x = layer(x, cos, sin, allowed)
    x = model.model.norm(x[:, prompt_len - 1:t - 1])
    head = model.lm_head.weight if model.lm_head is not None else model.model.embed_tokens.weight
    return F.linear(x, head)


def token_logp(model, seqs, prompt_len, temperature):
    """log-probs [M, L] of the response tokens seqs[:, P:] under softmax(logits / temperature)."""
    logits = response_logits(model, seqs, prompt_len) / temperature
    return torch.log_softmax(logits, dim=-1).gather(-1, seqs[:, prompt_len:, None]).squeeze(-1)


def batched_logp(model, seqs, prompt_len, temperature, micro_batch):
    with torch.no_grad():
        return torch.cat([token_logp(model, seqs[i:i + micro_batch], prompt_len, temperature)
                          for i in range(0, seqs.shape[0], micro_batch)])


def grpo_advantages(rewards, n):
    """rewards [R] (groups of n consecutive rows) -> [R]."""
    g = rewards.view(-1, n)
    return ((g - g.mean(dim=1, keepdim=True)) / (g.std(dim=1, keepdim=True) + 1e-6)).view(-1)


def policy_loss_sum(logp, old_logp, ref_logp, adv, clip, kl_coef):
    """Sum over the tokens of [M, L] of the PPO dual-clip loss + kl_coef * k3 KL."""
    ratio = torch.exp(torch.clamp(logp - old_logp, -20.0, 20.0))
    pg1 = -adv * ratio
    pg2 = -adv * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    clipped = torch.maximum(pg1, pg2)
    pg = torch.where(adv < 0, torch.minimum(clipped, -adv * DUAL_CLIP_C), clipped)
    d = ref_logp - logp
    kl = torch.clamp(torch.exp(d) - d - 1.0, -10.0, 10.0)
    return (pg + kl_coef * kl).sum()


# ----------------------------------------------------------------------------------------------
# the step
# ----------------------------------------------------------------------------------------------

class GRPO:
    def __init__(self, model, args):
        self.model = model
        self.ref = copy.deepcopy(model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999),
                                     eps=1e-8, weight_decay=0.01)
        self.args = args
        self.gen = torch.Generator().manual_seed(args.seed)

    def step(self):
        a, model = self.args, self.model
        b, n, p, l, m, temp = a.prompts, a.n, a.prompt_len, a.new_tokens, a.micro_batch, a.temperature
        times = {}

        t0 = time.perf_counter()
        prompts = torch.randint(0, model.cfg.vocab_size, (b, p), generator=self.gen)
        model.eval()
        ids = rollout(model, prompts, n, l, temp, self.gen)
        seqs = torch.cat([prompts.repeat_interleave(n, dim=0), ids], dim=1)  # [R, P+L]
        t1 = time.perf_counter()
        times["rollout_s"] = t1 - t0

        rewards = (ids % 2 == 0).to(torch.float32).mean(dim=1)
        adv = grpo_advantages(rewards, n)[:, None].expand(-1, l)  # [R, L]
        t2 = time.perf_counter()
        times["reward_s"] = t2 - t1

        old = batched_logp(model, seqs, p, temp, m)
        t3 = time.perf_counter()
        times["old_logp_s"] = t3 - t2

        ref = batched_logp(self.ref, seqs, p, temp, m)
        t4 = time.perf_counter()
        times["ref_s"] = t4 - t3

        model.train()
        r = seqs.shape[0]
        total_tokens = r * l
        loss_total = 0.0
        for i in range(0, r, m):
            sl = slice(i, i + m)
            logp = token_logp(model, seqs[sl], p, temp)
            loss = policy_loss_sum(logp, old[sl], ref[sl], adv[sl], a.clip, a.kl_coef) / total_tokens
            loss.backward()
            loss_total += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        t5 = time.perf_counter()
        times["update_s"] = t5 - t4
        return times, loss_total


# ----------------------------------------------------------------------------------------------
# self-test
# ----------------------------------------------------------------------------------------------

def self_test():
    base = {"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0}
    cases = [dict(base, architectures=["LlamaForCausalLM"], tie_word_embeddings=True),
             dict(base, architectures=["Qwen3ForCausalLM"], head_dim=32, num_key_value_heads=1)]
    for cfg in cases:
        arch = cfg["architectures"][0]
        # std 0.2: peaked, non-uniform distributions, so that a wrong position or cache shows up
        model = from_config(cfg, seed=0, dtype=torch.float32, std=0.2).eval()
        gen = torch.Generator().manual_seed(0)
        b, n, p, l = 3, 4, 5, 9
        prompts = torch.randint(0, cfg["vocab_size"], (b, p), generator=gen)
        for temp in (1.0, 0.7):
            ids, cached = rollout(model, prompts, n, l, temp, gen, with_logp=True)
            assert ids.shape == (b * n, l), ids.shape
            seqs = torch.cat([prompts.repeat_interleave(n, dim=0), ids], dim=1)
            full = batched_logp(model, seqs, p, temp, 5)
            diff = (cached - full).abs().max().item()
            assert diff < 1e-4, "%s T=%g: cached rollout logp vs full forward differ by %g" % (
                arch, temp, diff)
            assert not torch.equal(ids[0], ids[1]), "samples of one prompt are identical"
        with torch.no_grad():
            head_diff = (response_logits(model, seqs, p) - model(seqs)[:, p - 1:-1]).abs().max().item()
        assert head_diff < 1e-4, "%s: response-only head differs by %g" % (arch, head_diff)

        args = argparse.Namespace(prompts=2, n=4, prompt_len=4, new_tokens=6, micro_batch=3,
                                  lr=1e-3, clip=0.2, kl_coef=0.001, temperature=1.0, seed=0)
        grpo = GRPO(model, args)
        before = [q.detach().clone() for q in model.parameters()]
        _, loss = grpo.step()
        assert math.isfinite(loss), "%s: loss %r" % (arch, loss)
        changed = sum(not torch.equal(x, q) for x, q in zip(before, model.parameters()))
        assert changed == len(before), "%s: %d of %d parameters changed" % (arch, changed, len(before))
        assert all(torch.equal(x, q) for x, q in zip(before, grpo.ref.parameters())), \
            "%s: the reference model moved" % arch
        _, loss2 = grpo.step()  # now ratio != 1 and ref != policy
        assert math.isfinite(loss2), "%s: second loss %r" % (arch, loss2)
    adv = grpo_advantages(torch.tensor([0.0, 1.0, 0.5, 0.5]), 2)
    assert torch.allclose(adv, torch.tensor([-math.sqrt(0.5), math.sqrt(0.5), 0.0, 0.0]),
                          atol=1e-5), adv
    return {"self_test": "ok"}


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="Hugging Face model folder")
    ap.add_argument("--prompts", type=int, default=8, help="B distinct prompts per step")
    ap.add_argument("--n", type=int, default=8, help="N samples per prompt")
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--micro-batch", type=int, default=16, help="rows per forward/backward")
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--clip", type=float, default=0.2)
    ap.add_argument("--kl-coef", type=float, default=0.001)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=2, help="timed steps after one warm-up step")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.self_test:
        print(json.dumps(self_test()))
        return 0
    if not args.model:
        ap.error("--model is required unless --self-test is given")
    if min(args.prompts, args.prompt_len, args.new_tokens, args.micro_batch, args.steps) < 1:
        ap.error("--prompts, --prompt-len, --new-tokens, --micro-batch and --steps must be positive")
    if args.n < 2:
        ap.error("--n must be at least 2 (the group std needs two samples)")
    if args.temperature <= 0:
        ap.error("--temperature must be positive")

    torch.manual_seed(args.seed)
    model = load_model(args.model, torch.float32)
    grpo = GRPO(model, args)
    grpo.step()  # untimed warm-up
    keys = ("rollout_s", "reward_s", "old_logp_s", "ref_s", "update_s")
    sums = dict.fromkeys(keys, 0.0)
    loss = None
    for _ in range(args.steps):
        times, loss = grpo.step()
        for k in keys:
            sums[k] += times[k]
    result = {k: sums[k] / args.steps for k in keys}
    result["step_s"] = sum(result[k] for k in keys)
    result.update({"tokens": args.prompts * args.n * args.new_tokens, "loss": loss,
                   "params": model.num_parameters(), "model": args.model,
                   "prompts": args.prompts, "n": args.n, "prompt_len": args.prompt_len,
                   "new_tokens": args.new_tokens, "micro_batch": args.micro_batch,
                   "lr": args.lr, "clip": args.clip, "kl_coef": args.kl_coef,
                   "temperature": args.temperature, "threads": torch.get_num_threads(),
                   "seed": args.seed, "steps": args.steps})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
