// Answer extraction and exact verification for the built-in tasks (data/tasks.h generates them)
// and for plain-text answers. Torch-free; the rewards exact_match and format are built on them.
#pragma once
#include <string>
#include <vector>

namespace arlt::reward {

// The tasks verify() knows: "addition", "multiplication", "countdown", "format".
std::vector<std::string> verifier_tasks();

// 1.0 if `answer` (already extracted from the response) is correct for ground_truth, else 0.0.
// task "" compares text after trimming, or values when both are numbers ("0.5" == ".50").
// An unknown task, or a ground truth the task cannot read, throws Error; a bad answer never does.
double verify(const std::string& task, const std::string& answer, const std::string& ground_truth);

// Whether `answer` has the shape of the task's answers (digits for addition / multiplication,
// expression characters for countdown, tags for format, anything non-empty for "" or a task
// that is not built in). Used by the "format" reward.
bool answer_has_shape(const std::string& task, const std::string& answer);

// The answer part of a model response: the content of the last <answer>...</answer>, trimmed,
// if present; otherwise the first line, trimmed, with one trailing '.' removed.
std::string extract_answer(const std::string& response);

}  // namespace arlt::reward
