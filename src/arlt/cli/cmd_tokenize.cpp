// arlt tokenize: text -> ids, ids -> text, chat -> prompt, with a model folder's tokenizer.
#include <filesystem>
#include <iostream>
#include <iterator>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/cli/commands.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/tokenizer.h"

namespace arlt::cli {
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

std::vector<int64_t> parse_ids(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(where + ": not a JSON array of token ids: " + e.what());
  }
  if (!j.is_array()) throw Error(where + ": expected a JSON array of token ids, found " + j.dump().substr(0, 80));
  std::vector<int64_t> ids;
  for (const auto& v : j) {
    if (!v.is_number_integer()) throw Error(where + ": token id " + v.dump() + " is not an integer");
    ids.push_back(v.get<int64_t>());
  }
  return ids;
}

std::string render_chat(const tokenizer::Tokenizer& tok, const std::string& path, const std::string& template_name) {
  ordered_json req;
  try {
    req = ordered_json::parse(read_file(path));
  } catch (const ordered_json::parse_error& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!req.is_object() || !req.contains("messages") || !req["messages"].is_array())
    throw Error(path + ": expected an object with a 'messages' array");
  for (size_t i = 0; i < req["messages"].size(); ++i) {
    const auto& m = req["messages"][i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw Error(path + ": messages[" + std::to_string(i) + "] has no string 'role'");
  }
  for (auto it = req.begin(); it != req.end(); ++it) {
    static const std::vector<std::string> known = {"messages", "tools", "add_generation_prompt", "enable_thinking"};
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      throw Error(path + ": unknown key '" + it.key() + "' (expected messages, tools, add_generation_prompt, enable_thinking)");
  }
  std::string source = tok.chat_template();
  if (!template_name.empty()) source = tokenizer::builtin_chat_template(template_name);
  if (source.empty())
    throw Error("the tokenizer has no chat_template in tokenizer_config.json; pass --template with one of chatml, llama3, qwen3");
  tokenizer::ChatOptions opt;
  if (req.contains("add_generation_prompt")) {
    if (!req["add_generation_prompt"].is_boolean()) throw Error(path + ": add_generation_prompt must be true or false");
    opt.add_generation_prompt = req["add_generation_prompt"].get<bool>();
  }
  if (req.contains("enable_thinking")) {
    if (!req["enable_thinking"].is_boolean()) throw Error(path + ": enable_thinking must be true or false");
    opt.enable_thinking = req["enable_thinking"].get<bool>();
  }
  opt.bos_token = tok.bos_token();
  opt.eos_token = tok.eos_token();
  ordered_json tools = req.contains("tools") ? req["tools"] : ordered_json();
  if (!tools.is_null() && !tools.is_array()) throw Error(path + ": tools must be a list of JSON schemas");
  return tokenizer::render_chat_template(source, req["messages"], tools, opt);
}

}  // namespace

void add_tokenize(CLI::App& app) {
  struct Opts {
    std::string dir, chat, template_name;
    bool no_special = false, decode = false, skip_special = false, jsonl = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("tokenize", "encode standard input to token ids (or decode, or render a chat)");
  sub->add_option("--tokenizer", o->dir, "folder with tokenizer.json (and tokenizer_config.json)")->required();
  sub->add_flag("--no-special", o->no_special, "encode without the post-processor's special tokens");
  sub->add_flag("--decode", o->decode, "read a JSON array of ids and print the text");
  sub->add_flag("--skip-special", o->skip_special, "with --decode: leave special tokens out");
  sub->add_option("--chat", o->chat, "render FILE.json ({messages, tools, add_generation_prompt, enable_thinking})");
  sub->add_option("--template", o->template_name, "with --chat: a built-in template (chatml, llama3, qwen3)");
  sub->add_flag("--jsonl", o->jsonl, "one JSON string (or id array with --decode) per input line, one result per line");
  sub->callback([o] {
    auto tok = tokenizer::Tokenizer::from_folder(o->dir);
    if (!o->chat.empty()) {
      std::cout << render_chat(*tok, o->chat, o->template_name);
      return;
    }
    if (!o->jsonl) {
      std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      if (o->decode) std::cout << tok->decode(parse_ids(input, "standard input"), o->skip_special) << "\n";
      else std::cout << json(tok->encode(input, !o->no_special)).dump() << "\n";
      return;
    }
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (line.empty()) continue;
      const std::string where = "standard input line " + std::to_string(n);
      if (o->decode) {
        std::cout << json(tok->decode(parse_ids(line, where), o->skip_special)).dump() << "\n";
        continue;
      }
      json j;
      try {
        j = json::parse(line);
      } catch (const json::parse_error& e) {
        throw Error(where + ": not JSON: " + e.what());
      }
      if (!j.is_string()) throw Error(where + ": expected a JSON string, found " + j.dump().substr(0, 80));
      std::cout << json(tok->encode(j.get<std::string>(), !o->no_special)).dump() << "\n";
    }
  });
}

}  // namespace arlt::cli
