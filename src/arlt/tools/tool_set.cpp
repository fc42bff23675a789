#include "arlt/tools/tool_set.h"

#include <algorithm>
#include <cmath>
#include <future>

#include "arlt/base/error.h"
#include "arlt/base/registry.h"
#include "arlt/tools/calculator_tool.h"
#include "arlt/tools/python_tool.h"
#include "arlt/tools/remote_tool.h"
#include "arlt/tools/search_tool.h"
#include "arlt/tools/sql_tool.h"

namespace arlt::tools {
namespace {

Json field_error(const std::string& field, const std::string& msg, const std::string& type, const Json& ctx = nullptr) {
  Json e = {{"loc", {"body", field}}, {"msg", msg}, {"type", type}};
  if (!ctx.is_null()) e["ctx"] = ctx;
  return e;
}

// pydantic's checks of VerlTool's request model, in its order: required lists of at least one
// item, then the optional lists' lengths against trajectory_ids.
void validate(const Json& r) {
  if (!r.is_object()) throw RequestError{422, Json::array({field_error("__root__", "value is not a valid dict", "type_error.dict")})};
  Json errors = Json::array();
  for (const char* f : {"trajectory_ids", "actions"}) {
    if (!r.contains(f)) errors.push_back(field_error(f, "field required", "value_error.missing"));
    else if (!r[f].is_array()) errors.push_back(field_error(f, "value is not a valid list", "type_error.list"));
    else if (r[f].empty())
      errors.push_back(field_error(f, "ensure this value has at least 1 items", "value_error.list.min_items", {{"limit_value", 1}}));
  }
  if (!errors.empty()) throw RequestError{422, errors};
  for (size_t i = 0; i < r["trajectory_ids"].size(); ++i) {
    const Json& id = r["trajectory_ids"][i];
    if (!id.is_string() && !id.is_number_integer())
      throw RequestError{422, Json::array({{{"loc", {"body", "trajectory_ids", i}}, {"msg", "str type expected"}, {"type", "type_error.str"}}})};
  }
  for (size_t i = 0; i < r["actions"].size(); ++i)
    if (!r["actions"][i].is_string())
      throw RequestError{422, Json::array({{{"loc", {"body", "actions", i}}, {"msg", "str type expected"}, {"type", "type_error.str"}}})};
  const size_t n = r["trajectory_ids"].size();
  for (const char* f : {"actions", "extra_fields", "finish", "is_last_step"}) {
    if (!r.contains(f) || r[f].is_null()) continue;
    if (!r[f].is_array()) throw RequestError{422, Json::array({field_error(f, "value is not a valid list", "type_error.list")})};
    if (r[f].size() != n)
      throw RequestError{422, Json::array({field_error(f, std::string("Length of ") + f + " must match trajectory_ids", "value_error")})};
  }
}

// The tool's options, each key known and of the right type.
double number_option(const Json& o, const std::string& tool, const char* key, double def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_number() || !(o[key].get<double>() > 0)) throw Error("tool " + tool + ": option " + key + " must be a positive number");
  return o[key].get<double>();
}

void known_options(const Json& o, const std::string& tool, const std::vector<std::string>& keys) {
  if (!o.is_object()) throw Error("tool " + tool + ": options must be a map");
  for (auto it = o.begin(); it != o.end(); ++it)
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
      throw Error("tool " + tool + ": unknown option '" + it.key() + "'" + unknown_name_hint(it.key(), keys));
}

std::unique_ptr<Tool> make_python(const Json& o) {
  known_options(o, "python_code", {"timeout", "memory_mb"});
  SandboxLimits lim;
  lim.wall_seconds = number_option(o, "python_code", "timeout", lim.wall_seconds);
  lim.cpu_seconds = static_cast<int64_t>(std::ceil(lim.wall_seconds)) + 1;  // the wall limit decides
  lim.memory_bytes = static_cast<int64_t>(number_option(o, "python_code", "memory_mb", static_cast<double>(lim.memory_bytes >> 20))) << 20;
  return std::make_unique<PythonTool>(lim);
}

std::unique_ptr<Tool> make_sql(const Json& o) {
  known_options(o, "sql", {"db_root", "timeout", "max_rows"});
  SqlLimits lim;
  lim.seconds = number_option(o, "sql", "timeout", lim.seconds);
  lim.rows = static_cast<int64_t>(number_option(o, "sql", "max_rows", static_cast<double>(lim.rows)));
  std::string root = ".";
  if (o.contains("db_root")) {
    if (!o["db_root"].is_string()) throw Error("tool sql: option db_root must be a folder name");
    root = o["db_root"].get<std::string>();
  }
  return std::make_unique<SqlTool>(root, lim);
}

Registry<ToolFactory>& registry() {
  static Registry<ToolFactory> r("tool", {{"python_code", make_python},
                                          {"python", make_python},
                                          {"sql", make_sql},
                                          {"remote", [](const Json& o) -> std::unique_ptr<Tool> {
                                             known_options(o, "remote", {"url", "timeout"});
                                             if (!o.contains("url") || !o["url"].is_string())
                                               throw Error("tool remote: option url (http://host:port) is required");
                                             return std::make_unique<RemoteTool>(o["url"].get<std::string>(),
                                                                                 number_option(o, "remote", "timeout", 60));
                                           }},
                                          {"search", [](const Json& o) -> std::unique_ptr<Tool> {
                                             known_options(o, "search", {"corpus", "top_k", "index", "timeout"});
                                             if (!o.contains("corpus") || !o["corpus"].is_string())
                                               throw Error("tool search: option corpus (a JSONL file of passages) is required");
                                             return std::make_unique<SearchTool>(
                                                 o["corpus"].get<std::string>(), static_cast<int64_t>(number_option(o, "search", "top_k", 3)),
                                                 o.contains("index") && o["index"].is_string() ? o["index"].get<std::string>() : "");
                                           }},
                                          {"calculator", [](const Json& o) -> std::unique_ptr<Tool> {
                                             known_options(o, "calculator", {"timeout"});  // accepted, not needed
                                             return std::make_unique<CalculatorTool>();
                                           }}});
  return r;
}

bool flag(const Json& r, const char* field, size_t i) {
  return r.contains(field) && r[field].is_array() && r[field][i].is_boolean() && r[field][i].get<bool>();
}

}  // namespace

