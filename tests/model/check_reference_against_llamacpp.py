#!/usr/bin/python3
"""Check tests/model/torch_reference.py against llama.cpp's logits in /work/shared/fixtures.

For each fixture (llama-gqa-tiny, qwen2-tiny) and each sequence in its expected.json, runs the
reference through its CLI (so the CLI and the .bin format are tested too) in float32 and float64,
and prints the max abs logit difference to llama.cpp. Exits non-zero if any float32 (or float64)
difference exceeds 1e-5, the tolerance suggested in the fixtures' README.

    /usr/bin/python3 tests/model/check_reference_against_llamacpp.py [--fixtures DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "torch_reference.py")
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "fixtures"))
TOLERANCE = 1e-5


def run_reference(model_dir, sequences, dtype, workdir):
    ids_path = os.path.join(workdir, "ids.json")
    out_path = os.path.join(workdir, "logits-%s.bin" % dtype)
    with open(ids_path, "w") as f:
        json.dump({"sequences": sequences}, f)
    subprocess.run([sys.executable, REFERENCE, "--model", model_dir, "--ids-json", ids_path,
                    "--out", out_path, "--dtype", dtype], check=True)
    return np.fromfile(out_path, dtype="<f4")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fixtures", default=os.environ.get("ARLT_FIXTURES", DEFAULT_FIXTURES))
    args = p.parse_args()
    if not os.path.isdir(args.fixtures):
        args.fixtures = "/work/shared/fixtures"

    failures = 0
    for name in ("llama-gqa-tiny", "qwen2-tiny"):
        model_dir = os.path.join(args.fixtures, name)
        with open(os.path.join(model_dir, "expected.json")) as f:
            expected = json.load(f)["sequences"]
        sequences = [s["input_ids"] for s in expected]
        with tempfile.TemporaryDirectory() as tmp:
            outputs = {dt: run_reference(model_dir, sequences, dt, tmp)
                       for dt in ("float32", "float64")}
        offset = 0
        for idx, seq in enumerate(expected):
            want = np.array(seq["logits"], dtype=np.float32)
            n = want.size
            line = "%-15s seq %s (%2d tokens)" % (name, "AB"[idx] if idx < 2 else idx,
                                                  len(seq["input_ids"]))
            for dt, flat in outputs.items():
                got = flat[offset:offset + n].reshape(want.shape)
                diff = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
                argmax_ok = int((got.argmax(-1) == np.array(seq["argmax"])).sum())
                ok = diff <= TOLERANCE
                failures += not ok
                line += "  %s max|diff| %.3e %s argmax %d/%d" % (
                    dt, diff, "ok  " if ok else "FAIL", argmax_ok, len(seq["argmax"]))
            print(line)
            offset += n
        for dt, flat in outputs.items():
            if flat.size != offset:
                print("%s %s: output has %d floats, expected %d" % (name, dt, flat.size, offset))
                failures += 1
    print("FAILED" if failures else "all within %.0e" % TOLERANCE)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
