#include "arlt/data/dataset.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "arlt/base/error.h"

namespace arlt::data {
namespace {

// A value as the error shows it: its JSON, cut short so that a long prompt does not drown the message.
std::string shown(const nlohmann::json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

const nlohmann::json* find_key(const nlohmann::json& obj, const std::string& key) {
  auto it = obj.find(key);
  if (it != obj.end()) return &*it;
  if (key.find('.') == std::string::npos) return nullptr;
  const nlohmann::json* cur = &obj;
  size_t start = 0;
  for (;;) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto next = cur->find(part);
    if (next == cur->end()) return nullptr;
    cur = &*next;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// The number as a person writes it: 42.0 -> "42", 0.5 -> "0.5" (nlohmann prints the shortest
// text that reads back to the same double).
std::string number_text(const nlohmann::json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::nearbyint(d) == d && std::fabs(d) < 1e15) {
      return std::to_string(static_cast<int64_t>(d));
    }
  }
  return v.dump();
}

void check_messages(const nlohmann::json& messages, const std::string& where, const std::string& key) {
  if (messages.empty()) throw Error(where + "\"" + key + "\" is an empty array; expected at least one message");
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    std::string at = where + "\"" + key + "\"[" + std::to_string(i) + "]";
    if (!m.is_object()) throw Error(at + " is " + shown(m) + "; expected an object {role, content}");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      throw Error(at + ".role is " + (role == m.end() ? "missing" : shown(*role)) + "; expected a string");
    }
    auto content = m.find("content");
    // A list of parts is the multimodal layout; the chat template reads its text parts.
    if (content == m.end() || !(content->is_string() || content->is_array())) {
      throw Error(at + ".content is " + (content == m.end() ? "missing" : shown(*content)) +
                  "; expected a string (or a list of parts)");
    }
  }
}

Example parse_line(const nlohmann::json& j, const std::string& where, const std::string& prompt_key,
                   const std::string& answer_key) {
  Example ex;
  const nlohmann::json* prompt = find_key(j, prompt_key);
  const nlohmann::json* messages = prompt_key == "messages" ? nullptr : find_key(j, "messages");
  const nlohmann::json* ids = find_key(j, "prompt_ids");
  if (ids && (prompt || messages))
    throw Error(where + "has both \"prompt_ids\" and a prompt; expected one of them");
  if (ids) {
    if (!ids->is_array() || ids->empty()) throw Error(where + "\"prompt_ids\" is " + shown(*ids) + "; expected a non-empty array of token ids");
    for (const auto& v : *ids) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        throw Error(where + "\"prompt_ids\" holds " + shown(v) + "; expected non-negative integer token ids");
      ex.prompt_ids.push_back(v.get<int64_t>());
    }
  } else if (prompt && messages) {
    throw Error(where + "has both \"" + prompt_key + "\" and \"messages\"; expected one of them");
  }
  if (ids) {
  } else if (messages) {
    if (!messages->is_array()) throw Error(where + "\"messages\" is " + shown(*messages) + "; expected an array");
    check_messages(*messages, where, "messages");
    ex.messages = *messages;
  } else if (!prompt) {
    throw Error(where + "missing \"" + prompt_key + "\"; expected a prompt string or a \"messages\" array");
  } else if (prompt->is_string()) {
    ex.prompt = prompt->get<std::string>();
  } else if (prompt->is_array()) {
    check_messages(*prompt, where, prompt_key);
    ex.messages = *prompt;
  } else {
    throw Error(where + "\"" + prompt_key + "\" is " + shown(*prompt) +
                "; expected a string or an array of {role, content} messages");
  }

  const nlohmann::json* answer = find_key(j, answer_key);
  if (!answer) throw Error(where + "missing \"" + answer_key + "\"; expected a string or a number");
  if (answer->is_string()) {
    ex.ground_truth = answer->get<std::string>();
  } else if (answer->is_number()) {
    ex.ground_truth = number_text(*answer);
  } else {
    throw Error(where + "\"" + answer_key + "\" is " + shown(*answer) + "; expected a string or a number");
  }

  auto task = j.find("task");
  if (task != j.end()) {
    if (!task->is_string()) throw Error(where + "\"task\" is " + shown(*task) + "; expected a string");
    ex.task = task->get<std::string>();
  }
  for (const char* key : {"extra_info", "extra_fields"}) {  // the latter wins
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) throw Error(where + "\"" + key + "\" is " + shown(*it) + "; expected an object");
    ex.extra_fields = *it;
  }
  auto source = j.find("data_source");
  if (source != j.end()) {
    if (!source->is_string()) throw Error(where + "\"data_source\" is " + shown(*source) + "; expected a string");
    ex.data_source = source->get<std::string>();
  }
  return ex;
}

}  // namespace

std::vector<Example> load_jsonl_dataset(const std::string& path, const std::string& prompt_key,
                                        const std::string& answer_key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the dataset: " + std::strerror(errno));
  std::vector<Example> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte order mark
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(number) + ": ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(where + "not JSON (" + e.what() + "); expected one JSON object per line");
    }
    if (!j.is_object()) {
      throw Error(where + "found a JSON " + std::string(j.type_name()) + " (" + shown(j) +
                  "); expected a JSON object per line");
    }
    out.push_back(parse_line(j, where, prompt_key, answer_key));
  }
  if (in.bad()) throw runtime_failure(path + ": read failed: " + std::strerror(errno));
  if (out.empty()) {
    throw Error(path + ": no examples (the file is empty or only blank lines); expected one JSON object per line");
  }
  return out;
}

}  // namespace arlt::data
