// Chat templates: turning a conversation into prompt text the way Hugging Face's
// tokenizer.apply_chat_template(messages, tools=..., tokenize=False) does, with arlt's own
// Jinja interpreter (jinja/jinja.h), plus a few built-in templates.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arlt/jinja/jinja.h"

namespace arlt::tokenizer {

struct ChatOptions {
  bool add_generation_prompt = false;
  // Passed to the template only when set (Qwen3 reads `enable_thinking is defined`).
  std::optional<bool> enable_thinking;
  // Passed only when non-empty, as transformers passes only the special tokens a tokenizer has.
  std::string bos_token, eos_token;
  // More template variables (transformers' **kwargs). They may override bos_token / eos_token /
  // enable_thinking but not messages, tools, documents or add_generation_prompt (an error).
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

// Renders a chat template. `messages`: an array of {role, content, and optionally tool_calls
// [{type, function: {name, arguments}}], reasoning_content, name, tool_call_id}. `tools`: an
// array of JSON schemas, or null when no tools are given. The template sees, as in
// transformers: messages, tools (none when null), documents (none), add_generation_prompt,
// bos_token / eos_token, enable_thinking, the `extra` variables, and the functions
// raise_exception(msg) and strftime_now(format).
//
// Key order of the inputs reaches the text (tojson of tool schemas and arguments), so they are
// ordered_json; parse them from text to keep the order they were written in.
std::string render_chat_template(const jinja::Template& tmpl, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools, const ChatOptions& options);
// Parses and renders; parse once with jinja::Template::parse when rendering many prompts.
std::string render_chat_template(const std::string& template_source, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools, const ChatOptions& options);

// Built-in templates, written for arlt: "chatml" (<|im_start|>role\ncontent<|im_end|>\n),
// "llama3" (Llama 3 instruct headers; tools as JSON in the system turn), "qwen3" (renders what
// Qwen3's own template renders: <think> blocks, <tool_call> JSON, tool responses). Throws
// arlt::Error for an unknown name, listing the known ones.
const std::string& builtin_chat_template(const std::string& name);
std::vector<std::string> builtin_chat_template_names();

}  // namespace arlt::tokenizer
