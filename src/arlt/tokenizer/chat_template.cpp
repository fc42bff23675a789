#include "arlt/tokenizer/chat_template.h"

#include <map>

#include "arlt/base/error.h"

namespace arlt::tokenizer {
namespace {

// ChatML, as Qwen2 / OpenHermes / many fine-tunes use it. Content given as a list of parts
// (the multimodal message format) contributes its text parts.
const char* const kChatml = R"JINJA({%- for message in messages %}
    {{- '<|im_start|>' + message.role + '\n' }}
    {%- if message.content is string %}
        {{- message.content }}
    {%- elif message.content is iterable %}
        {%- for part in message.content if part.type == 'text' %}
            {{- part.text }}
        {%- endfor %}
    {%- endif %}
    {{- '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
)JINJA";

// Llama 3 instruct: without tools the same text as Meta's Llama-3-Instruct template. With
// tools, a system turn lists them (JSON, 4-space indent, as Llama 3.1 does), an assistant tool
// call is {"name": ..., "parameters": ...}, and tool results come back in the ipython role.
const char* const kLlama3 = R"JINJA({%- set ns = namespace(first=0) %}
{%- if tools %}
    {{- bos_token }}
    {{- '<|start_header_id|>system<|end_header_id|>\n\n' }}
    {%- if messages and messages[0].role == 'system' %}
        {{- messages[0].content | trim + '\n\n' }}
        {%- set ns.first = 1 %}
    {%- endif %}
    {{- 'You have access to the following functions. To call a function, respond with a JSON object of the form {"name": function name, "parameters": dictionary of argument name and its value}.\n\n' }}
    {%- for tool in tools %}
        {{- tool | tojson(indent=4) + '\n\n' }}
    {%- endfor %}
    {{- '<|eot_id|>' }}
{%- endif %}
{%- for message in messages[ns.first:] %}
    {%- if loop.first and not tools %}
        {{- bos_token }}
    {%- endif %}
    {{- '<|start_header_id|>' + ('ipython' if message.role == 'tool' else message.role) + '<|end_header_id|>\n\n' }}
    {%- if message.tool_calls %}
        {%- for tool_call in message.tool_calls %}
            {%- set call = tool_call.function if tool_call.function is defined else tool_call %}
            {%- if not loop.first %}
                {{- '\n' }}
            {%- endif %}
            {{- '{"name": "' }}{{ call.name }}{{ '", "parameters": ' }}
            {{- call.arguments if call.arguments is string else call.arguments | tojson }}
            {{- '}' }}
        {%- endfor %}
    {%- elif message.content is string %}
        {{- message.content | trim }}
    {%- endif %}
    {{- '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)JINJA";

// Qwen3: renders the same text as Qwen3's own template (the parity test checks), restructured.
// Reasoning is shown only for assistant turns after the last real user query; tool calls are
// <tool_call> JSON; consecutive tool results share one user turn; enable_thinking=false adds
// an empty think block to the generation prompt. Content that is not a string counts as "".
const char* const kQwen3 = R"JINJA({%- set has_system = messages and messages[0].role == 'system' %}
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if has_system %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- '# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' + tool | tojson }}
    {%- endfor %}
    {{- '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- elif has_system %}
    {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{#- The last user turn that is a query, not tool output handed back as a user message. #}
{%- set ns = namespace(last_query=messages | length - 1) %}
{%- for message in messages %}
    {%- if message.role == 'user' and not (message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.last_query = loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set content = message.content if message.content is string else '' %}
        {%- set reasoning = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query and (loop.last or reasoning) %}
            {{- '<|im_start|>assistant\n<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
        {%- else %}
            {{- '<|im_start|>assistant\n' + content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls or [] %}
            {%- if content or not loop.first %}
                {{- '\n' }}
            {%- endif %}
            {%- set call = tool_call.function if tool_call.function else tool_call %}
            {{- '<tool_call>\n{"name": "' }}{{ call.name }}{{ '", "arguments": ' }}
            {{- call.arguments if call.arguments is string else call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or loop.previtem.role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}{{ message.content }}{{ '\n</tool_response>' }}
        {%- if loop.last or loop.nextitem.role != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}
)JINJA";

const std::map<std::string, std::string>& builtins() {
  static const std::map<std::string, std::string> m = {{"chatml", kChatml}, {"llama3", kLlama3}, {"qwen3", kQwen3}};
  return m;
}

}  // namespace

std::string render_chat_template(const jinja::Template& tmpl, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools, const ChatOptions& options) {
  if (!messages.is_array())
    throw Error(tmpl.name() + ": messages must be a JSON array of {role, content}, got " + std::string(messages.type_name()));
  if (!tools.is_null() && !tools.is_array())
    throw Error(tmpl.name() + ": tools must be a JSON array of schemas or null, got " + std::string(tools.type_name()));
  if (!options.extra.is_object())
    throw Error(tmpl.name() + ": ChatOptions::extra must be a JSON object, got " + std::string(options.extra.type_name()));
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["tools"] = tools;  // transformers passes tools=None when there are none
  context["documents"] = nullptr;
  context["add_generation_prompt"] = options.add_generation_prompt;
  if (!options.bos_token.empty()) context["bos_token"] = options.bos_token;
  if (!options.eos_token.empty()) context["eos_token"] = options.eos_token;
  if (options.enable_thinking) context["enable_thinking"] = *options.enable_thinking;
  for (auto it = options.extra.begin(); it != options.extra.end(); ++it) {
    // transformers passes these as arguments of their own; a kwarg of the same name is a
    // TypeError there, so it is an error here too rather than a silent override.
    for (const char* reserved : {"messages", "tools", "documents", "add_generation_prompt"})
      if (it.key() == reserved)
        throw Error(tmpl.name() + ": ChatOptions::extra may not set '" + it.key() +
                    "'; it is an argument of render_chat_template / a field of ChatOptions");
    context[it.key()] = it.value();
  }
  return tmpl.render(context);
}

std::string render_chat_template(const std::string& template_source, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools, const ChatOptions& options) {
  return render_chat_template(jinja::Template::parse(template_source), messages, tools, options);
}

const std::string& builtin_chat_template(const std::string& name) {
  auto it = builtins().find(name);
  if (it == builtins().end()) {
    std::string known;
    for (const auto& n : builtin_chat_template_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown built-in chat template '" + name + "'; known: " + known);
  }
  return it->second;
}

std::vector<std::string> builtin_chat_template_names() {
  std::vector<std::string> names;
  for (const auto& kv : builtins()) names.push_back(kv.first);
  return names;
}

}  // namespace arlt::tokenizer
