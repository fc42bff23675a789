// arlt demo: the built-in default job. Until the RL trainer lands (issue 5) it runs supervised
// warm-up of the tiny built-in model on two-digit addition (byte-level tokens) and reports
// exact-match accuracy on 200 problems drawn with another seed (the problem space is small, so
// this shows learning rather than generalisation), measured by batched greedy decoding with the KV cache,
// before and after training.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/cli/commands.h"
#include "arlt/model/hf_folder.h"

namespace arlt::cli {
namespace {

struct Problem {
  std::string prompt, answer;  // "37+45=", "82."
};

Problem make_problem(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> d(0, 99);
  int a = d(rng), b = d(rng);
  return {std::to_string(a) + "+" + std::to_string(b) + "=", std::to_string(a + b) + "."};
}

std::vector<int64_t> bytes_of(const std::string& s) { return std::vector<int64_t>(s.begin(), s.end()); }

// Greedy decoding of a batch of prompts, left-padded, with the KV cache.
std::vector<std::string> greedy(model::Transformer& m, const std::vector<Problem>& probs, int max_new) {
  torch::NoGradGuard ng;
  const int64_t B = static_cast<int64_t>(probs.size());
  int64_t L = 0;
  for (const auto& p : probs) L = std::max<int64_t>(L, static_cast<int64_t>(p.prompt.size()));
  torch::Tensor ids = torch::zeros({B, L}, torch::kInt64), mask = torch::zeros({B, L + max_new}, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = probs[b].prompt;
    const int64_t off = L - static_cast<int64_t>(s.size());
    for (size_t i = 0; i < s.size(); ++i) ids[b][off + static_cast<int64_t>(i)] = static_cast<int64_t>(s[i]);
    mask[b].narrow(0, off, L + max_new - off).fill_(1);
  }
  model::KVCache cache(m.config(), B, L + max_new, m.dtype());
  model::ForwardArgs a;
  a.input_ids = ids;
  a.attention_mask = mask.narrow(1, 0, L);
  a.cache = &cache;
  std::vector<std::string> out(B);
  torch::Tensor next = m.forward(a).select(1, L - 1).argmax(-1);
  for (int t = 0; t < max_new; ++t) {
    auto acc = next.accessor<int64_t, 1>();
    for (int64_t b = 0; b < B; ++b) out[b].push_back(static_cast<char>(acc[b] & 0xff));
    if (t + 1 == max_new) break;
    a.input_ids = next.unsqueeze(1);
    a.attention_mask = mask.narrow(1, 0, L + t + 1);
    next = m.forward(a).select(1, 0).argmax(-1);
  }
  for (auto& s : out) s = s.substr(0, s.find('.') == std::string::npos ? s.size() : s.find('.') + 1);
  return out;
}

double accuracy(model::Transformer& m, const std::vector<Problem>& test) {
  auto got = greedy(m, test, 4);
  int ok = 0;
  for (size_t i = 0; i < test.size(); ++i) ok += got[i] == test[i].answer;
  return 100.0 * ok / static_cast<double>(test.size());
}

}  // namespace

void add_demo(CLI::App& app) {
  struct Opts {
    std::string out = "runs/demo";
    int steps = 1200, batch = 64;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("demo", "train the tiny built-in model on a built-in task and show accuracy rising");
  sub->add_option("--out", o->out, "run folder")->capture_default_str();
  sub->add_option("--steps", o->steps, "training steps")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--batch", o->batch, "problems per step")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--seed", o->seed, "random seed")->capture_default_str();
  sub->callback([o] {
    namespace fs = std::filesystem;
    fs::create_directories(o->out);
    torch::manual_seed(o->seed);
    auto config = model::ModelConfig::preset("tiny");
    model::Transformer m(config);
    m.init_random(o->seed);

    std::mt19937_64 test_rng(o->seed * 7919 + 17), train_rng(o->seed);
    std::vector<Problem> test;
    for (int i = 0; i < 200; ++i) test.push_back(make_problem(test_rng));
    std::printf("demo: tiny %s, %lld parameters; task: two-digit addition (byte tokens)\n",
                config.architecture.c_str(), (long long)config.num_parameters());
    const double before = accuracy(m, test);
    std::printf("test accuracy before training: %5.1f%%\n", before);

    torch::optim::AdamW opt(m.parameters(), torch::optim::AdamWOptions(2e-3).weight_decay(0.01));
    std::ofstream metrics(fs::path(o->out) / "metrics.jsonl");
    const auto t0 = std::chrono::steady_clock::now();
    for (int step = 1; step <= o->steps; ++step) {
      // A batch of prompt+answer sequences, right-padded; loss on the answer tokens only.
      std::vector<Problem> batch;
      for (int i = 0; i < o->batch; ++i) batch.push_back(make_problem(train_rng));
      const int64_t T = 10;
      torch::Tensor ids = torch::zeros({o->batch, T}, torch::kInt64);
      torch::Tensor target = torch::full({o->batch, T}, -100, torch::kInt64);
      for (int b = 0; b < o->batch; ++b) {
        auto p = bytes_of(batch[b].prompt), a = bytes_of(batch[b].answer);
        std::vector<int64_t> seq = p;
        seq.insert(seq.end(), a.begin(), a.end());
        for (size_t i = 0; i < seq.size(); ++i) ids[b][static_cast<int64_t>(i)] = seq[i];
        for (size_t i = p.size(); i < seq.size(); ++i) target[b][static_cast<int64_t>(i) - 1] = seq[i];
      }
      const double lr_scale = std::min(1.0, step / 20.0) * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * step / o->steps)));
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(2e-3 * lr_scale);
      torch::Tensor logits = m.forward(ids);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.view({-1, config.vocab_size}), target.view({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
      opt.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(m.parameters(), 1.0);
      opt.step();
      char line[160];
      std::snprintf(line, sizeof line, "{\"step\": %d, \"loss\": %.5f}\n", step, loss.item<double>());
      metrics << line;
      if (step % 50 == 0 || step == o->steps) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("step %4d/%d  loss %.4f  (%.0fs)\n", step, o->steps, loss.item<double>(), secs);
        std::fflush(stdout);
      }
    }
    const double after = accuracy(m, test);
    std::printf("test accuracy after training:  %5.1f%%  (before %.1f%%, %+.1f points)\n", after, before, after - before);
    model::save_model(m, (fs::path(o->out) / "model").string());
    std::printf("model saved to %s/model; metrics in %s/metrics.jsonl\n", o->out.c_str(), o->out.c_str());
    if (after <= before) throw runtime_failure("demo: accuracy did not rise");
  });
}

}  // namespace arlt::cli
