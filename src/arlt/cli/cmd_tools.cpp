// arlt tools serve: the tools behind VerlTool's HTTP API (docs/tools.md); arlt tools list.
#include <iostream>
#include <sstream>

#include "arlt/base/error.h"
#include "arlt/cli/commands.h"
#include "arlt/tools/tool_server.h"

namespace arlt::cli {

void add_tools(CLI::App& app) {
  struct Opts {
    std::string tools = "python_code", host = "127.0.0.1", db_root = ".", corpus;
    int port = 5000, max_concurrent = 64;
    double timeout = 10;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* tools = app.add_subcommand("tools", "tool server and tool list");
  tools->require_subcommand(1);
  CLI::App* serve = tools->add_subcommand("serve", "serve tools over HTTP with VerlTool's API (POST /get_observation)");
  serve->add_option("--tools", o->tools, "comma-separated tool names (arlt tools list)")->capture_default_str();
  serve->add_option("--port", o->port, "port (0 = any free one)")->capture_default_str()->check(CLI::Range(0, 65535));
  serve->add_option("--host", o->host, "address to listen on (default loopback)")->capture_default_str();
  serve->add_option("--db-root", o->db_root, "sql: the folder extra_fields.db_path is relative to")->capture_default_str();
  serve->add_option("--corpus", o->corpus, "search: the JSONL of passages ({id, title, text}) to index");
  serve->add_option("--timeout", o->timeout, "python_code and sql: seconds an action may run")->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  serve->add_option("--max-concurrent", o->max_concurrent, "requests served at once; more get 503")->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve->callback([o] {
    auto set = std::make_unique<tools::ToolSet>();
    std::stringstream names(o->tools);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name.empty()) continue;
      tools::Json opts = {{"timeout", o->timeout}};
      if (name == "sql") opts["db_root"] = o->db_root;
      if (name == "search") opts = {{"corpus", o->corpus}};
      if (name == "calculator") opts = tools::Json::object();
      set->add(tools::make_tool(name, opts));
    }
    if (set->tools().empty()) throw Error("--tools: name at least one tool (arlt tools list)");
    tools::ToolServerOptions so;
    so.host = o->host, so.port = o->port, so.max_concurrent = o->max_concurrent;
    tools::ToolServer server(std::move(set), so);
    const int port = server.start();  // fails before the banner when the port is taken
    std::cerr << "arlt tools serve: " << o->tools << " on http://" << so.host << ":" << port << "\n";
    server.wait();
  });
  CLI::App* list = tools->add_subcommand("list", "the tools a server or a config can name");
  list->callback([] {
    for (const auto& n : tools::tool_names()) std::cout << n << "\n";
  });
}

}  // namespace arlt::cli
