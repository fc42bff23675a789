#!/usr/bin/python3
"""Independent PyTorch reference for decoder-only transformers (Llama, Qwen2, Qwen3).

arlt's C++ forward pass is checked against this file, and the benchmark in bench/forward_ref.py
uses it as the "plain PyTorch" baseline. It is written from the architectures' published equations
(Hugging Face modelling semantics), not from arlt's code, and does not use `transformers` or
`safetensors`: the safetensors reader below is a few lines of numpy.

Run with Debian's Python, which has torch 1.13:

    /usr/bin/python3 tests/model/torch_reference.py --model DIR --ids-json IDS.json \
        --out LOGITS.bin [--dtype float32|float64]

IDS.json is {"sequences": [[id, ...], ...]}. Each sequence runs alone from position 0. LOGITS.bin is
raw little-endian float32: for each sequence in order, its logits [len, vocab] row-major.

Module API:
    cfg = load_config(dir); model = Transformer(cfg); model.load_state_dict_from_folder(dir)
    model = load_model(dir, dtype=torch.float64)      # the same in one call
    model = from_config(cfg)                          # random init: N(0, 0.02), norms = 1
    logits = model(input_ids[B, T], attention_mask[B, T] or None)   # -> [B, T, vocab]
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM")


# ----------------------------------------------------------------------------------------------
# safetensors reader
# ----------------------------------------------------------------------------------------------

_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path):
    """Return {name: float32/float64 numpy array} for one .safetensors file.

    Layout: u64 little-endian header length N, N bytes of JSON header
    {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
    then the data block (offsets are relative to its start)."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len).decode("utf-8"))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in _ST_DTYPES:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dtype))
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        raw = np.frombuffer(data, dtype=np.dtype(_ST_DTYPES[dtype]).newbyteorder("<"),
                            count=(end - begin) // np.dtype(_ST_DTYPES[dtype]).itemsize,
                            offset=begin)
        if dtype == "BF16":
            # bfloat16 is the upper half of a float32: shift into the high 16 bits.
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        elif dtype == "F16":
            arr = raw.astype(np.float32)
        else:
            arr = raw.astype(raw.dtype.newbyteorder("="))
        expected = int(np.prod(shape)) if shape else 1
        if arr.size != expected:
            raise ValueError("%s: tensor %s has %d elements, shape %s needs %d"
                             % (path, name, arr.size, shape, expected))
        tensors[name] = arr.reshape(shape)
    return tensors


def read_model_tensors(model_dir):
    """All tensors of a Hugging Face model folder: model.safetensors, or the shards named by
    model.safetensors.index.json."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        return read_safetensors(single)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(os.path.join(model_dir, shard)))
        missing = [n for n in weight_map if n not in tensors]
        if missing:
            raise ValueError("index names tensors missing from shards: %s" % missing[:5])
        return tensors
    raise FileNotFoundError("no model.safetensors or model.safetensors.index.json in " + model_dir)


# ----------------------------------------------------------------------------------------------
# config
# ----------------------------------------------------------------------------------------------

def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


class ModelConfig:
    """The fields of a Hugging Face config.json that the forward pass needs, with HF defaults."""

    def __init__(self, cfg):
        archs = cfg.get("architectures") or ["LlamaForCausalLM"]
        self.arch = archs[0]
        if self.arch not in SUPPORTED_ARCHITECTURES:
            raise ValueError("unsupported architecture %r" % self.arch)
        self.vocab_size = int(cfg["vocab_size"])
        self.hidden_size = int(cfg["hidden_size"])
        self.intermediate_size = int(cfg["intermediate_size"])
        self.num_layers = int(cfg["num_hidden_layers"])
        self.num_heads = int(cfg["num_attention_heads"])
        kv = cfg.get("num_key_value_heads")
        self.num_kv_heads = int(kv) if kv is not None else self.num_heads
        self.head_dim = int(cfg.get("head_dim") or self.hidden_size // self.num_heads)
        if self.num_heads % self.num_kv_heads != 0:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        self.rms_norm_eps = float(cfg.get("rms_norm_eps", 1e-6))
        self.rope_theta = float(cfg.get("rope_theta", 10000.0))
        self.rope_scaling = cfg.get("rope_scaling")
        self.tie_word_embeddings = bool(cfg.get("tie_word_embeddings", False))
        act = cfg.get("hidden_act", "silu")
        if act != "silu":
            raise ValueError("unsupported hidden_act %r" % act)

        if self.arch == "Qwen2ForCausalLM":
            self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
        elif self.arch == "Qwen3ForCausalLM":
            b = bool(cfg.get("attention_bias", False))
            self.qkv_bias, self.o_bias, self.mlp_bias = b, b, False
        else:  # Llama
            b = bool(cfg.get("attention_bias", False))
            self.qkv_bias, self.o_bias = b, b
            self.mlp_bias = bool(cfg.get("mlp_bias", False))
        self.qk_norm = self.arch == "Qwen3ForCausalLM"


# ----------------------------------------------------------------------------------------------
# RoPE
# ----------------------------------------------------------------------------------------------

def rope_inv_freq(head_dim, theta, rope_scaling):
    """inv_freq[i] = theta^(-2i/head_dim), i = 0..head_dim/2-1, after rope_scaling (float64)."""
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    if not rope_scaling:
        return inv_freq
    rope_type = rope_scaling.get("rope_type", rope_scaling.get("type", "default"))
    if rope_type == "default":
        return inv_freq
    if rope_type == "linear":
        # positions / factor, i.e. every frequency divided by factor
        return inv_freq / float(rope_scaling["factor"])
    if rope_type == "llama3":
        factor = float(rope_scaling["factor"])
        low = float(rope_scaling["low_freq_factor"])
        high = float(rope_scaling["high_freq_factor"])
        orig = float(rope_scaling["original_max_position_embeddings"])
        low_freq_wavelen = orig / low
        high_freq_wavelen = orig / high
        out = np.empty_like(inv_freq)
        for i, f in enumerate(inv_freq):
            wavelen = 2.0 * math.pi / f
            if wavelen < high_freq_wavelen:        # high frequency: unchanged
                out[i] = f
            elif wavelen > low_freq_wavelen:       # low frequency: scaled down by factor
                out[i] = f / factor
            else:                                  # in between: interpolate
                smooth = (orig / wavelen - low) / (high - low)
                out[i] = (1.0 - smooth) * f / factor + smooth * f
        return out
    raise ValueError("unsupported rope_scaling type %r" % rope_type)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x, cos, sin):
    """x [B, H, T, D]; cos/sin [B, T, D] (each frequency duplicated across both halves)."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


# ----------------------------------------------------------------------------------------------
# layers
# ----------------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def repeat_kv(x, n_rep):
    """[B, KV, T, D] -> [B, KV*n_rep, T, D]; query head h reads KV head h // n_rep."""
    if n_rep == 1:
        return x
    b, kv, t, d = x.shape
    return x[:, :, None].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_heads * c.head_dim, bias=c.qkv_bias)
        self.k_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.v_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.o_proj = nn.Linear(c.num_heads * c.head_dim, c.hidden_size, bias=c.o_bias)
        if c.qk_norm:
            self.q_norm = RMSNorm(c.head_dim, c.rms_norm_eps)
            self.k_norm = RMSNorm(c.head_dim, c.rms_norm_eps)
        else:
            self.q_norm = self.k_norm = None

    def forward(self, x, cos, sin, allowed):
        """x [B, T, hidden]; allowed [B, 1, T, T] bool, True where query t may attend key s."""
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim)
        if self.q_norm is not None:  # Qwen3: per-head RMSNorm over head_dim, before RoPE
            q = self.q_norm(q)
            k = self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, D]
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        n_rep = self.num_heads // self.num_kv_heads
        k = repeat_kv(k, n_rep)
        v = repeat_kv(v, n_rep)

        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        softmax_dtype = torch.float64 if scores.dtype == torch.float64 else torch.float32
        scores = scores.to(softmax_dtype)
        scores = scores.masked_fill(~allowed, torch.finfo(softmax_dtype).min)
        probs = torch.softmax(scores, dim=-1).to(q.dtype)
        out = torch.matmul(probs, v)  # [B, H, T, D]
        out = out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_dim)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=c.mlp_bias)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=c.mlp_bias)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=c.mlp_bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, allowed):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed)
        return x + self.mlp(self.post_attention_layernorm(x))


