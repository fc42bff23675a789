#!/usr/bin/env python3
"""Writes tests/data/transformers/: tiny random Llama / Qwen2 / Qwen3 models saved by Hugging Face
transformers' own save_pretrained, with the logits transformers' own model classes compute for
two token sequences (fp32, CPU, eager attention). arlt's test ParityTransformers compares every
logit (tolerance 1e-4). Run it on a machine that has transformers (the GPU device machine):

    python3 tests/model/make_transformers_fixture.py [--out tests/data/transformers]

then commit the folder. It also reruns the logits on CUDA when a GPU is present and reports the
largest CPU/GPU difference, so the same run checks the GPU path of transformers itself.
"""
import argparse
import json
import os

import torch
import transformers
from transformers import AutoModelForCausalLM

BASE = dict(vocab_size=1000, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
            num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=512,
            )

VARIANTS = {
    "llama": dict(architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5,
                  rope_theta=10000.0, tie_word_embeddings=False),
    "llama3_scaled": dict(architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5,
                          rope_theta=500000.0, tie_word_embeddings=True,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
    "qwen2": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", rms_norm_eps=1e-6,
                  rope_theta=1000000.0, tie_word_embeddings=True),
    "qwen3": dict(architectures=["Qwen3ForCausalLM"], model_type="qwen3", rms_norm_eps=1e-6,
                  rope_theta=1000000.0, head_dim=24, tie_word_embeddings=False),
}

SEQUENCES = [[1, 17, 256, 999, 0, 17, 42, 42, 7, 300, 301, 302, 5, 17, 256, 64, 65, 66, 900, 2] * 3,
             [5, 6, 7, 8, 9]]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "transformers"))
    args = p.parse_args()
    torch.manual_seed(0)
    for name, extra in VARIANTS.items():
        cfg_dict = dict(BASE, **extra)
        config = transformers.AutoConfig.for_model(cfg_dict.pop("model_type"), **cfg_dict)
        try:  # the keyword arrived in transformers 4.36; older ones read the private field
            model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        except TypeError:
            config._attn_implementation = "eager"
            model = AutoModelForCausalLM.from_config(config)
        model = model.float()
        with torch.no_grad():  # larger weights than the default init, so logits are not flat
            for n, t in model.named_parameters():
                t.copy_(torch.randn_like(t) * 0.08 + (1.0 if "norm" in n else 0.0))
        model.eval()
        out = os.path.join(args.out, name)
        model.save_pretrained(out, safe_serialization=True)
        seqs = []
        for ids in SEQUENCES:
            x = torch.tensor([ids])
            with torch.no_grad():
                logits = model(x).logits[0].float()
            entry = {"input_ids": ids, "logits": logits.tolist()}
            if torch.cuda.is_available():
                with torch.no_grad():
                    gpu = model.to("cuda")(x.to("cuda")).logits[0].float().cpu()
                model.to("cpu")
                entry["max_abs_cpu_vs_cuda"] = float((gpu - logits).abs().max())
            seqs.append(entry)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"source": f"transformers {transformers.__version__}, torch {torch.__version__}, fp32 CPU eager",
                       "sequences": seqs}, f)
        print(name, "written", [s.get("max_abs_cpu_vs_cuda") for s in seqs])


if __name__ == "__main__":
    main()
