#include "app/migrate_command.h"

#include <yaml-cpp/yaml.h>

#include "io/mysql/migrate.h"
#include "pipeline/config.h"
#include "stages/mysql_connection.h"

namespace tidewatch::app {

int runMigrateCommand(const std::string& config_file, bool check_only, std::ostream& out) {
  ConfigDiagnostics diag;
  YAML::Node root;
  try {
    root = YAML::LoadFile(config_file);
  } catch (const YAML::Exception& e) {
    out << "migrate: " << config_file << ": " << e.what() << "\n";
    return 2;
  }
  DatabaseConfig db = parseDatabaseOnly(root, diag);
  if (!diag.ok()) {
    for (const auto& m : diag.messages()) {
      if (m.level == ConfigMessage::Level::kError) out << "migrate: " << m.path << ": " << m.text << "\n";
    }
    return 2;
  }
  if (!db.configured) {
    out << "migrate: " << config_file << " has no `database:` section\n";
    return 2;
  }
  return mysql::runMigrate(stages::connectionOptions(db), check_only, out);
}

}  // namespace tidewatch::app
