// arlt generate: completions for prompts through the continuous-batching engine, as JSONL.
//   arlt generate --model DIR --prompt "text" [--prompt ...] | --prompts FILE.jsonl [sampling flags]
// A prompts line: {"prompt": "..."} | {"prompt_ids": [...]} | {"messages": [...]} (chat template),
// with optional per-line id, n, max_tokens, temperature, top_p, top_k, min_p, seed, stop.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/cli/commands.h"
#include "arlt/engine/engine.h"
#include "arlt/model/hf_folder.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::cli {
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

struct Opts {
  std::string model, prompts, out, dtype;
  std::vector<std::string> prompt_texts, stop;
  engine::SamplingParams params;
  int64_t max_seqs = 64, max_batch_tokens = 0;
  double kv_budget_mb = 0;
  bool quiet = false;
};

template <typename T>
T typed(const ordered_json& j, const char* key, const std::string& where, T def) {
  if (!j.contains(key)) return def;
  try {
    return j[key].get<T>();
  } catch (const ordered_json::exception&) {
    throw Error(where + ": field '" + key + "' has the wrong type (" + j[key].dump() + ")");
  }
}

engine::Request request_from_line(const ordered_json& j, const std::string& where, const Opts& o,
                                  const tokenizer::Tokenizer* tok, std::string* shown_prompt) {
  static const std::vector<std::string> known = {"id", "prompt", "prompt_ids", "messages", "tools", "n", "max_tokens",
                                                 "temperature", "top_p", "top_k", "min_p", "seed", "stop"};
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      throw Error(where + ": unknown field '" + it.key() + "'");
  engine::Request r;
  r.id = typed<std::string>(j, "id", where, "");
  r.params = o.params;
  r.params.n = typed<int64_t>(j, "n", where, r.params.n);
  r.params.max_tokens = typed<int64_t>(j, "max_tokens", where, r.params.max_tokens);
  r.params.temperature = typed<double>(j, "temperature", where, r.params.temperature);
  r.params.top_p = typed<double>(j, "top_p", where, r.params.top_p);
  r.params.top_k = typed<int64_t>(j, "top_k", where, r.params.top_k);
  r.params.min_p = typed<double>(j, "min_p", where, r.params.min_p);
  r.params.seed = typed<uint64_t>(j, "seed", where, r.params.seed);
  if (j.contains("stop")) r.params.stop = j["stop"].is_string() ? std::vector<std::string>{j["stop"].get<std::string>()}
                                                                 : typed<std::vector<std::string>>(j, "stop", where, {});
  const int sources = j.contains("prompt") + j.contains("prompt_ids") + j.contains("messages");
  if (sources != 1) throw Error(where + ": give exactly one of prompt, prompt_ids, messages");
  if (j.contains("prompt_ids")) {
    r.prompt = typed<std::vector<int64_t>>(j, "prompt_ids", where, {});
    *shown_prompt = "";
  } else {
    if (!tok) throw Error(where + ": text prompts need a tokenizer.json in the model folder (or use prompt_ids)");
    std::string text;
    if (j.contains("prompt")) {
      text = typed<std::string>(j, "prompt", where, "");
      r.prompt = tok->encode(text, true);
    } else {
      if (tok->chat_template().empty()) throw Error(where + ": the tokenizer has no chat_template for 'messages'");
      tokenizer::ChatOptions co;
      co.add_generation_prompt = true;
      co.bos_token = tok->bos_token();
      co.eos_token = tok->eos_token();
      text = tokenizer::render_chat_template(tok->chat_template(), j["messages"], j.value("tools", ordered_json()), co);
      r.prompt = tok->encode(text, false);
    }
    *shown_prompt = text;
  }
  return r;
}

}  // namespace

