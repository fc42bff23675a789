// One function per subcommand, each in its own file, registered on the main app.
#pragma once
#include <CLI/CLI.hpp>

namespace arlt::cli {

void add_init_model(CLI::App& app);
void add_inspect(CLI::App& app);
void add_demo(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_tokenizer_train(CLI::App& app);  // tokenizer train
void add_generate(CLI::App& app);
void add_serve(CLI::App& app);
void add_sft(CLI::App& app);
void add_train(CLI::App& app);
void add_export(CLI::App& app);
void add_report(CLI::App& app);
void add_tools(CLI::App& app);  // tools serve, tools list

}  // namespace arlt::cli
