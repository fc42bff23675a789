#include "arlt/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/model/hf_folder.h"

namespace arlt::train {
namespace fs = std::filesystem;

namespace {
int64_t step_of(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.rfind("step_", 0) != 0) return -1;
  const std::string digits = name.substr(5);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}
}  // namespace

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::exists(root)) return {};
  for (const auto& e : fs::directory_iterator(root)) {
    const int64_t s = step_of(e.path());
    if (s >= 0 && fs::exists(e.path() / "state.json")) found.emplace_back(s, e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::string latest_checkpoint(const std::string& run_dir) {
  auto all = list_checkpoints(run_dir);
  return all.empty() ? "" : all.back();
}

std::string save_checkpoint(const std::string& run_dir, int64_t step, model::Transformer& model,
                            torch::optim::Optimizer& optimizer, const nlohmann::json& state,
                            const std::string& tokenizer_dir, int64_t keep) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root);
  const fs::path final_dir = root / ("step_" + std::to_string(step));
  const fs::path tmp = root / (".tmp_step_" + std::to_string(step) + "_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    model::SaveOptions so;
    so.tokenizer_from = tokenizer_dir;
    model::save_model(model, (tmp / "model").string(), so);
    torch::save(optimizer, (tmp / "optimizer.pt").string());
    nlohmann::json s = state;
    s["step"] = step;
    write_json_file((tmp / "state.json").string(), s);
  } catch (const std::exception& e) {
    fs::remove_all(tmp);
    throw runtime_failure("writing checkpoint " + final_dir.string() + ": " + e.what());
  }
  // The old folder of the same step (a rerun) goes away only once the new one is complete.
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  if (keep > 0) {
    auto all = list_checkpoints(run_dir);
    for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(all[i]);
  }
  return final_dir.string();
}

nlohmann::json load_checkpoint_state(const std::string& dir, torch::optim::Optimizer& optimizer) {
  const fs::path d(dir);
  if (!fs::exists(d / "state.json")) throw Error("checkpoint " + dir + ": no state.json (not a complete checkpoint)");
  nlohmann::json state = read_json_file((d / "state.json").string());
  const fs::path opt = d / "optimizer.pt";
  if (!fs::exists(opt)) throw Error("checkpoint " + dir + ": optimizer.pt is missing");
  try {
    torch::load(optimizer, opt.string());
  } catch (const c10::Error& e) {
    throw Error("checkpoint " + opt.string() + ": cannot read the optimiser state: " + e.what_without_backtrace());
  }
  return state;
}

}  // namespace arlt::train
