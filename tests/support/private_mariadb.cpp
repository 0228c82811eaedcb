#include "tests/support/private_mariadb.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace tidewatch::testing {
namespace {

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

int runCapture(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    if (out != nullptr) out->append(buf.data(), n);
  }
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

PrivateMariaDb::PrivateMariaDb() {
  // Short path: the socket path must fit in sun_path (108 bytes).
  char tmpl[] = "/tmp/twdb.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_ = dir_ + "/mysqld.sock";
  try {
    start();
  } catch (...) {
    std::string ignored;
    script("stop", &ignored);  // no destructor runs for a throwing constructor
    throw;
  }
  // A test process killed by a timeout never runs destructors: a detached watcher removes the
  // server once this process is gone, so no mariadbd outlives its test.
  const std::string script_path = std::string(TIDEWATCH_SOURCE_DIR) + "/scripts/mariadb-private";
  const std::string watcher = "while kill -0 " + std::to_string(::getpid()) +
                              " 2>/dev/null; do sleep 1; done; " + shellQuote(script_path) + " stop " +
                              shellQuote(dir_);
  std::string cmd = "setsid nohup sh -c " + shellQuote(watcher) + " >/dev/null 2>&1 </dev/null &";
  if (std::system(cmd.c_str()) != 0) {
    // Not fatal: the destructor still cleans up on a normal exit.
  }
}

PrivateMariaDb::~PrivateMariaDb() {
  std::string ignored;
  script("stop", &ignored);
}

int PrivateMariaDb::script(const std::string& command, std::string* out) const {
  const std::string path = std::string(TIDEWATCH_SOURCE_DIR) + "/scripts/mariadb-private";
  return runCapture(shellQuote(path) + " " + command + " " + shellQuote(dir_) + " 2>&1", out);
}

void PrivateMariaDb::start() {
  std::string out;
  if (script("start", &out) != 0) {
    throw std::runtime_error("scripts/mariadb-private start failed: " + out);
  }
  running_ = true;
}

void PrivateMariaDb::stop() {
  std::string out;
  if (script("halt", &out) != 0) {
    throw std::runtime_error("scripts/mariadb-private halt failed: " + out);
  }
  running_ = false;
}

DatabaseConfig PrivateMariaDb::config(const std::string& name) const {
  DatabaseConfig cfg;
  cfg.configured = true;
  cfg.socket = socket_;
  cfg.user = "root";
  cfg.password = "";
  cfg.name = name;
  return cfg;
}

mysql::ConnectionOptions PrivateMariaDb::connection(const std::string& name) const {
  mysql::ConnectionOptions o;
  o.socket = socket_;
  o.user = "root";
  o.password = "";
  o.database = name;
  return o;
}

int PrivateMariaDb::sql(const std::string& statements, std::string* out,
                        const std::string& database) const {
  // Statements go through a file rather than -e so that quoting never matters.
  const std::string file = dir_ + "/stmt." + std::to_string(::getpid()) + ".sql";
  {
    std::ofstream f(file);
    f << statements << "\n";
  }
  std::string cmd = "mariadb --no-defaults --batch --skip-column-names --local-infile=1 -uroot -S " +
                    shellQuote(socket_);
  if (!database.empty()) cmd += " " + shellQuote(database);
  cmd += " < " + shellQuote(file) + " 2>&1";
  int rc = runCapture(cmd, out);
  ::unlink(file.c_str());
  return rc;
}

std::string PrivateMariaDb::query(const std::string& statements, const std::string& database) const {
  std::string out;
  if (sql(statements, &out, database) != 0) {
    throw std::runtime_error("SQL failed: " + statements + "\n" + out);
  }
  return trim(out);
}

}  // namespace tidewatch::testing