void register_tool(const std::string& name, ToolFactory factory) {
  if (!factory) throw Error("register tool: \"" + name + "\" has an empty factory");
  registry().add(name, std::move(factory));
}

std::unique_ptr<Tool> make_tool(const std::string& name, const Json& options) { return registry().get(name)(options); }

std::vector<std::string> tool_names() { return registry().names(); }

void ToolSet::add(std::unique_ptr<Tool> tool) { tools_.push_back(std::move(tool)); }

std::string ToolSet::available_tools() const {
  std::string s = "Available tools:";
  for (const auto& t : tools_) s += "\n\u2022 " + t->name() + ": " + t->description();
  return s;
}

Json ToolSet::get_observation(const Json& r) {
  validate(r);
  const size_t n = r["trajectory_ids"].size();
  std::vector<Observation> out(n);
  std::vector<std::future<void>> running;
  for (size_t i = 0; i < n; ++i) {
    ToolContext ctx;
    const Json& id = r["trajectory_ids"][i];
    ctx.trajectory_id = id.is_string() ? id.get<std::string>() : id.dump();
    if (r.contains("extra_fields") && r["extra_fields"].is_array() && r["extra_fields"][i].is_object()) ctx.extra_fields = r["extra_fields"][i];
    const bool finish = flag(r, "finish", i) || (ctx.extra_fields.contains("finish") && ctx.extra_fields["finish"] == true);
    if (finish) {
      for (const auto& t : tools_) t->finish(ctx.trajectory_id);
      out[i].done = true;
      continue;
    }
    const std::string action = r["actions"][i].get<std::string>();
    Tool* tool = nullptr;
    for (const auto& t : tools_)
      if (t->accepts(action)) {
        tool = t.get();
        break;
      }
    if (!tool) {
      out[i].valid = false;
      out[i].value = {{"obs", ""}, {"invalid_reason", "No valid tool found for action"}, {"available_tools", available_tools()}};
      continue;
    }
    running.push_back(std::async(std::launch::async, [tool, action, ctx, &slot = out[i]] {
      try {
        slot = tool->execute(action, ctx);
      } catch (const std::exception& e) {
        slot.value = {{"obs", ""}, {"invalid_reason", std::string("tool error: ") + e.what()}};
        slot.valid = false;
      }
    }));
  }
  for (auto& f : running) f.get();
  Json obs = Json::array(), dones = Json::array(), valids = Json::array();
  for (const auto& o : out) obs.push_back(o.value), dones.push_back(o.done), valids.push_back(o.valid);
  return {{"observations", obs}, {"dones", dones}, {"valids", valids}};
}

}  // namespace arlt::tools
