// The search tool: BM25 over a JSONL corpus of passages ({"id", "title", "text"} a line), indexed
// once with SQLite's FTS5 into a file next to it (rebuilt when the corpus is newer). An action
// <search>QUERY</search> is answered with the top-k passages:
// "\n<result>\n[1] TITLE: TEXT\n[2] ...\n</result>\n", or "No results." The query's words are
// matched as terms (FTS5 operators in it are quoted away), ranked by bm25().
#pragma once
#include <string>

#include "arlt/tools/tool.h"

namespace arlt::tools {

// Builds (or reuses) the index of `corpus` at `index_path`; errors name the corpus line that is
// wrong. Returns the number of passages.
int64_t build_search_index(const std::string& corpus, const std::string& index_path);

class SearchTool : public Tool {
 public:
  SearchTool(std::string corpus, int64_t top_k = 3, std::string index_path = "");
  std::string name() const override { return "search"; }
  std::string description() const override { return "Search the corpus: <search>words</search>."; }
  bool accepts(const std::string& action) const override;
  Observation execute(const std::string& action, const ToolContext& context) override;
  // The ranked passage ids for a query (tests).
  std::vector<std::string> search(const std::string& query) const;

 private:
  std::string corpus_, index_;
  int64_t top_k_;
};

}  // namespace arlt::tools
