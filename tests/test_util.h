// Shared helpers for the tests: temp folders, running commands, tiny models.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "arlt/model/transformer.h"

namespace arlt::test {

// A fresh folder under /tmp named after the running test, removed when it goes out of scope.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("arlt_") + (info ? info->test_suite_name() : "t") + "_" +
                       (info ? info->name() : "x") + "_" + std::to_string(::getpid());
    for (auto& c : name)
      if (c == '/') c = '_';
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::string string() const { return path_.string(); }
  operator const std::filesystem::path&() const { return path_; }
  std::string operator/(const std::string& p) const { return (path_ / p).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Every parameter drawn from N(mean, std) (mean 1 for norm weights): larger than the 0.02 of
// init so attention is far from uniform and position mistakes move the logits visibly.
inline void randomize(model::Transformer& m, uint64_t seed, double std = 0.1) {
  torch::NoGradGuard ng;
  torch::manual_seed(seed);
  for (auto& p : m.named_parameters(true)) {
    const bool is_norm = p.key().find("norm.weight") != std::string::npos;
    p.value().copy_(torch::randn(p.value().sizes()) * std + (is_norm ? 1.0 : 0.0));
  }
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace arlt::test
