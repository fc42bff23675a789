// The house stays a house: every #include "arlt/<module>/..." in src/ points at the file's own
// module or one below it in the layer list of docs/architecture.md (the line under "## Layers"),
// and only model/ reaches kernels/.
// The list is read from the docs, so the rule and its documentation cannot drift apart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSource = ARLT_SOURCE_DIR;

// "base → config, io → jinja → ..." -> module -> rank (siblings share a rank).
std::map<std::string, int> read_layers() {
  std::ifstream in(kSource + "/docs/architecture.md");
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Layers";
    if (!in_section || line.find("base →") != 0) continue;
    std::map<std::string, int> rank;
    int r = 0;
    size_t pos = 0;
    const std::string arrow = "→";
    while (pos <= line.size()) {
      size_t next = line.find(arrow, pos);
      std::string group = line.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      std::stringstream ss(group);
      std::string name;
      while (std::getline(ss, name, ',')) {
        name.erase(0, name.find_first_not_of(" `."));
        name.erase(name.find_last_not_of(" `.") + 1);
        if (!name.empty()) rank[name] = r;
      }
      ++r;
      if (next == std::string::npos) break;
      pos = next + arrow.size();
    }
    return rank;
  }
  return {};
}

struct Violation {
  std::string file, included;
};

}  // namespace

TEST(HouseRules, IncludesPointDownTheLayers) {
  const std::map<std::string, int> rank = read_layers();
  ASSERT_GE(rank.size(), 10u) << "docs/architecture.md has no '## Layers' section starting with 'base →'";
  const std::regex include_re("^\\s*#\\s*include\\s*\"arlt/([a-z_]+)/[^\"]+\"");
  std::vector<std::string> problems;
  std::set<std::string> modules_seen;
  int files = 0, includes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kSource + "/src/arlt")) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".h" && ext != ".cpp") continue;
    const std::string module = entry.path().parent_path().filename().string();
    modules_seen.insert(module);
    ++files;
    auto own = rank.find(module);
    if (own == rank.end()) {
      problems.push_back(entry.path().string() + ": module '" + module + "' is not in the layer list");
      continue;
    }
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, include_re)) continue;
      ++includes;
      const std::string target = m[1];
      if (target == module) continue;
      // kernels/ is reached only through model/ (cpu_kernels.h, token_logp.h): one gateway.
      if (target == "kernels" && module != "model")
        problems.push_back(fs::relative(entry.path(), kSource).string() + ":" + std::to_string(n) + ": " + module +
                           " includes kernels (only model/ may: go through model/cpu_kernels.h)");
      auto t = rank.find(target);
      if (t == rank.end() || t->second >= own->second)
        problems.push_back(fs::relative(entry.path(), kSource).string() + ":" + std::to_string(n) + ": " + module +
                           " includes " + target + (t == rank.end() ? " (not in the layer list)" : " (not below it)"));
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_GT(includes, 100);
  for (const auto& p : problems) ADD_FAILURE() << p;
}

TEST(HouseRules, TheCheckSeesAnUpwardInclude) {
  // The rule itself: a module including one above it, or a sibling, is caught.
  const std::map<std::string, int> rank = read_layers();
  ASSERT_TRUE(rank.count("engine") && rank.count("model") && rank.count("serve") && rank.count("reward") && rank.count("data"));
  EXPECT_LT(rank.at("model"), rank.at("engine"));
  EXPECT_LT(rank.at("engine"), rank.at("serve"));
  EXPECT_LT(rank.at("reward"), rank.at("data")) << "reward/ may not include data/ (the verifiers live in reward/)";
  EXPECT_EQ(rank.at("config"), rank.at("io")) << "siblings share a rank (and may not include each other)";
}
