// arlt: the command-line program. Bad input exits 2, runtime failures 1, both with "error: ...".
#include <filesystem>
#include <iostream>

#include "arlt/base/error.h"
#include "arlt/base/runtime.h"
#include "arlt/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"arlt: training language models from rewards, with tools"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "arlt 0.1.0");
  arlt::cli::add_init_model(app);
  arlt::cli::add_inspect(app);
  arlt::cli::add_demo(app);
  arlt::cli::add_tokenize(app);
  arlt::cli::add_tokenizer_train(app);
  arlt::cli::add_generate(app);
  arlt::cli::add_serve(app);
  arlt::cli::add_sft(app);
  arlt::cli::add_train(app);
  arlt::cli::add_export(app);
  arlt::cli::add_report(app);
  arlt::cli::add_tools(app);
  try {
    arlt::init_runtime();
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const arlt::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "error: malformed input: " << e.what() << "\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
