#include "arlt/data/tasks.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "arlt/base/error.h"
#include "arlt/data/countdown.h"
#include "arlt/base/rng.h"
#include "arlt/base/suggest.h"

namespace arlt::data {
namespace {

// Short common words: a byte-level model learns to copy them into tags within a few steps.
const char* const kWords[] = {
    "cat", "dog", "sun", "map", "cup", "hat", "box", "pen", "key", "car", "bus", "egg", "fox",
    "owl", "bee", "ant", "red", "sky", "sea", "ice", "oak", "elm", "fig", "jam", "tea", "pie",
    "cod", "eel", "yak", "emu", "gnu", "ram", "bat", "cow", "pig", "hen", "rat", "elk", "ape",
    "kid", "man", "boy", "toy", "top", "bag", "net", "web", "jar", "pot", "pan", "lid", "rug",
    "bed", "mat", "log", "hut", "fan", "gem", "ink", "orb", "van", "zip", "arm", "leg"};
constexpr uint64_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

constexpr int64_t kMaxCount = 10'000'000;
// Consecutive draws that fall in the other split before giving up: only a problem space too
// small to have members in this split gets there.
constexpr int kMaxMisses = 20000;

// Reads a task's options: each a bounded integer; a key the task does not know is an error.
class Params {
 public:
  Params(const std::string& task, const nlohmann::json& j, const std::vector<std::string>& known)
      : task_(task), j_(j) {
    if (j.is_null()) return;
    if (!j.is_object()) {
      throw Error("task \"" + task + "\": params is " + j.dump() + "; expected a JSON object");
    }
    for (const auto& item : j.items()) {
      if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
        throw Error("task \"" + task + "\": unknown param \"" + item.key() + "\"" +
                    unknown_name_hint(item.key(), known));
      }
    }
  }

  int64_t get(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
    if (j_.is_null() || !j_.contains(key)) return fallback;
    const auto& v = j_.at(key);
    bool integral = v.is_number_integer() || (v.is_number_float() && std::nearbyint(v.get<double>()) == v.get<double>());
    if (!integral || v.get<double>() < static_cast<double>(lo) || v.get<double>() > static_cast<double>(hi)) {
      throw Error("task \"" + task_ + "\": param \"" + key + "\" is " + v.dump() + "; expected an integer in [" +
                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v.get<int64_t>();
  }

 private:
  std::string task_;
  const nlohmann::json& j_;
};

// One drawn problem and the text that decides its split: equal problems written differently
// (37+45 and 45+37, the same numbers in another order) share a key, so they share a split.
struct Drawn {
  Example example;
  std::string key;
};
using Drawer = std::function<Drawn(Rng&)>;

int64_t pow10(int64_t d) {
  int64_t p = 1;
  while (d-- > 0) p *= 10;
  return p;
}

// Exactly d digits: 0..9 for d = 1, no leading zero otherwise.
int64_t draw_digits(Rng& rng, int64_t d) {
  return d == 1 ? rng.range(0, 9) : rng.range(pow10(d - 1), pow10(d) - 1);
}

Drawer arithmetic_drawer(const std::string& task, const nlohmann::json& params) {
  bool add = task == "addition";
  Params p(task, params, add ? std::vector<std::string>{"digits", "min_digits"}
                             : std::vector<std::string>{"digits", "second_digits"});
  int64_t digits = p.get("digits", 2, 1, 9);
  int64_t low = add ? p.get("min_digits", digits, 1, digits) : digits;
  int64_t second = add ? -1 : p.get("second_digits", 1, 1, 9);
  return [=](Rng& rng) {
    int64_t a = draw_digits(rng, rng.range(low, digits));
    int64_t b = draw_digits(rng, add ? rng.range(low, digits) : second);
    std::string op = add ? "+" : "*";
    Drawn d;
    d.example.prompt = std::to_string(a) + op + std::to_string(b) + "=";
    d.example.ground_truth = std::to_string(add ? a + b : a * b);
    d.example.task = task;
    d.key = task + ":" + std::to_string(std::min(a, b)) + op + std::to_string(std::max(a, b));
    return d;
  };
}

Drawer countdown_drawer(const nlohmann::json& params) {
  Params p("countdown", params, {"numbers", "max_number", "target_max"});
  int count = static_cast<int>(p.get("numbers", 3, 2, 6));
  int64_t max_number = p.get("max_number", 9, 1, 1'000'000);
  int64_t target_max = p.get("target_max", 100, 1, 1'000'000'000);
  return [=](Rng& rng) {
    CountdownProblem cp = draw_countdown_problem(rng.next(), count, max_number, target_max);
    Drawn d;
    d.example.prompt = countdown_prompt(cp.numbers, cp.target);
    d.example.ground_truth = countdown_ground_truth(cp.numbers, cp.target);
    d.example.task = "countdown";
    std::vector<int64_t> sorted = cp.numbers;
    std::sort(sorted.begin(), sorted.end());
    d.key = "countdown:" + countdown_ground_truth(sorted, cp.target);
    return d;
  };
}

Drawer format_drawer(const nlohmann::json& params) {
  Params p("format", params, {"words"});
  int64_t words = p.get("words", 2, 1, 4);
  return [=](Rng& rng) {
    Drawn d;
    std::string listed;
    for (int64_t i = 0; i < words; ++i) {
      std::string w = kWords[rng.below(kWordCount)];
      listed += " " + w;
      d.example.ground_truth += "<" + w + ">";
    }
    d.example.prompt = "wrap" + listed + ":";
    d.example.task = "format";
    d.key = "format:" + d.example.prompt;
    return d;
  };
}

bool in_test_split(const std::string& key) { return hash_text(key) % 10 == 0; }

void check_known_task(const std::string& task) {
  auto names = task_names();
  if (std::find(names.begin(), names.end(), task) == names.end()) {
    throw Error("unknown task \"" + task + "\"" + unknown_name_hint(task, names));
  }
}

}  // namespace

std::vector<std::string> task_names() { return {"addition", "multiplication", "countdown", "format"}; }

std::vector<Example> make_task_examples(const std::string& task, const std::string& split, int64_t count,
                                        uint64_t seed, const nlohmann::json& params) {
  check_known_task(task);
  if (split != "train" && split != "test") {
    throw Error("task \"" + task + "\": split \"" + split + "\"; expected \"train\" or \"test\"");
  }
  if (count < 0 || count > kMaxCount) {
    throw Error("task \"" + task + "\": count " + std::to_string(count) + "; expected 0.." +
                std::to_string(kMaxCount));
  }
  Drawer draw = task == "countdown" ? countdown_drawer(params)
                : task == "format"  ? format_drawer(params)
                                    : arithmetic_drawer(task, params);
  const bool want_test = split == "test";
  Rng rng(mix64(seed ^ hash_text(task + "/" + split)));
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(out.size()) < count) {
    for (int misses = 0;; ++misses) {
      if (misses == kMaxMisses) {
        throw Error("task \"" + task + "\": no " + split + " problem in " + std::to_string(kMaxMisses) +
                    " draws with params " + (params.is_null() ? "{}" : params.dump()) +
                    "; expected params that leave more problems (about 10% of them are test)");
      }
      Drawn d = draw(rng);
      if (in_test_split(d.key) == want_test) {
        out.push_back(std::move(d.example));
        break;
      }
    }
  }
  return out;
}

}  // namespace arlt::data
