#!/usr/bin/env node
// Compares the two reference implementations (@lenml/tokenizers vs the HF Rust crate's Node
// binding) on the parity corpus, on targeted probes, on random strings and on random id
// sequences; prints every difference. This is how tests/data/tokenizer/KNOWN_DIFFERENCES.md
// was produced.
//
//   node tests/tokenizer/diff_impls.mjs --hf-module PATH/TO/tokenizers [--models qwen3,llama3,llama2]
//        [--fuzz 3000] [--scan-codepoints]
//
// PATH/TO/tokenizers is an unpacked npm package `tokenizers` (e.g. `npm pack tokenizers@0.23.2`
// and untar: it ships tokenizers.linux-x64-gnu.node). --scan-codepoints also compares, for every
// code point, the pre-tokenizer and normalizer outputs (about 90 s per model).

import { loadTokenizer, packagedTokenizerDir, parseArgs, REPO_ROOT } from "./ref_lib.mjs";
import fs from "node:fs";
import path from "node:path";

const args = parseArgs(process.argv.slice(2), {
  hf_module: "",
  models: "qwen3,llama3,llama2",
  fuzz: 3000,
  scan_codepoints: false,
});

const PROBES = [
  "one\u0085two \u0085three",
  "\ufeff's",
  " \ufeffb",
  "x\u088f's",
  "e\u0c3c\u0301",
  "it'\u017fa",
  "a\ud884\udf50b's",
];

let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const POOL = [
  ..."abcXYZ019'", "'s", "'t", "'re", "'ll", "'S", " ", " ", "\t", "\n", "\r", "\r\n", "\u000b", "\u000c",
  "\u0085", "\u00a0", "\u1680", "\u2000", "\u2028", "\u202f", "\u3000", "\ufeff", "\u180e", "\u200b", "\u200d",
  "\u017f", "\u212a", "\u0301", "\u0308", "é", "ß", "İ", "我", "の", "가", "\u1100", "\u1161", "😀", "👍🏽",
  "١", "２", "½", ".", ",", "!", "?", "-", "(", "<", ">", "|", "\"", "’", "…", "▁", "<0x41>", "\u0000",
  "\u001b", "\ufffd", "\ue000", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>",
  "<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>", "<unk>", "<|im_start", "<s", "|>",
];

const same = (a, b) => JSON.stringify(Array.from(a)) === JSON.stringify(Array.from(b));
const cp = (c) => "U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");

const corpus = fs
  .readFileSync(path.join(REPO_ROOT, "tests/data/tokenizer/corpus.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const invalid = fs
  .readFileSync(path.join(REPO_ROOT, "tests/data/tokenizer/invalid_utf8.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l))
  .map((r) => ({ name: `invalid_utf8/${r.name}`, text: r.lossy }));

for (const model of args.models.split(",")) {
  const dir = packagedTokenizerDir(model);
  const L = loadTokenizer(dir);
  const H = loadTokenizer(dir, { impl: "hf", hfModule: args.hf_module || null });
  console.log(`== ${model}`);

  const cmpEncode = async (label, text) => {
    let bad = false;
    for (const add of [true, false]) {
      const a = await L.encode(text, add);
      const b = await H.encode(text, add);
      if (!same(a, b)) {
        bad = true;
        console.log(`  ENCODE ${label} add_special_tokens=${add} ${JSON.stringify(text)}`);
        console.log(`     lenml ${JSON.stringify(Array.from(a))} ${JSON.stringify(L.tokens(Array.from(a)))}`);
        console.log(`     hf    ${JSON.stringify(Array.from(b))} ${JSON.stringify(H.tokens(Array.from(b)))}`);
      }
      if (add && a.length) {
        for (const skip of [false, true]) {
          const da = await L.decode(Array.from(a), skip, false);
          const db = await H.decode(Array.from(a), skip, false);
          if (da !== db) {
            bad = true;
            console.log(`  DECODE ${label} skip=${skip}: lenml ${JSON.stringify(da)} hf ${JSON.stringify(db)}`);
          }
        }
      }
    }
    return bad;
  };

  let n = 0;
  for (const { name, text } of [...corpus, ...invalid]) if (await cmpEncode(name, text)) ++n;
  console.log(`  corpus: ${n} of ${corpus.length + invalid.length} lines differ`);
  for (const p of PROBES) await cmpEncode("probe", p);

  // Random strings (encode + decode).
  let fuzzDiff = 0;
  for (let it = 0; it < args.fuzz; ++it) {
    const len = 1 + Math.floor(rnd() * 12);
    let s = "";
    for (let i = 0; i < len; ++i) s += POOL[Math.floor(rnd() * POOL.length)];
    const a = await L.encode(s, false);
    const b = await H.encode(s, false);
    if (!same(a, b)) {
      if (++fuzzDiff <= 5) console.log(`  FUZZ ${JSON.stringify(s)} (${[...s].map(cp).join(" ")})`);
    }
  }
  console.log(`  fuzz strings: ${fuzzDiff} of ${args.fuzz} differ`);

  // Random id sequences biased to byte tokens and added tokens (decode only).
  const V = L.raw.model.vocab.length;
  const byteIds = Array.from({ length: 256 }, (_, i) => (model === "llama2" ? 3 + i : i));
  const added = L.raw.added_tokens.map((t) => t.id);
  let decDiff = 0;
  for (let it = 0; it < args.fuzz; ++it) {
    const len = 1 + Math.floor(rnd() * 8);
    const ids = [];
    for (let i = 0; i < len; ++i) {
      const r = rnd();
      ids.push(
        r < 0.6
          ? byteIds[Math.floor(rnd() * 256)]
          : r < 0.75
            ? added[Math.floor(rnd() * added.length)]
            : Math.floor(rnd() * V)
      );
    }
    const skip = rnd() < 0.5;
    const a = await L.decode(ids, skip, false);
    const b = await H.decode(ids, skip, false);
    if (a !== b && ++decDiff <= 3) {
      console.log(`  FUZZ-DECODE ${JSON.stringify(ids)} skip=${skip}: lenml ${JSON.stringify(a)} hf ${JSON.stringify(b)}`);
    }
  }
  console.log(`  fuzz id sequences: ${decDiff} of ${args.fuzz} decode differently`);

  if (args.scan_codepoints) {
    const hp = H.raw.getPreTokenizer();
    const hn = H.raw.getNormalizer();
    const pre = [];
    const norm = [];
    for (let c = 0; c <= 0x10ffff; ++c) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      if (hp && L.raw.pre_tokenizer) {
        const s = `x${ch}x ${ch}'s${ch}1${ch} ${ch}\n${ch}${ch}  ${ch} x'${ch}a 'r${ch}a`;
        const a = L.raw.pre_tokenizer(s, { section_index: 0 });
        const b = hp.preTokenizeString(s).map((x) => x[0]);
        if (!same(a, b)) pre.push(ch);
      }
      if (hn && L.raw.normalizer) {
        const t = `a${ch}\u0301${ch}`;
        if (L.raw.normalizer(t) !== hn.normalizeString(t)) norm.push(ch);
      }
    }
    const show = (what, has, list) =>
      console.log(
        has
          ? `  code points with different ${what}: ${list.length}: ${list.slice(0, 40).map(cp).join(" ")}`
          : `  ${what}: none in this tokenizer.json`
      );
    show("pre-tokenization", hp && L.raw.pre_tokenizer, pre);
    show("normalization", hn && L.raw.normalizer, norm);
  }
}