void add_generate(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("generate", "generate completions with the continuous-batching engine (JSONL out)");
  sub->add_option("--model", o->model, "Hugging Face model folder (with tokenizer.json for text prompts)")->required();
  sub->add_option("--prompt", o->prompt_texts, "a prompt (repeatable)");
  sub->add_option("--prompts", o->prompts, "JSONL file of prompts");
  sub->add_option("--out", o->out, "output JSONL (default: standard output)");
  sub->add_option("--max-tokens", o->params.max_tokens, "tokens to generate at most")->capture_default_str();
  sub->add_option("--temperature", o->params.temperature, "0 = greedy")->capture_default_str();
  sub->add_option("--top-p", o->params.top_p, "nucleus sampling mass")->capture_default_str();
  sub->add_option("--top-k", o->params.top_k, "0 = off")->capture_default_str();
  sub->add_option("--min-p", o->params.min_p, "0 = off")->capture_default_str();
  sub->add_option("--repetition-penalty", o->params.repetition_penalty)->capture_default_str();
  sub->add_option("--presence-penalty", o->params.presence_penalty)->capture_default_str();
  sub->add_option("--n", o->params.n, "samples per prompt")->capture_default_str();
  sub->add_option("--seed", o->params.seed, "random seed")->capture_default_str();
  sub->add_option("--stop", o->stop, "stop string (repeatable)");
  sub->add_option("--logprobs", o->params.logprobs, "top log-probs to report per token (0-20)");
  sub->add_option("--max-seqs", o->max_seqs, "sequences decoding at once")->capture_default_str();
  sub->add_option("--kv-budget-mb", o->kv_budget_mb, "memory for the KV cache: caps --max-seqs (0 = no cap)")
      ->check(CLI::Range(0.0, 1e9));
  sub->add_option("--max-batch-tokens", o->max_batch_tokens,
                  "tokens per engine step: decode first, then prompt chunks (0 = max(2048, max-seqs))");
  sub->add_option("--dtype", o->dtype, "float32 or bfloat16 (default: the model's)");
  sub->add_flag("--quiet", o->quiet, "no progress line");
  sub->callback([o] {
    o->params.stop = o->stop;
    if (o->prompt_texts.empty() == o->prompts.empty()) throw Error("give --prompt or --prompts (one of them)");
    model::LoadOptions lo;
    if (!o->dtype.empty()) lo.dtype = model::parse_dtype(o->dtype, "--dtype");
    auto m = model::load_model(o->model, lo);
    std::shared_ptr<tokenizer::Tokenizer> tok;
    if (std::filesystem::exists(std::filesystem::path(o->model) / "tokenizer.json"))
      tok = tokenizer::Tokenizer::from_folder(o->model);
    // All requests are read first, so that the KV cache is sized for the longest one instead of
    // the model's whole context (for a 2k-context model and 256 slots that is gigabytes of zeros).
    std::vector<std::pair<engine::Request, std::string>> requests;  // request, where it came from
    std::vector<std::string> texts;
    auto add = [&](const ordered_json& j, const std::string& where) {
      std::string text;
      engine::Request r = request_from_line(j, where, *o, tok.get(), &text);
      if (r.id.empty()) r.id = std::to_string(requests.size());
      requests.emplace_back(std::move(r), where);
      texts.push_back(text);
    };
    if (!o->prompts.empty()) {
      std::ifstream in(o->prompts);
      if (!in) throw Error(o->prompts + ": cannot open");
      std::string line;
      for (size_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        ordered_json j;
        try {
          j = ordered_json::parse(line);
        } catch (const ordered_json::parse_error& e) {
          throw Error(o->prompts + ":" + std::to_string(n) + ": not valid JSON: " + e.what());
        }
        add(j, o->prompts + ":" + std::to_string(n));
      }
    } else {
      for (size_t i = 0; i < o->prompt_texts.size(); ++i) add({{"prompt", o->prompt_texts[i]}}, "--prompt " + std::to_string(i + 1));
    }
    engine::EngineOptions eo;
    eo.max_seqs = o->max_seqs;
    eo.max_batch_tokens = o->max_batch_tokens;
    eo.kv_budget_bytes = static_cast<int64_t>(o->kv_budget_mb * 1024 * 1024);
    int64_t need = 2;
    for (const auto& [r, where] : requests)
      need = std::max<int64_t>(need, static_cast<int64_t>(r.prompt.size()) + r.params.max_tokens + 1);
    eo.max_seq_len = std::min<int64_t>(need, m->config().max_position_embeddings);
    engine::Engine eng(m, tok, eo);
    std::vector<std::string> shown;
    std::map<std::string, size_t> index_of;
    for (size_t i = 0; i < requests.size(); ++i) {
      std::string id;
      try {
        id = eng.submit(std::move(requests[i].first));
      } catch (const Error& e) {
        throw Error(requests[i].second + ": " + e.what());
      }
      index_of[id] = shown.size();
      shown.push_back(texts[i]);
    }

    const auto t0 = std::chrono::steady_clock::now();
    const size_t total = shown.size();
    auto out = eng.run([&](const engine::Engine& e) {
      if (o->quiet) return;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\rgenerate: %zu requests, %lld waiting, %lld running, %lld tokens, %.0f tokens/s   ", total,
                   (long long)e.waiting(), (long long)e.running(), (long long)e.generated_tokens(),
                   e.generated_tokens() / std::max(s, 1e-9));
    });
    if (!o->quiet) std::fprintf(stderr, "\n");
    std::ofstream file;
    if (!o->out.empty()) {
      file.open(o->out);
      if (!file) throw Error(o->out + ": cannot open for writing");
    }
    std::ostream& os = o->out.empty() ? std::cout : file;
    for (const auto& c : out) {
      ordered_json j = {{"id", c.request_id}, {"index", c.index}};
      if (tok) j["prompt"] = shown[index_of[c.request_id]];
      j["text"] = c.text;
      j["tokens"] = c.tokens;
      j["logprobs"] = c.logprobs;
      j["finish_reason"] = c.finish_reason;
      if (!c.stop_string.empty()) j["stop"] = c.stop_string;
      if (!c.top_logprobs.empty()) {
        ordered_json top = ordered_json::array();
        for (const auto& row : c.top_logprobs) {
          ordered_json r = ordered_json::array();
          for (const auto& [id, lp] : row) r.push_back({id, lp});
          top.push_back(r);
        }
        j["top_logprobs"] = top;
      }
      os << j.dump() << "\n";
    }
  });
}

}  // namespace arlt::cli
