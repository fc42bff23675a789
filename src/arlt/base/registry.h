// A thread-safe table of named entries (advantage estimators, policy losses, KL estimators, ...)
// that code outside the defining file can add to: the built-ins are added on first use, a later
// add() under the same name replaces the entry. An unknown name is an arlt::Error that lists the
// known ones with a did-you-mean.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/base/suggest.h"

namespace arlt {

template <typename Entry>
class Registry {
 public:
  // what: how errors name an entry ("advantage estimator"); builtins: added before anything else.
  Registry(std::string what, std::map<std::string, Entry> builtins) : what_(std::move(what)), entries_(std::move(builtins)) {}

  void add(const std::string& name, Entry entry) {
    if (name.empty() || name.find_first_of(",: \t\n") != std::string::npos)
      throw Error("register " + what_ + ": name \"" + name + "\"; expected a non-empty name without ',', ':' or spaces");
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[name] = std::move(entry);
  }
  // A copy of the entry: callers use it after the lock is gone.
  Entry get(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::vector<std::string> known;
      for (const auto& [n, e] : entries_) known.push_back(n);
      throw Error("unknown " + what_ + " '" + name + "'" + unknown_name_hint(name, known));
    }
    return it->second;
  }
  bool contains(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.count(name) > 0;
  }
  std::vector<std::string> names() const {  // sorted
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [n, e] : entries_) out.push_back(n);
    return out;
  }

 private:
  std::string what_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace arlt
