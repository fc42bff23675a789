// Typed configs: a schema of defaults (JSON, types taken from the values), a YAML file on top,
// then dotted command-line overrides. Unknown keys and wrong types are errors that say where
// and suggest the closest key. docs/config.md has the rules and examples.
#pragma once
#include <string>
#include <vector>

#include "arlt/base/suggest.h"
#include "arlt/config/yaml.h"

namespace arlt::config {

using arlt::did_you_mean;  // base/suggest.h: shared with tasks, rewards and the trainer

// Overlays `user` on `defaults` and returns the result (without the "*" templates). Type rules:
// - a number default takes an int (converted) or a double; an int default takes an int or an
//   integral double (converted); bool only bool; string only string;
// - objects merge key by key; every user key must exist in the defaults, unless the default
//   object has a "*" key, whose value is the default for any other key (a map of free keys);
// - a list replaces the default wholly; when the default list is non-empty its first element is
//   the default for every element (types checked, object elements filled from it);
// - a null default takes anything.
// Errors: "<source>: unknown key 'trainer.lrr' (line 4); did you mean 'trainer.lr'?" and
// "<source>: trainer.lr: expected a number, found string 'abc' (line 12)", lines from `lines`.
Json merge_config(const Json& defaults, const Json& user, const std::string& source);
Json merge_config(const Json& defaults, const Json& user, const std::string& source, const LineTable& lines);

// "trainer.lr=1e-6": the value is parsed as YAML ("[a, b]" a list, "'3'" a string, "" null), the
// key path must exist, and the type rules above apply against the config's current values.
// Errors name the source "override 'trainer.lr=1e-6'".
void apply_override(Json& config, const std::string& assignment);

// defaults, then the YAML file at `path` (skipped when empty), then each override in order.
// Overrides are checked against `defaults`, so "*" maps and null defaults work for them too.
Json load_config(const Json& defaults, const std::string& path, const std::vector<std::string>& overrides);

// The value at a dotted path ("trainer.lr"; a number component indexes a list). A missing path
// is a program error (the defaults declare every key): arlt::Error with exit code 1.
const Json& at_path(const Json& config, const std::string& dotted);

}  // namespace arlt::config
