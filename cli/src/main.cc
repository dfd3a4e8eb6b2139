// softprobe: one binary, with subcommands (docs/proxy.md).
//   softprobe --version          prints the library version (VERSION)
//   softprobe runtime [FLAGS]    the runtime server; the flags are softprobe-runtime's
//   softprobe proxy [FLAGS]      the egress forward proxy
// Exit codes follow the contract (section 10): 2 for bad arguments, with a
// message naming the flag.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "proxy_command.hpp"
#include "run_proxy.hpp"
#include "run_runtime.hpp"
#include "softprobe.h"

int main(int argc, char** argv) {
  CLI::App app("softprobe: capture, replay and strict mode for HTTP dependencies", "softprobe");
  app.set_version_flag("--version", std::string(sp_version_string()), "Print the version and exit");
  app.require_subcommand(1);
  CLI::App* runtime = app.add_subcommand("runtime", "Run the runtime server (softprobe runtime --help for its flags)");
  runtime->prefix_command();  // everything after "runtime" is the runtime's own
  runtime->set_help_flag();   // ... --help included
  softprobe::cli::ProxyFlags proxy_flags;
  CLI::App* proxy = softprobe::cli::add_proxy_command(app, proxy_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "softprobe: " << e.what() << "\n";
    return 2;
  }
  if (runtime->parsed()) {
    std::vector<std::string> rest = runtime->remaining();
    std::string name = "softprobe runtime";
    std::vector<char*> args{name.data()};
    for (auto& a : rest) args.push_back(a.data());
    args.push_back(nullptr);
    return softprobe::runtime::run_runtime(static_cast<int>(args.size() - 1), args.data());
  }
  if (proxy->parsed()) {
    softprobe::proxy::ProxyOptions options;
    if (int code = softprobe::cli::proxy_options_from_flags(proxy_flags, options)) return code;
    return softprobe::proxy::run_proxy(options);
  }
  return 2;
}