class _Body(nn.Module):
    """Holds the HF "model.*" tensors so that state_dict names match the checkpoint's."""

    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c.num_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Transformer(nn.Module):
    """Decoder-only transformer; parameter names equal the Hugging Face checkpoint names."""

    def __init__(self, config):
        super().__init__()
        self.config_dict = dict(config)
        self.cfg = c = ModelConfig(config)
        self.model = _Body(c)
        if c.tie_word_embeddings:
            self.lm_head = None
        else:
            self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.register_buffer("inv_freq", torch.tensor(
            rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling), dtype=torch.float64),
            persistent=False)

    # -- weights ------------------------------------------------------------------------------

    def init_random(self, std=0.02, generator=None):
        """Weights and biases N(0, std), RMSNorm weights 1 (like HF's _init_weights)."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                else:
                    p.normal_(0.0, std, generator=generator)
        return self

    def load_state_dict_from_folder(self, model_dir):
        """Load config-matching weights from a HF folder (model.safetensors or sharded)."""
        tensors = read_model_tensors(model_dir)
        if self.lm_head is None:
            tensors.pop("lm_head.weight", None)
        own = self.state_dict()
        missing = [n for n in own if n not in tensors]
        unexpected = [n for n in tensors if n not in own and not n.endswith("rotary_emb.inv_freq")]
        if missing or unexpected:
            raise ValueError("checkpoint mismatch: missing %s, unexpected %s"
                             % (missing[:8], unexpected[:8]))
        with torch.no_grad():
            for name, value in own.items():
                src = tensors[name]
                if tuple(src.shape) != tuple(value.shape):
                    raise ValueError("%s: checkpoint shape %s, model shape %s"
                                     % (name, src.shape, tuple(value.shape)))
                value.copy_(torch.from_numpy(np.ascontiguousarray(src)).to(value.dtype))
        return self

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # -- forward ------------------------------------------------------------------------------

    def rope_cos_sin(self, position_ids, dtype):
        """position_ids [B, T] -> cos, sin [B, T, head_dim] (angles computed in float64)."""
        angles = position_ids.to(torch.float64)[..., None] * self.inv_freq  # [B, T, D/2]
        angles = torch.cat((angles, angles), dim=-1)
        return angles.cos().to(dtype), angles.sin().to(dtype)

    def forward(self, input_ids, attention_mask=None):
        """input_ids [B, T] int64; attention_mask [B, T] (1 = token, 0 = left padding) or None.
        Returns logits [B, T, vocab] in the model's dtype."""
        b, t = input_ids.shape
        device = input_ids.device
        causal = torch.ones(t, t, dtype=torch.bool, device=device).tril()
        if attention_mask is None:
            position_ids = torch.arange(t, device=device).expand(b, t)
            allowed = causal[None, None].expand(b, 1, t, t)
        else:
            mask = attention_mask.to(torch.bool)
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            allowed = causal[None, None] & mask[:, None, None, :]
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.rope_cos_sin(position_ids, x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin, allowed)
        x = self.model.norm(x)
        head = self.lm_head.weight if self.lm_head is not None else self.model.embed_tokens.weight
        return F.linear(x, head)


