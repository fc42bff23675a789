// Training examples and the JSONL dataset format. Built-in tasks (tasks.h) produce the same
// Example, so the trainer reads a file or a generator alike.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::data {

struct Example {
  std::string prompt;        // text given to the model ("" when messages is set)
  std::string ground_truth;  // what the verifier checks against
  std::string task;          // task name ("addition", ...); for JSONL the line's "task" or ""
  nlohmann::json messages;   // chat messages (array of {role, content}) when the line had them; null otherwise
  std::vector<int64_t> prompt_ids;  // a pre-tokenised prompt ("prompt_ids" in JSONL); used as is
  nlohmann::json extra_fields = nlohmann::json::object();  // "extra_fields" (VerlTool) or "extra_info" (verl): for the tools
  std::string data_source;          // verl's "data_source" ("" when absent)
};

// One JSON object per line, blank lines skipped:
//   prompt_key: a string, or an array of {role, content} messages (verl's layout), or
//   "messages": an array of {role, content} (then prompt is "");
//   answer_key: a string or a number (numbers become their shortest text: 42 -> "42", 0.5 -> "0.5");
//   "task": optional string; "data_source": optional string (verl);
//   "extra_fields" (VerlTool) or "extra_info" (verl): an optional object handed to the tools
//   (db_path, stdin, ...), "extra_fields" first when both are there;
//   or "prompt_ids": an array of token ids instead of a prompt (used as is, no tokenizer).
// A key that is not found and contains '.' is read as a path ("reward_model.ground_truth").
// Errors name the file and line, the key, what was found and what was expected.
std::vector<Example> load_jsonl_dataset(const std::string& path, const std::string& prompt_key = "prompt",
                                        const std::string& answer_key = "ground_truth");

}  // namespace arlt::data
