#include "arlt/tools/sql_tool.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "arlt/base/text.h"

namespace arlt::tools {
namespace {

bool sql_block(const std::string& action, std::string* query) {
  if (!first_tagged_block(action, "<sql>", "</sql>", query)) return false;
  *query = trim(*query);
  return true;
}

// A value as pandas prints it in an object column: text as is, integers in decimal, reals in
// Python's shortest repr, NULL as None.
std::string cell(sqlite3_stmt* st, int col) {
  switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
      return std::to_string(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT: {
      const double v = sqlite3_column_double(st, col);
      char buf[64];
      for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (std::strtod(buf, nullptr) == v) break;
      }
      std::string s = buf;
      if (std::isfinite(v) && s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case SQLITE_NULL:
      return "None";
    default: {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      return t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(st, col))) : "";
    }
  }
}

// Columns count in characters (UTF-8 code points), as Python's len does.
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// ATTACH (another database file) is refused; everything else SQLite's read-only mode allows.
int authorize(void*, int action, const char*, const char*, const char*, const char*) {
  return action == SQLITE_ATTACH ? SQLITE_DENY : SQLITE_OK;
}

struct Deadline {
  std::chrono::steady_clock::time_point until;
};
int past_deadline(void* p) { return std::chrono::steady_clock::now() > static_cast<Deadline*>(p)->until ? 1 : 0; }

}  // namespace

std::string format_rows(const std::vector<std::vector<std::string>>& rows, size_t columns) {
  if (rows.empty()) return "Empty DataFrame\nColumns: []\nIndex: []";
  std::vector<size_t> w(columns);
  for (size_t c = 0; c < columns; ++c) {
    w[c] = std::to_string(c).size();
    for (const auto& r : rows) w[c] = std::max(w[c], width(r[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < columns; ++c) s += (c ? " " : "") + std::string(w[c] - width(cells[c]), ' ') + cells[c];
    return s;
  };
  std::vector<std::string> header;
  for (size_t c = 0; c < columns; ++c) header.push_back(std::to_string(c));
  std::string out = line(header);
  for (const auto& r : rows) out += "\n" + line(r);
  return out;
}

bool SqlTool::accepts(const std::string& action) const {
  std::string q;
  return sql_block(action, &q);
}

Observation SqlTool::execute(const std::string& action, const ToolContext& context) {
  Observation obs;
  std::string query;
  if (!sql_block(action, &query)) {
    obs.valid = false;
    return obs;
  }
  const Json& ef = context.extra_fields;
  std::string result;
  const std::string db = ef.is_object() && ef.contains("db_path") && ef["db_path"].is_string() ? ef["db_path"].get<std::string>() : "";
  const std::filesystem::path path = std::filesystem::path(db).is_absolute() ? std::filesystem::path(db) : std::filesystem::path(db_root_) / db;
  sqlite3* handle = nullptr;
  if (db.empty()) {
    result = "Error executing SQL: no database (extra_fields.db_path) for this task";
  } else if (!std::filesystem::is_regular_file(path)) {
    result = "Error executing SQL: no database at " + db;
  } else if (sqlite3_open_v2(path.string().c_str(), &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    result = "Error executing SQL: " + std::string(handle ? sqlite3_errmsg(handle) : "cannot open the database");
  } else {
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> conn(handle, sqlite3_close);
    handle = nullptr;
    sqlite3_limit(conn.get(), SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_set_authorizer(conn.get(), authorize, nullptr);
    Deadline deadline{std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(limits_.seconds))};
    sqlite3_progress_handler(conn.get(), 1000, past_deadline, &deadline);
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(conn.get(), query.c_str(), static_cast<int>(query.size()), &st, &tail) != SQLITE_OK || !st) {
      result = "Error executing SQL: " + std::string(st ? sqlite3_errmsg(conn.get()) : (query.empty() ? "empty query" : sqlite3_errmsg(conn.get())));
      sqlite3_finalize(st);
    } else {
      std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
      const size_t columns = static_cast<size_t>(sqlite3_column_count(st));
      std::vector<std::vector<std::string>> rows;
      int rc;
      bool cut = false;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (static_cast<int64_t>(rows.size()) >= limits_.rows) {
          cut = true;
          break;
        }
        std::vector<std::string> r;
        for (size_t c = 0; c < columns; ++c) r.push_back(cell(st, static_cast<int>(c)));
        rows.push_back(std::move(r));
      }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        result = rc == SQLITE_INTERRUPT ? "Error executing SQL: the query ran past the time limit of " +
                                              std::to_string(static_cast<int>(limits_.seconds)) + " s"
                                        : "Error executing SQL: " + std::string(sqlite3_errmsg(conn.get()));
      } else {
        result = format_rows(rows, columns);
        if (cut) result += "\n[only the first " + std::to_string(limits_.rows) + " rows]";
      }
    }
  }
  if (handle) sqlite3_close(handle);
  std::string reminder;
  if (ef.is_object() && ef.contains("turns_left") && ef["turns_left"].is_number_integer())
    reminder = "\n<reminder>You have " + std::to_string(ef["turns_left"].get<int64_t>()) + " turns left to complete the task.</reminder>";
  obs.value = {{"obs", "\n\n<observation>" + result + reminder + "</observation>\n\n"}, {"parsed_sql", query}};
  return obs;
}

}  // namespace arlt::tools
