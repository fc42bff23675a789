#!/usr/bin/python3
"""Plain-PyTorch baseline for arlt's decode benchmark: greedy generation with a KV cache.

Builds the reference Transformer of tests/model/torch_reference.py from a Hugging Face style
config.json with random fp32 weights (from_config, seed 0), or loads a model folder (--model), and
runs it step by step in a Python loop with a preallocated per-layer KV cache [B, n_kv, S, D].
Every row of the batch has the same random prompt (ids from seed 0, length P), so no padding.

  ttft_s                time of the prefill of the whole batch plus the first argmax
  prefill_tokens_per_s  B*P / prefill seconds
  decode_tokens_per_s   B*N / seconds of the N decode steps (each feeds the last token of every
                        row and takes the argmax of its logits)

A separate untimed warm-up run (prefill plus --warmup-tokens decode steps) comes first.

    /usr/bin/python3 bench/generate_ref.py --config CONFIG.json --batch B --prompt-len P \
        --new-tokens N [--threads K] [--warmup-tokens 4] [--check-ids]
    -> {"decode_tokens_per_s": x, "ttft_s": t, "prefill_tokens_per_s": y, "batch": B}

--check-ids adds "prompt_row0" (the P prompt ids of row 0) and "ids_row0": the N+1 generated ids
of row 0, i.e. the prefill's argmax followed by the N decode steps' argmaxes.

    /usr/bin/python3 bench/generate_ref.py --self-test
    -> {"self_test": "ok"|"fail", ...}   cached greedy decode vs. the uncached
                                          Transformer.forward on the growing sequence

Prints exactly one line of JSON on stdout.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
from torch_reference import apply_rope, from_config, load_model  # noqa: E402


class KVCache:
    """Preallocated keys/values per layer, [B, n_kv, max_len, head_dim], plus a RoPE table."""

    def __init__(self, model, batch, max_len, dtype):
        c = model.cfg
        shape = (batch, c.num_kv_heads, max_len, c.head_dim)
        self.layers = [(torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype))
                       for _ in range(c.num_layers)]
        self.cos, self.sin = model.rope_cos_sin(torch.arange(max_len)[None], dtype)  # [1, S, D]


def attention_cached(attn, x, cos, sin, k_cache, v_cache, pos):
    """x [B, T, hidden] at positions pos..pos+T-1; writes their K/V into the cache and attends
    to positions 0..pos+T-1 (causally within the T new ones)."""
    b, t, _ = x.shape
    h, kv, d = attn.num_heads, attn.num_kv_heads, attn.head_dim
    q = attn.q_proj(x).view(b, t, h, d)
    k = attn.k_proj(x).view(b, t, kv, d)
    v = attn.v_proj(x).view(b, t, kv, d)
    if attn.q_norm is not None:  # Qwen3
        q, k = attn.q_norm(q), attn.k_norm(k)
    end = pos + t
    q = apply_rope(q.transpose(1, 2), cos, sin)
    k_cache[:, :, pos:end] = apply_rope(k.transpose(1, 2), cos, sin)
    v_cache[:, :, pos:end] = v.transpose(1, 2)
    keys, values = k_cache[:, :, :end], v_cache[:, :, :end]

    # Grouped-query attention without copying K/V (repeat_kv): query head kv*n_rep + r reads
    # KV head kv, so view q as [B, kv, n_rep*T, D] (row r*T + t is head kv*n_rep + r, step t).
    n_rep = h // kv
    q = q.reshape(b, kv, n_rep * t, d)
    scores = torch.matmul(q, keys.transpose(2, 3)) / math.sqrt(d)  # [B, kv, n_rep*T, end]
    if t > 1:
        allowed = torch.arange(end)[None, :] <= torch.arange(pos, end)[:, None]  # [T, end]
        scores = scores.masked_fill(~allowed.repeat(n_rep, 1), torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, dim=-1)
    out = torch.matmul(probs, values).view(b, h, t, d).transpose(1, 2).reshape(b, t, h * d)
    return attn.o_proj(out)


def forward_cached(model, ids, pos, cache):
    """ids [B, T] at positions pos..pos+T-1 -> logits of the last position [B, vocab]."""
    t = ids.shape[1]
    cos, sin = cache.cos[:, pos:pos + t], cache.sin[:, pos:pos + t]
    x = model.model.embed_tokens(ids)
    for layer, (k_cache, v_cache) in zip(model.model.layers, cache.layers):
        x = x + attention_cached(layer.self_attn, layer.input_layernorm(x), cos, sin,
                                 k_cache, v_cache, pos)
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    x = model.model.norm(x[:, -1])
    head = model.lm_head.weight if model.lm_head is not None else model.model.embed_tokens.weight
    return F.linear(x, head)


def generate(model, prompt, steps, logits_out=None):
    """Greedy: prefill, then `steps` decode steps. Returns (ids [B, steps+1], prefill seconds
    including the first argmax, decode seconds)."""
    b, p = prompt.shape
    cache = KVCache(model, b, p + steps, model.model.embed_tokens.weight.dtype)
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = forward_cached(model, prompt, 0, cache)
        tok = logits.argmax(-1)
        t1 = time.perf_counter()
        out = [tok]
        if logits_out is not None:
            logits_out.append(logits)
        for i in range(steps):
            logits = forward_cached(model, tok[:, None], p + i, cache)
            tok = logits.argmax(-1)
            out.append(tok)
            if logits_out is not None:
                logits_out.append(logits)
        t2 = time.perf_counter()
    return torch.stack(out, 1), t1 - t0, t2 - t1


def random_prompt(vocab, batch, length):
    gen = torch.Generator().manual_seed(0)
    row = torch.randint(0, vocab, (1, length), generator=gen, dtype=torch.long)
    return row.expand(batch, length).contiguous()


def self_test():
    """Cached vs. uncached greedy decode on small Llama (GQA), Qwen2 (qkv bias), Qwen3 (qk norm)."""
    base = {"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0}
    cases = [dict(base, architectures=["LlamaForCausalLM"], tie_word_embeddings=True),
             dict(base, architectures=["Qwen2ForCausalLM"], num_key_value_heads=1),
             dict(base, architectures=["Qwen3ForCausalLM"], head_dim=32, num_key_value_heads=4)]
    results = []
    for cfg in cases:
        # std 0.2 so that the logits are far from ties and the argmax is stable
        model = from_config(cfg, seed=0, dtype=torch.float32, std=0.2).eval()
        prompt = torch.randint(0, cfg["vocab_size"], (3, 7), generator=torch.Generator().manual_seed(0))
        cached_logits = []
        ids, _, _ = generate(model, prompt, 12, cached_logits)
        seq, ref_ids, diff = prompt, [], 0.0
        with torch.no_grad():
            for logits in cached_logits:
                full = model(seq)[:, -1]
                diff = max(diff, (full - logits).abs().max().item())
                tok = full.argmax(-1)
                ref_ids.append(tok)
                seq = torch.cat([seq, tok[:, None]], dim=1)
        match = torch.equal(ids, torch.stack(ref_ids, 1))
        results.append({"arch": cfg["architectures"][0], "tokens_match": match,
                        "max_abs_logit_diff": diff})
    ok = all(r["tokens_match"] and r["max_abs_logit_diff"] < 1e-3 for r in results)
    return {"self_test": "ok" if ok else "fail", "cases": results}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", help="Hugging Face style config.json (random weights, seed 0)")
    p.add_argument("--model", help="Hugging Face model folder (its weights) instead of --config")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: os.cpu_count())")
    p.add_argument("--warmup-tokens", type=int, default=4, help="decode steps of the warm-up run")
    p.add_argument("--check-ids", action="store_true", help="add prompt_row0 and ids_row0")
    p.add_argument("--self-test", action="store_true", help="cached vs. uncached greedy decode")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    if args.self_test:
        result = self_test()
        print(json.dumps(result))
        return 0 if result["self_test"] == "ok" else 1
    if bool(args.config) == bool(args.model):
        p.error("give exactly one of --config and --model")
    if args.batch < 1 or args.prompt_len < 1 or args.new_tokens < 1:
        p.error("--batch, --prompt-len and --new-tokens must be positive")

    if args.model:
        model = load_model(args.model, torch.float32)
    else:
        with open(args.config) as f:
            model = from_config(json.load(f), seed=0, dtype=torch.float32)
    model.eval()
    prompt = random_prompt(model.cfg.vocab_size, args.batch, args.prompt_len)

    generate(model, prompt, max(args.warmup_tokens, 0))  # untimed warm-up run
    ids, prefill_s, decode_s = generate(model, prompt, args.new_tokens)
    result = {"decode_tokens_per_s": args.batch * args.new_tokens / decode_s,
              "ttft_s": prefill_s,
              "prefill_tokens_per_s": args.batch * args.prompt_len / prefill_s,
              "batch": args.batch}
    if args.check_ids:
        result["prompt_row0"] = prompt[0].tolist()
        result["ids_row0"] = ids[0].tolist()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
