// bench/forward: tokens/s of an inference forward and of a training forward+backward, arlt (C++)
// against the same computation in PyTorch's Python API (bench/forward_ref.py, Debian's
// python3-torch) in the same run, on the tiny and the small (~25.7M-layer-parameter) presets.
// Prints a Markdown table with the ratio and the model FLOPs utilisation against the peak of a
// 2048^3 fp32 matmul measured here.
//
//   build/bench_forward [--iters N] [--quick]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "arlt/base/fs.h"
#include "bench_util.h"
#include "arlt/base/runtime.h"
#include "arlt/model/transformer.h"

using namespace arlt;

namespace {

double mean_seconds(const std::function<void()>& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

nlohmann::json python_ref(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + std::string(ARLT_SOURCE_DIR) + "/bench/forward_ref.py " + args;
  std::string out = bench::run(cmd);
  auto pos = out.rfind('{');
  if (pos == std::string::npos) {
    std::fprintf(stderr, "python reference failed: %s\n%s\n", cmd.c_str(), out.c_str());
    return nullptr;
  }
  return nlohmann::json::parse(out.substr(pos));
}

struct Row {
  std::string model, mode;
  double arlt, ref, mfu;
};

}  // namespace

int main(int argc, char** argv) {
  int iters = 5;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  const auto& rt = init_runtime();
  const int threads = rt.threads;

  // Peak: a large fp32 matmul, here and in Python.
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048}), c = torch::empty({2048, 2048});
  const double peak = 2.0 * 2048.0 * 2048.0 * 2048.0 / mean_seconds([&] { torch::mm_out(c, a, b); }, 2, 5) / 1e9;
  auto ref_peak = python_ref("--peak --threads " + std::to_string(threads));

  struct Case {
    std::string preset;
    int64_t batch, seq;
  };
  std::vector<Case> cases = {{"tiny", 8, 128}, {"small", 4, 128}};
  if (quick) cases.resize(1);
  std::vector<Row> rows;
  for (const auto& cs : cases) {
    auto config = model::ModelConfig::preset(cs.preset);
    model::Transformer m(config);
    m.init_random(0);
    torch::Tensor ids = torch::randint(0, config.vocab_size, {cs.batch, cs.seq}, torch::kInt64);
    const double tokens = static_cast<double>(cs.batch * cs.seq);
    const double infer_s = mean_seconds([&] {
      torch::NoGradGuard ng;
      m.forward(ids);
    }, 2, iters);
    const double train_s = mean_seconds([&] {
      m.zero_grad(true);
      torch::Tensor logits = m.forward(ids);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.narrow(1, 0, cs.seq - 1).reshape({-1, config.vocab_size}), ids.narrow(1, 1, cs.seq - 1).reshape({-1}));
      loss.backward();
    }, 2, iters);

    // Attention scores and the weighted sum add 4*T*layers*q_size FLOPs a token on average
    // (causal halves the T^2 term: 2 matmuls x 2 FLOPs x T/2 keys).
    const double attn = 2.0 * config.num_hidden_layers * static_cast<double>(config.q_size()) * cs.seq;
    const double fwd_flops = config.flops_per_token() + attn;
    const std::string cfg_path = "/tmp/arlt_bench_" + cs.preset + "_" + std::to_string(::getpid()) + ".json";
    write_json_file(cfg_path, config.to_json());
    auto ref = python_ref("--config " + cfg_path + " --batch " + std::to_string(cs.batch) + " --seq " +
                          std::to_string(cs.seq) + " --warmup 2 --iters " + std::to_string(iters) +
                          " --threads " + std::to_string(threads));
    std::remove(cfg_path.c_str());
    const double ref_infer = ref.is_null() ? 0 : ref["infer_tokens_per_s"].get<double>();
    const double ref_train = ref.is_null() ? 0 : ref["train_tokens_per_s"].get<double>();
    char name_buf[128];
    std::snprintf(name_buf, sizeof name_buf, "%s (%.1fM, B=%lld, T=%lld)", cs.preset.c_str(),
                  config.num_parameters() / 1e6, (long long)cs.batch, (long long)cs.seq);
    const std::string name = name_buf;
    rows.push_back({name, "inference forward", tokens / infer_s, ref_infer, fwd_flops * tokens / infer_s / (peak * 1e9)});
    rows.push_back({name, "train fwd+bwd", tokens / train_s, ref_train, 3 * fwd_flops * tokens / train_s / (peak * 1e9)});
  }

  std::printf("## bench/forward\n\n");
  std::printf("machine: %s, %d threads, BLAS: %s\n", bench::cpu_name().c_str(), threads, rt.blas.c_str());
  std::printf("libtorch %s (C++) vs PyTorch Python API (bench/forward_ref.py), fp32, %d timed iterations after 2 warm-up\n",
              TORCH_VERSION, iters);
  std::printf("peak fp32 matmul (2048^3): %.1f GFLOP/s in C++, %.1f GFLOP/s in Python\n\n", peak,
              ref_peak.is_null() ? 0.0 : ref_peak["peak_gflops"].get<double>());
  std::printf("| model | pass | arlt tokens/s | PyTorch Python tokens/s | ratio | arlt MFU |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const auto& r : rows)
    std::printf("| %s | %s | %.0f | %.0f | %.2fx | %.1f%% |\n", r.model.c_str(), r.mode.c_str(), r.arlt, r.ref,
                r.ref > 0 ? r.arlt / r.ref : 0.0, 100 * r.mfu);
  return 0;
}
