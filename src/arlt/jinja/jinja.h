// A Jinja2 interpreter for Hugging Face chat templates.
//
// It renders what transformers' apply_chat_template renders: jinja2 with trim_blocks=True,
// lstrip_blocks=True, keep_trailing_newline=False and the loopcontrols extension, inside an
// ImmutableSandboxedEnvironment, on Python values. Supported: text, {{ }}, {% %}, {# #},
// whitespace control (- and +), raw blocks; literals, attribute / item access, slices, all
// operators, filters, tests, method calls of str / list / dict; if / for (else, loop.*, `if`
// filter, unpacking, break / continue) / set (names, tuples, namespace attributes, blocks) /
// macro / with / filter blocks / generation. Not supported (parse errors): include, import,
// extends, block, call, do, recursive loops.
//
// Dicts keep insertion order as Python does, and that order reaches the output through
// `tojson` and loops: pass nlohmann::ordered_json, parsed from text, when the order of keys
// (tool schemas, arguments) matters. nlohmann::json is accepted too, but it sorts keys.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace arlt::jinja {

namespace detail {
struct Program;
}

class Template {
 public:
  // Parses `source`; a syntax error or an unsupported construct throws arlt::Error whose
  // message names `name`, the line and the column.
  static Template parse(const std::string& source, const std::string& name = "chat_template");

  // Renders with the variables of `context` (a JSON object). Runtime errors (unknown method,
  // raise_exception(msg), type errors, use of an undefined value) throw arlt::Error naming the
  // line and column; raise_exception's message is included verbatim.
  std::string render(const nlohmann::ordered_json& context) const;
  std::string render(const nlohmann::json& context) const;

  const std::string& name() const;

 private:
  std::shared_ptr<const detail::Program> program_;
};

}  // namespace arlt::jinja
