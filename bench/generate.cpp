// bench/generate: decode throughput (generated tokens/s) and time to first token of the engine at
// batch 1, 8, 64 and 256 on the tiny and small (~25.7M-layer-parameter) presets, against a plain
// PyTorch Python loop with a KV cache over the same architecture (bench/generate_ref.py) in the
// same run; then a mixed workload (very different lengths): continuous batching against static
// batches (each batch waits for its longest sequence), same outputs, speed ratio.
//
//   build/bench_generate [--quick] [--only PRESET:BATCH] [--no-python] [--linear-rows R] [--broadcast-rows R]
// --only and --no-python time one case of arlt alone (for profiling); --linear-rows sets the
// rows up to which linear layers run the hand-written kernel (0: all on the BLAS);
// --broadcast-rows forces the kernel's broadcast form from R rows on (a huge R: never).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <unistd.h>

#include "arlt/base/fs.h"
#include "arlt/base/runtime.h"
#include "arlt/engine/engine.h"
#include "arlt/model/cpu_kernels.h"
#include "bench_util.h"

using namespace arlt;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

engine::Request greedy_request(int64_t prompt_len, int64_t new_tokens, int64_t vocab, std::mt19937_64& rng) {
  engine::Request r;
  for (int64_t i = 0; i < prompt_len; ++i) r.prompt.push_back(static_cast<int64_t>(rng() % vocab));
  r.params.temperature = 0.0;
  r.params.max_tokens = new_tokens;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, python = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--no-python")) python = false;
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--linear-rows") && i + 1 < argc) model::set_linear_kernel_rows(std::atoll(argv[++i]));
    else if (!std::strcmp(argv[i], "--broadcast-rows") && i + 1 < argc) model::set_linear_broadcast_rows(std::atoll(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_generate [--quick] [--only PRESET:BATCH] [--no-python] [--linear-rows R] [--broadcast-rows R]\n");
      return 2;
    }
  }
  const auto& rt = init_runtime();
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048}), c = torch::empty({2048, 2048});
  torch::mm_out(c, a, b);
  auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) torch::mm_out(c, a, b);
  const double peak = 5 * 2.0 * 2048.0 * 2048.0 * 2048.0 / secs(t0, Clock::now()) / 1e9;

  const int64_t P = 32, N = 32;
  std::printf("## bench/generate\n\nmachine: %s, %d threads, BLAS: %s; peak fp32 matmul %.0f GFLOP/s\n", bench::cpu_name().c_str(),
              rt.threads, rt.blas.c_str(), peak);
  std::printf("greedy decoding, prompt %lld tokens, %lld new tokens per sequence, fp32; reference: bench/generate_ref.py "
              "(PyTorch Python loop with a preallocated KV cache, same architecture and sizes)\n\n",
              (long long)P, (long long)N);
  std::printf("| model | batch | arlt decode tok/s | Python loop tok/s | ratio | Python, arlt's malloc tok/s | ratio | arlt TTFT s | Python TTFT s | arlt MFU | KV bytes/token |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::string> presets = {"tiny", "small"};
  std::vector<int64_t> batches = {1, 8, 64, 256};
  if (quick) presets = {"tiny"}, batches = {1, 8};
  for (const auto& preset : presets) {
    auto config = model::ModelConfig::preset(preset);
    config.eos_token_ids.clear();  // random weights: never stop early, every sequence makes N tokens
    auto m = std::make_shared<model::Transformer>(config);
    m->init_random(0);
    const std::string cfg_path = "/tmp/arlt_bench_gen_" + preset + "_" + std::to_string(getpid()) + ".json";
    write_json_file(cfg_path, config.to_json());
    for (int64_t B : batches) {
      if (!only.empty() && only != preset + ":" + std::to_string(B)) continue;
      engine::EngineOptions eo;
      eo.max_seqs = B;
      eo.max_seq_len = P + N + 8;
      eo.max_batch_tokens = B * (P + 1);  // every prompt prefilled in the first step, as the Python loop does
      engine::Engine eng(m, nullptr, eo);
      std::mt19937_64 rng(B);
      {  // warm-up
        engine::Engine w(m, nullptr, eo);
        w.submit(greedy_request(P, 4, config.vocab_size, rng));
        w.run();
      }
      for (int64_t i = 0; i < B; ++i) eng.submit(greedy_request(P, N, config.vocab_size, rng));
      // First step: prefill of every prompt + the first token each (+ one decode step).
      auto s0 = Clock::now();
      eng.step();
      auto s1 = Clock::now();
      const int64_t after_first = eng.generated_tokens();
      while (!eng.idle()) eng.step();
      auto s2 = Clock::now();
      if (std::getenv("ARLT_BENCH_DECODE_WINDOW")) {  // for `perf record -k CLOCK_MONOTONIC` + `perf report --time A,B`
        const auto mono = [](Clock::time_point t) {
          return std::chrono::duration<double>(t.time_since_epoch()).count();
        };
        std::fprintf(stderr, "decode window: %.6f,%.6f\n", mono(s1), mono(s2));
      }
      const double decode_tps = (eng.generated_tokens() - after_first) / secs(s1, s2);
      const double ttft = secs(s0, s1);
      const double flops = config.flops_per_token() + 2.0 * config.num_hidden_layers * config.q_size() * (P + N / 2) * 2;
      const std::string args = " " + std::string(ARLT_SOURCE_DIR) + "/bench/generate_ref.py --config " + cfg_path +
                               " --batch " + std::to_string(B) + " --prompt-len " + std::to_string(P) + " --new-tokens " +
                               std::to_string(N) + " --threads " + std::to_string(rt.threads) + " 2>/dev/null";
      nlohmann::json ref, tuned;
      if (python) {
        ref = bench::last_json(bench::run("/usr/bin/python3" + args));
        // The same loop given arlt's malloc settings.
        tuned = bench::last_json(bench::run(std::string(bench::kArltMallocEnv) + "/usr/bin/python3" + args));
      }
      const double ref_tps = ref.is_null() ? 0 : ref.value("decode_tokens_per_s", 0.0);
      const double tuned_tps = tuned.is_null() ? 0 : tuned.value("decode_tokens_per_s", 0.0);
      const double ref_ttft = ref.is_null() ? 0 : ref.value("ttft_s", 0.0);
      std::printf("| %s (%.1fM) | %lld | %.0f | %.0f | %.2fx | %.0f | %.2fx | %.3f | %.3f | %.1f%% | %lld |\n", preset.c_str(),
                  config.num_parameters() / 1e6, (long long)B, decode_tps, ref_tps, ref_tps > 0 ? decode_tps / ref_tps : 0.0,
                  tuned_tps, tuned_tps > 0 ? decode_tps / tuned_tps : 0.0, ttft, ref_ttft, 100.0 * decode_tps * flops / (peak * 1e9), (long long)eng.kv_bytes_per_token());
      std::fflush(stdout);
    }
    std::remove(cfg_path.c_str());
  }

  // Mixed workload: 64 requests, new tokens from 4 to 124, 16 slots.
  if (only.empty()) {
    auto config = model::ModelConfig::preset("tiny");
    config.eos_token_ids.clear();
    auto m = std::make_shared<model::Transformer>(config);
    m->init_random(1);
    const int64_t slots = 16, count = quick ? 32 : 64;
    std::mt19937_64 rng(5);
    std::vector<engine::Request> reqs;
    for (int64_t i = 0; i < count; ++i) reqs.push_back(greedy_request(16, 4 + static_cast<int64_t>(rng() % 121), config.vocab_size, rng));
    engine::EngineOptions eo;
    eo.max_seqs = slots;
    eo.max_seq_len = 16 + 128 + 8;
    {  // warm-up (first touch of the cache and the kernels), not timed
      engine::Engine w(m, nullptr, eo);
      for (int64_t i = 0; i < slots; ++i) w.submit(reqs[static_cast<size_t>(i)]);
      w.run();
    }
    auto c0 = Clock::now();
    engine::Engine cont(m, nullptr, eo);
    for (auto r : reqs) cont.submit(r);
    auto out_cont = cont.run();
    auto c1 = Clock::now();
    std::vector<engine::Completion> out_static;
    for (int64_t g = 0; g < count; g += slots) {  // static: the next batch starts when the whole batch is done
      engine::Engine st(m, nullptr, eo);
      for (int64_t i = g; i < std::min(count, g + slots); ++i) st.submit(reqs[i]);
      auto part = st.run();
      out_static.insert(out_static.end(), part.begin(), part.end());
    }
    auto c2 = Clock::now();
    bool same = out_cont.size() == out_static.size();
    for (size_t i = 0; same && i < out_cont.size(); ++i) same = out_cont[i].tokens == out_static[i].tokens;
    std::printf("\nmixed workload (tiny, %lld requests, 4-124 new tokens, %lld slots): continuous %.2f s, static batches %.2f s, "
                "speed-up %.2fx, identical outputs: %s\n",
                (long long)count, (long long)slots, secs(c0, c1), secs(c1, c2), secs(c1, c2) / secs(c0, c1), same ? "yes" : "NO");
  }
  return 0;
}