def from_config(cfg, seed=None, dtype=torch.float32, std=0.02):
    """Randomly initialised model for a config dict: N(0, std) weights, RMSNorm weights 1."""
    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(seed)
    model = Transformer(cfg).to(dtype)
    return model.init_random(std=std, generator=gen)


def load_model(model_dir, dtype=torch.float32):
    """Transformer built from model_dir/config.json with the folder's weights, in dtype."""
    model = Transformer(load_config(model_dir)).to(dtype)
    model.load_state_dict_from_folder(model_dir)
    return model.eval()


def sequence_logits(model, ids):
    """Logits [len, vocab] as float32 numpy for one sequence, run alone from position 0."""
    with torch.no_grad():
        x = torch.tensor([ids], dtype=torch.long)
        return model(x)[0].to(torch.float32).numpy()


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model folder")
    p.add_argument("--ids-json", required=True, help='{"sequences": [[ids...], ...]}')
    p.add_argument("--out", required=True, help="output: float32 LE logits, [len, vocab] per sequence")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = p.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    with open(args.ids_json) as f:
        sequences = json.load(f)["sequences"]
    model = load_model(args.model, dtype)
    vocab = model.cfg.vocab_size
    for seq in sequences:
        if not seq:
            raise ValueError("empty sequence")
        bad = [i for i in seq if not (0 <= i < vocab)]
        if bad:
            raise ValueError("token ids out of range [0, %d): %s" % (vocab, bad[:5]))
    with open(args.out, "wb") as f:
        for seq in sequences:
            f.write(sequence_logits(model, seq).astype("<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
