// The calculator tool: <calculator>EXPR</calculator>, EXPR of integers, + - * /, unary minus and
// parentheses, evaluated exactly (base/rational.h: no float rounding); the observation is
// "\n<result>\nVALUE\n</result>\n" with VALUE an integer or a reduced fraction ("7/2"), or an
// error line (division by zero, overflow, a malformed expression). Runs in-process: no sandbox,
// microseconds a call.
#pragma once
#include <string>

#include "arlt/tools/tool.h"

namespace arlt::tools {

// The value of `expr` as text ("56088", "-7/2"), or "" with *error set.
std::string evaluate_exactly(const std::string& expr, std::string* error);

class CalculatorTool : public Tool {
 public:
  std::string name() const override { return "calculator"; }
  std::string description() const override { return "Exact arithmetic: <calculator>123*456</calculator>."; }
  bool accepts(const std::string& action) const override;
  Observation execute(const std::string& action, const ToolContext& context) override;
};

}  // namespace arlt::tools
