#include "arlt/tools/search_tool.h"

#include <sqlite3.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "arlt/base/error.h"
#include "arlt/base/text.h"

namespace arlt::tools {
namespace {

using Db = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

Db open_db(const std::string& path, int flags) {
  sqlite3* h = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &h, flags, nullptr);
  Db db(h, sqlite3_close);
  if (rc != SQLITE_OK) throw runtime_failure("search index " + path + ": " + (h ? sqlite3_errmsg(h) : "cannot open"));
  return db;
}

void exec(sqlite3* db, const std::string& sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "error";
    sqlite3_free(err);
    throw runtime_failure(where + ": " + msg);
  }
}

// Each word of the query as a quoted FTS5 term, OR-ed: no operator of the model's text reaches FTS5.
std::string fts_query(const std::string& q) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    out += (out.empty() ? "" : " OR ") + std::string("\"") + word + "\"";
    word.clear();
  };
  for (unsigned char c : q) {
    if (std::isalnum(c) || c >= 0x80) word += static_cast<char>(c);
    else flush();
  }
  flush();
  return out;
}

}  // namespace

int64_t build_search_index(const std::string& corpus, const std::string& index_path) {
  namespace fs = std::filesystem;
  if (!fs::is_regular_file(corpus)) throw Error("search corpus " + corpus + ": no such file");
  if (fs::exists(index_path) && fs::last_write_time(index_path) >= fs::last_write_time(corpus)) {
    Db db = open_db(index_path, SQLITE_OPEN_READONLY);
    sqlite3_stmt* st = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db.get(), "SELECT count(*) FROM passages", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (n >= 0) return n;
  }
  const std::string tmp = index_path + ".tmp";
  fs::remove(tmp);
  int64_t n = 0;
  {
    Db db = open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    exec(db.get(), "CREATE VIRTUAL TABLE passages USING fts5(pid UNINDEXED, title, text); BEGIN;", "search index " + tmp);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db.get(), "INSERT INTO passages(pid, title, text) VALUES (?, ?, ?)", -1, &ins, nullptr);
    std::ifstream in(corpus);
    std::string line;
    for (int64_t ln = 1; std::getline(in, line); ++ln) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = corpus + ":" + std::to_string(ln);
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) throw Error(where + ": expected a JSON object {\"id\", \"title\", \"text\"}");
      if (!j.contains("text") || !j["text"].is_string()) throw Error(where + ": \"text\" must be a string");
      const std::string id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : std::to_string(ln);
      const std::string title = j.contains("title") && j["title"].is_string() ? j["title"].get<std::string>() : "";
      const std::string text = j["text"].get<std::string>();
      sqlite3_bind_text(ins, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 2, title.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 3, text.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(ins) != SQLITE_DONE) throw runtime_failure(where + ": " + sqlite3_errmsg(db.get()));
      sqlite3_reset(ins);
      ++n;
    }
    sqlite3_finalize(ins);
    exec(db.get(), "COMMIT;", "search index " + tmp);
  }
  fs::rename(tmp, index_path);
  return n;
}

SearchTool::SearchTool(std::string corpus, int64_t top_k, std::string index_path)
    : corpus_(std::move(corpus)), index_(index_path.empty() ? corpus_ + ".fts5.sqlite" : std::move(index_path)), top_k_(top_k) {
  if (top_k_ <= 0) throw Error("tool search: top_k must be > 0");
  build_search_index(corpus_, index_);
}

bool SearchTool::accepts(const std::string& action) const {
  std::string q;
  return first_tagged_block(action, "<search>", "</search>", &q);
}

std::vector<std::string> SearchTool::search(const std::string& query) const {
  std::vector<std::string> ids;
  const std::string q = fts_query(query);
  if (q.empty()) return ids;
  Db db = open_db(index_, SQLITE_OPEN_READONLY);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db.get(), "SELECT pid FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT ?", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, q.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, top_k_);
  while (sqlite3_step(st) == SQLITE_ROW) ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  return ids;
}

Observation SearchTool::execute(const std::string& action, const ToolContext&) {
  Observation obs;
  std::string words;
  if (!first_tagged_block(action, "<search>", "</search>", &words)) {
    obs.valid = false;
    return obs;
  }
  const std::string q = fts_query(words);
  std::string text;
  if (!q.empty()) {
    Db db = open_db(index_, SQLITE_OPEN_READONLY);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db.get(), "SELECT title, text FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT ?", -1, &st,
                       nullptr);
    sqlite3_bind_text(st, 1, q.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, top_k_);
    for (int k = 1; sqlite3_step(st) == SQLITE_ROW; ++k) {
      const std::string title = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      const std::string body = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      text += (text.empty() ? "" : "\n") + std::string("[") + std::to_string(k) + "] " + (title.empty() ? "" : title + ": ") + body;
    }
    sqlite3_finalize(st);
  }
  obs.value = "\n<result>\n" + (text.empty() ? std::string("No results.") : text) + "\n</result>\n";
  return obs;
}

}  // namespace arlt::tools
