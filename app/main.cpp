// tidewatch: one binary, several subcommands (see docs/operations.md).
#include <CLI/CLI.hpp>

#include "app/commands.h"
#ifdef TIDEWATCH_HAVE_MYSQL
#include <iostream>

#include "app/migrate_command.h"
#endif
#include "app/verifier_command.h"

int main(int argc, char** argv) {
  CLI::App cli{"tidewatch: high-scale uptime monitor"};
  cli.require_subcommand(1);

  tidewatch::app::RunOptions run;
  auto* run_cmd = cli.add_subcommand("run", "run the daemon");
  run_cmd->add_option("--config,-c", run.config, "YAML config (default: the embedded simulated demo)");
  run_cmd->add_option("--duration", run.duration_s, "stop and drain after this many seconds (0 = run until SIGTERM)");

  std::string config;
  auto* validate = cli.add_subcommand("validate-config", "check a config: one PASS/INFO/FAIL line per check");
  validate->add_option("--config,-c", config, "YAML config")->required();
  auto* dump = cli.add_subcommand("dump-graph", "print the flow graph as DOT");
  dump->add_option("--config,-c", config, "YAML config (default: embedded demo)");
  auto* version = cli.add_subcommand("version", "print the version");
  auto* metrics_doc = cli.add_subcommand("metrics-doc", "print every metric as the markdown table of docs/operations.md");
  auto* verifier = cli.add_subcommand("verifier", "run the verifier service (docs/verifier.md)");
  verifier->add_option("--config,-c", config, "YAML config with a verifier: section")->required();

#ifdef TIDEWATCH_HAVE_MYSQL
  bool migrate_check = false;
  auto* migrate = cli.add_subcommand("migrate", "create or upgrade the MySQL schema (--check: report drift only)");
  migrate->add_option("--config,-c", config, "YAML config (only its database: section is read)")->required();
  migrate->add_flag("--check", migrate_check, "compare with information_schema; change nothing (exit 1 on drift)");
#endif

  CLI11_PARSE(cli, argc, argv);
#ifdef TIDEWATCH_HAVE_MYSQL
  if (*migrate) return tidewatch::app::runMigrateCommand(config, migrate_check, std::cout);
#endif
  if (*run_cmd) return tidewatch::app::runDaemon(run);
  if (*validate) return tidewatch::app::validateConfig(config);
  if (*dump) return tidewatch::app::dumpGraph(config);
  if (*version) return tidewatch::app::printVersion();
  if (*metrics_doc) return tidewatch::app::printMetricsDoc();
  if (*verifier) return tidewatch::app::runVerifier(config);
  return 1;
}
