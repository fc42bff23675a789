// The two visitors of train/settings.h's sections: JsonWriter turns a struct into its JSON (the
// defaults schema), JsonReader fills a struct from a resolved config, each key checked for its
// type and named by its dotted path when it is wrong. Internal to train/.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/train/settings.h"

namespace arlt::train {

class JsonWriter {
 public:
  Json out = Json::object();
  void operator()(const char* k, int64_t& x) { out[k] = x; }
  void operator()(const char* k, uint64_t& x) { out[k] = x; }
  void operator()(const char* k, double& x) { out[k] = x; }
  void operator()(const char* k, bool& x) { out[k] = x; }
  void operator()(const char* k, std::string& x) { out[k] = x; }
  // An empty list is written [""]: the element template that types its entries as strings.
  void operator()(const char* k, std::vector<std::string>& x) { out[k] = x.empty() ? Json::array({""}) : Json(x); }
  void operator()(const char* k, double& a, double& b) { out[k] = Json::array({a, b}); }
  void operator()(const char* k, FreeMap&) { out[k] = Json::object({{"*", nullptr}}); }
  template <typename Section>
  void operator()(const char* k, Section& s) {
    JsonWriter w;
    s.visit(w);
    out[k] = std::move(w.out);
  }
};

class JsonReader {
 public:
  // path: the dotted prefix errors name ("trainer"); partial: keys absent keep their values.
  JsonReader(const Json& in, std::string path, bool partial = false) : in_(in), path_(std::move(path)), partial_(partial) {
    if (!in_.is_object()) throw Error(where("") + ": expected a section (a map of keys), found " + in_.dump().substr(0, 80));
  }
  void operator()(const char* k, int64_t& x) {
    if (const Json* j = find(k)) x = integer(*j, k);
  }
  void operator()(const char* k, uint64_t& x) {
    if (const Json* j = find(k)) {
      const int64_t v = integer(*j, k);
      if (v < 0 && !j->is_number_unsigned()) throw Error(where(k) + ": must be >= 0, found " + std::to_string(v));
      x = j->get<uint64_t>();
    }
  }
  void operator()(const char* k, double& x) {
    if (const Json* j = find(k)) {
      if (!j->is_number()) throw wrong(k, "a number", *j);
      x = j->get<double>();
    }
  }
  void operator()(const char* k, bool& x) {
    if (const Json* j = find(k)) {
      if (!j->is_boolean()) throw wrong(k, "true or false", *j);
      x = j->get<bool>();
    }
  }
  void operator()(const char* k, std::string& x) {
    if (const Json* j = find(k)) {
      if (!j->is_string()) throw wrong(k, "a string", *j);
      x = j->get<std::string>();
    }
  }
  void operator()(const char* k, std::vector<std::string>& x) {
    if (const Json* j = find(k)) {
      if (!j->is_array()) throw wrong(k, "a list of strings", *j);
      x.clear();
      for (const auto& e : *j) {
        if (!e.is_string()) throw wrong(k, "a list of strings", *j);
        x.push_back(e.get<std::string>());
      }
    }
  }
  void operator()(const char* k, double& a, double& b) {
    if (const Json* j = find(k)) {
      if (!j->is_array() || j->size() != 2 || !(*j)[0].is_number() || !(*j)[1].is_number())
        throw wrong(k, "a list of two numbers, e.g. [0.9, 0.999]", *j);
      a = (*j)[0].get<double>(), b = (*j)[1].get<double>();
    }
  }
  void operator()(const char* k, FreeMap& x) {
    if (const Json* j = find(k)) {
      if (j->is_null()) return void(x.value = Json::object());
      if (!j->is_object()) throw wrong(k, "a map of options", *j);
      x.value = *j;
      x.value.erase("*");  // the template of a schema that was not resolved by load_config
    }
  }
  template <typename Section>
  void operator()(const char* k, Section& s) {
    if (const Json* j = find(k)) {
      JsonReader r(*j, where(k), partial_);
      s.visit(r);
    }
  }

 private:
  std::string where(const char* k) const {
    if (!*k) return path_.empty() ? "config" : path_;
    return path_.empty() ? std::string(k) : path_ + "." + k;
  }
  const Json* find(const char* k) const {
    auto it = in_.find(k);
    if (it != in_.end()) return &*it;
    if (partial_) return nullptr;
    throw Error(where(k) + ": missing from the config (every key has a default: was the config resolved against the trainer's?)");
  }
  Error wrong(const char* k, const std::string& want, const Json& found) const {
    return Error(where(k) + ": expected " + want + ", found " + found.dump().substr(0, 80));
  }
  int64_t integer(const Json& j, const char* k) const {
    if (j.is_number_integer()) return j.get<int64_t>();
    if (j.is_number_float() && j.get<double>() == static_cast<double>(static_cast<int64_t>(j.get<double>())))
      return static_cast<int64_t>(j.get<double>());
    throw wrong(k, "an integer", j);
  }
  const Json& in_;
  std::string path_;
  bool partial_;
};

template <typename Config>
Json to_json(Config c) {
  JsonWriter w;
  c.visit(w);
  return std::move(w.out);
}

template <typename Config>
void read_present_keys(const Json& section, const std::string& path, Config& c) {
  JsonReader r(section, path, /*partial=*/true);
  c.visit(r);
}

}  // namespace arlt::train
