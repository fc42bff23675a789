// The sql tool (VerlTool's sql): the query in <sql>...</sql> runs on the SQLite database named by
// the trajectory's extra_fields.db_path (relative to the tool's database folder), opened
// read-only, ATTACH refused, under a time limit and a row limit. The observation is an object:
// {"obs": "\n\n<observation>TABLE\n<reminder>You have N turns left to complete the task.</reminder></observation>\n\n",
//  "parsed_sql": QUERY}, TABLE as pandas prints DataFrame(rows).to_string(index=False) (columns
// named 0, 1, ..., right-aligned), or "Error executing SQL: <SQLite's message>".
#pragma once
#include <string>

#include "arlt/tools/tool.h"

namespace arlt::tools {

struct SqlLimits {
  double seconds = 5.0;  // a query still running then is interrupted
  int64_t rows = 1000;   // rows kept in the observation
};

class SqlTool : public Tool {
 public:
  explicit SqlTool(std::string db_root = ".", SqlLimits limits = {}) : db_root_(std::move(db_root)), limits_(limits) {}
  std::string name() const override { return "sql"; }
  std::string description() const override { return "You are able to run SQL queries on the task's database (read-only)."; }
  bool accepts(const std::string& action) const override;
  Observation execute(const std::string& action, const ToolContext& context) override;

 private:
  std::string db_root_;
  SqlLimits limits_;
};

// Rows as pandas' DataFrame(rows).to_string(index=False) prints them (tests/tools: the recorded
// VerlTool observations).
std::string format_rows(const std::vector<std::vector<std::string>>& rows, size_t columns);

}  // namespace arlt::tools
