#include "arlt/tools/tool_set.h"

#include <future>

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

bool flag(const Json& r, const char* field, size_t i) {
  return r.contains(field) && r[field].is_array() && r[field][i].is_boolean() && r[field][i].get<bool>();
}

}  // namespace

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
