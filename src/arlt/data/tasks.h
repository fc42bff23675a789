// Built-in tasks: problems generated on the fly, each with an exact verifier, so RL can run
// with no dataset download. Prompts are compact because the demo model is a tiny byte-level
// model that learns the format from scratch. docs/tasks.md describes every format.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/data/dataset.h"

namespace arlt::data {

// Draws `count` examples of a built-in task. split "train" or "test": the two are disjoint
// (a hash of the problem puts about 10% of the problem space in test), each deterministic in
// seed, and a shorter draw is a prefix of a longer one with the same seed. params: the task's
// options (a JSON object or null); an unknown option or one out of range throws Error.
std::vector<Example> make_task_examples(const std::string& task, const std::string& split, int64_t count,
                                        uint64_t seed, const nlohmann::json& params = nlohmann::json::object());

std::vector<std::string> task_names();  // "addition", "multiplication", "countdown", "format"
// Their verifiers (answer extraction, exact checks) live in reward/verifiers.h.

}  // namespace arlt::data
