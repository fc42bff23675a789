// Minimal levelled logging to stderr. ARLT_LOG=debug|info|warn|error sets the level.
#pragma once
#include <sstream>
#include <string>

namespace arlt {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_message(LogLevel level, const std::string& message);

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

template <typename... Args>
void log(LogLevel level, const Args&... args) {
  if (level < log_level()) return;
  std::ostringstream os;
  detail::append(os, args...);
  log_message(level, os.str());
}
template <typename... Args> void log_debug(const Args&... a) { log(LogLevel::Debug, a...); }
template <typename... Args> void log_info(const Args&... a) { log(LogLevel::Info, a...); }
template <typename... Args> void log_warn(const Args&... a) { log(LogLevel::Warn, a...); }
template <typename... Args> void log_error(const Args&... a) { log(LogLevel::Error, a...); }

}  // namespace arlt
