#include "arlt/reward/reward.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

#include "arlt/base/error.h"
#include "arlt/base/suggest.h"
#include "arlt/reward/verifiers.h"

namespace arlt::reward {
namespace {

bool is_builtin_task(const std::string& task) {
  for (const auto& t : verifier_tasks())
    if (t == task) return true;
  return false;
}

// A task that is not built in (a JSONL "task" such as "gsm8k") is checked as plain text, so
// that a dataset from elsewhere scores without registering anything.
double exact_match(const RewardInput& in) {
  std::string task = is_builtin_task(in.task) ? in.task : "";
  return verify(task, extract_answer(in.response), in.ground_truth);
}

// A truncated response scores 0 even when its first line looks right: the policy must learn to stop.
double format(const RewardInput& in) {
  return in.finish_reason == "stop" && answer_has_shape(in.task, extract_answer(in.response)) ? 1.0
                                                                                                          : 0.0;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, RewardFn> functions{{"exact_match", exact_match}, {"format", format}};
};

// Built-ins are registered on first use; a function-local static is initialised once even
// when several threads arrive together.
Registry& registry() {
  static Registry r;
  return r;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Error unknown_reward(const std::string& name) {
  return Error("unknown reward \"" + name + "\"" + unknown_name_hint(name, reward_names()));
}

}  // namespace

void register_reward(const std::string& name, RewardFn fn) {
  if (name.empty() || name.find_first_of(",: ") != std::string::npos) {
    throw Error("register_reward: name \"" + name + "\"; expected a non-empty name without ',', ':' or spaces");
  }
  if (!fn) throw Error("register_reward: \"" + name + "\" has an empty function");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.functions[name] = std::move(fn);
}

bool has_reward(const std::string& name) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.functions.count(name) > 0;
}

std::vector<std::string> reward_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, fn] : r.functions) names.push_back(name);
  return names;
}

RewardResult score(const std::vector<RewardSpec>& specs, const RewardInput& in) {
  // Copies taken under the lock, called outside it: a slow reward must not block other threads.
  std::vector<RewardFn> fns;
  const std::string* missing = nullptr;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& spec : specs) {
      auto it = r.functions.find(spec.name);
      if (it == r.functions.end()) {
        missing = &spec.name;
        break;
      }
      fns.push_back(it->second);
    }
  }
  if (missing) throw unknown_reward(*missing);

  RewardResult result;
  result.components.assign(specs.size(), 0.0);
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string error;
    try {
      double v = fns[i](in);
      // NaN would poison every advantage in the group; count it like a throw.
      if (std::isfinite(v)) {
        result.components[i] = v;
      } else {
        error = "returned " + std::to_string(v);
      }
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "threw a non-standard exception";
    }
    if (!error.empty()) {
      if (result.errors++ == 0) result.first_error = specs[i].name + ": " + error;
      continue;
    }
    result.total += specs[i].weight * result.components[i];
  }
  return result;
}

std::vector<RewardSpec> parse_reward_specs(const std::string& text) {
  const std::string usage = "; expected name[:weight] items separated by commas, e.g. \"exact_match:1.0,format:0.2\"";
  std::vector<RewardSpec> specs;
  if (trim(text).empty()) throw Error("reward list \"" + text + "\" is empty" + usage);
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (item.empty()) throw Error("reward list \"" + text + "\" has an empty item" + usage);
    RewardSpec spec;
    size_t colon = item.find(':');
    spec.name = trim(item.substr(0, colon));
    if (colon != std::string::npos) {
      std::string w = trim(item.substr(colon + 1));
      char* end = nullptr;
      spec.weight = w.empty() ? NAN : std::strtod(w.c_str(), &end);
      if (w.empty() || *end != '\0' || !std::isfinite(spec.weight)) {
        throw Error("reward list \"" + text + "\": weight \"" + w + "\" of \"" + spec.name +
                    "\" is not a finite number" + usage);
      }
    }
    if (!has_reward(spec.name)) {
      throw Error("reward list \"" + text + "\": " + std::string(unknown_reward(spec.name).what()));
    }
    for (const auto& s : specs) {
      if (s.name == spec.name) throw Error("reward list \"" + text + "\" names \"" + spec.name + "\" twice");
    }
    specs.push_back(spec);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return specs;
}

}  // namespace arlt::reward
