// `arlt tools list` and `arlt tools serve` through the real binary: the tool names, a bad name
// (exit 2, did-you-mean), a taken port (exit 1, no banner), a served request.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../test_fs.h"

using namespace arlt;

namespace {
const std::string kArlt = ARLT_BINARY;
}

TEST(CliTools, ListAndBadNames) {
  auto r = test::run_command(kArlt + " tools list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("python_code"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sql"), std::string::npos) << r.output;
  r = test::run_command(kArlt + " tools serve --tools pyhton_code --port 0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean \"python_code\""), std::string::npos) << r.output;
}

TEST(CliTools, ServeOnATakenPortFailsBeforeItsBanner) {
  test::TempDir dir;
  // A first server on a fixed port chosen from the pid, in the background; the second must fail.
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  const std::string log = dir / "first.log";
  const std::string first = kArlt + " tools serve --tools sql --port " + std::to_string(port) + " > " + log + " 2>&1 & echo $!";
  auto started = test::run_command(first);
  const std::string pid = started.output.substr(0, started.output.find('\n'));
  for (int i = 0; i < 50 && test::run_command("grep -q 'arlt tools serve' " + log).exit_code != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto second = test::run_command(kArlt + " tools serve --tools sql --port " + std::to_string(port));
  test::run_command("kill " + pid);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("cannot listen"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("arlt tools serve:"), std::string::npos) << "a banner before the failure: " << second.output;
}
