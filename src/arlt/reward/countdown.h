// Countdown's verifier: an expression over the given numbers, evaluated exactly (rational.h),
// against the target of a ground truth "target|n1,n2,...". The task's generator is data/countdown.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace arlt::reward {

// Reads "22|3,5,7" (non-negative integers below 10^18); throws Error when malformed.
void parse_countdown_ground_truth(const std::string& ground_truth, int64_t* target,
                                  std::vector<int64_t>* numbers);

// 1.0 when `expression` (integers, + - * / ( ), spaces) uses only the given numbers, each at
// most as often as it is given, and equals the target exactly; otherwise 0.0, never a throw
// for a bad expression (malformed, division by zero, overflow, nesting deeper than 64).
// Throws Error only for a malformed ground truth.
double verify_countdown(const std::string& expression, const std::string& ground_truth);

}  // namespace arlt::reward
