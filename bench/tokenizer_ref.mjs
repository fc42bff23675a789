#!/usr/bin/env node
// Reference tokenizer throughput, for comparison with arlt's C++ tokenizer bench.
//
//   node bench/tokenizer_ref.mjs --tokenizer-dir DIR --input FILE [--repeat N]
//        [--split lines|chunks] [--chunk-bytes 1024] [--impl lenml|hf] [--hf-module PATH]
//
// FILE is read as UTF-8 and cut into pieces:
//   lines   (default) each line with its "\n" terminator (the last line may lack one);
//   chunks  whole lines concatenated until a piece holds >= --chunk-bytes UTF-8 bytes
//           (so a piece never splits a line; a single longer line is one piece).
// Empty pieces are dropped. Every piece is encoded with add_special_tokens=false: one untimed
// warm-up pass, then --repeat timed passes (default 1). Prints one JSON line:
//   {"mb_per_s": bytes / 1e6 / seconds, "tokens": n, "bytes": b, "seconds": s,
//    "pieces": p, "repeat": r, "impl": "lenml"|"hf"}
// where tokens and bytes are summed over the timed passes (bytes = UTF-8 bytes of the pieces)
// and seconds is the wall time of the timed passes (one thread).
//
// Notes for comparisons: @lenml keeps an LRU cache (10,000 entries) of BPE results per
// pre-token, which the warm-up pass fills; --impl hf calls the Rust crate once per piece through
// napi's async encode (per-call overhead included; no encodeBatch, so no rayon threads).

import fs from "node:fs";
import { loadTokenizer, parseArgs } from "../tests/tokenizer/ref_lib.mjs";

function usage(msg) {
  if (msg) process.stderr.write(`tokenizer_ref: ${msg}\n`);
  process.stderr.write(
    "usage: node bench/tokenizer_ref.mjs --tokenizer-dir DIR --input FILE [--repeat N] " +
      "[--split lines|chunks] [--chunk-bytes 1024] [--impl lenml|hf] [--hf-module PATH]\n"
  );
  process.exit(2);
}

function splitPieces(text, mode, chunkBytes) {
  const lines = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) {
      if (start < text.length) lines.push(text.slice(start));
      break;
    }
    lines.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (mode === "lines") return lines;
  const pieces = [];
  let cur = "";
  let curBytes = 0;
  for (const l of lines) {
    cur += l;
    curBytes += Buffer.byteLength(l, "utf8");
    if (curBytes >= chunkBytes) {
      pieces.push(cur);
      cur = "";
      curBytes = 0;
    }
  }
  if (cur) pieces.push(cur);
  return pieces;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), {
      tokenizer_dir: "",
      input: "",
      repeat: 1,
      split: "lines",
      chunk_bytes: 1024,
      impl: "lenml",
      hf_module: "",
    });
  } catch (e) {
    usage(e.message);
  }
  if (!args.tokenizer_dir) usage("--tokenizer-dir is required");
  if (!args.input) usage("--input is required");
  if (!(Number.isInteger(args.repeat) && args.repeat >= 1)) usage("--repeat must be >= 1");
  if (args.split !== "lines" && args.split !== "chunks") usage("--split must be lines or chunks");
  if (!(args.chunk_bytes >= 1)) usage("--chunk-bytes must be >= 1");

  const tok = loadTokenizer(args.tokenizer_dir, { impl: args.impl, hfModule: args.hf_module || null });
  const text = fs.readFileSync(args.input, "utf8");
  const pieces = splitPieces(text, args.split, args.chunk_bytes).filter((p) => p.length > 0);
  const pieceBytes = pieces.reduce((s, p) => s + Buffer.byteLength(p, "utf8"), 0);

  const sync = args.impl === "lenml";
  const pass = async () => {
    let n = 0;
    if (sync) {
      for (const p of pieces) n += tok.encode(p, false).length;
    } else {
      for (const p of pieces) n += (await tok.encode(p, false)).length;
    }
    return n;
  };

  await pass(); // warm-up
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < args.repeat; ++r) tokens += await pass();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = pieceBytes * args.repeat;
  process.stdout.write(
    JSON.stringify({
      mb_per_s: bytes / 1e6 / seconds,
      tokens,
      bytes,
      seconds,
      pieces: pieces.length,
      repeat: args.repeat,
      impl: tok.impl,
    }) + "\n"
  );
}

main().catch((e) => {
  process.stderr.write(`tokenizer_ref: ${e.stack || e}\n`);
  process.exit(1);
});
