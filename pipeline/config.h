// The daemon's configuration as plain structs, parsed and validated from YAML before any
// graph node exists (see docs/configuration.md for every key). Stage-specific options are
// parsed by each stage's factory (registry.h) into its own struct, held here type-erased.
#pragma once

#include <any>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/config_node.h"

namespace tidewatch {

class StageRegistry;

struct DatabaseConfig {
  bool configured = false;   // a `database:` section was present
  std::string host = "127.0.0.1";
  std::uint16_t port = 3306;
  std::string socket;        // unix socket path; wins over host/port when set
  std::string user = "root";
  std::string password;
  std::string name = "jetmon_db";
  int pool_size = 0;         // 0 = automatic
};

struct ResolverConfig {
  std::vector<std::string> servers;  // "ip[:port]"; empty = the system's (/etc/resolv.conf)
  int timeout_ms = 0;                // per try; 0 = automatic (2 000)
  int tries = 0;                     // 0 = automatic (2 per server)
  int cache_min_ttl_s = 0;           // 0 = automatic (30)
  int cache_max_ttl_s = 0;           // 0 = automatic (900)
  int negative_ttl_s = 0;            // 0 = automatic (5): NXDOMAIN only
  int cache_max_entries = 0;         // 0 = automatic (2 000 000)
  int socket_buffer_bytes = 0;       // 0 = automatic (4 MiB, capped by net.core.rmem_max)
};

struct ProbeConfig {
  bool allow_private_targets = false;
  std::string ca_file;               // extra trust anchors (PEM)
  int default_timeout_s = 10;        // NET_COMMS_TIMEOUT
  int io_threads = 0;                // 0 = one per core
  std::string user_agent = "jetmon/2.0 (Jetpack Site Uptime Monitor by WordPress.com)";
  int max_redirects = 10;
  bool follow_redirects = true;  // false: no redirect is followed (the first one is code 4)
  std::int64_t max_header_bytes = 64 * 1024;
  std::int64_t body_limit_bytes = 1024 * 1024;
  int full_handshake_interval_s = 86400;  // TLS: resume sessions, but refresh cert facts daily
  bool tls12_resumption = false;  // between full handshakes resume TLS 1.2 sessions (no key exchange)
  std::string source_address;        // local IPv4/IPv6 address checks connect from; "" = any
};

// A verifier the monitor escalates to (compat §6, `VERIFIERS[]`).
struct VerifierEndpoint {
  std::string name;
  std::string host;            // address or name of the verifier service
  std::uint16_t port = 7803;
  std::string auth_token;      // Bearer token (required)
  std::string protocol = "v2"; // "v2" (POST /v2/check) or "legacy" (POST /check)
  std::string vantage_id;      // "" = as the verifier reports it, else name
  std::string region;
};

// How escalations are decided (compat §6.2, §6.4).
struct VerificationConfig {
  int peer_offline_limit = 3;  // PEER_OFFLINE_LIMIT: the quorum ceiling
  int min_healthy = -1;        // -1 = automatic floor (0 / 1 / 2, compat §6.4)
  int extra_timeout_s = 5;     // RPC deadline = site timeout + this
};

// `tidewatch verifier`: the verifier service this process runs (compat §6.1, §6.3).
struct VerifierServiceConfig {
  std::string listen = "127.0.0.1:7803";
  std::string auth_token;          // required to start the service
  std::string vantage_id;          // "" = host id
  std::string region;
  int max_concurrency = 0;         // 0 = automatic (checks in flight at once)
  int queue_capacity = 0;          // 0 = automatic; beyond it items are shed "agent_overloaded"
  std::int64_t max_body_bytes = 10 * 1024 * 1024;
  int request_deadline_s = 0;      // 0 = automatic (longest item timeout + 5 s)
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9190";  // "" disables the admin server
};

// Optional StatsD output with Jetmon's metric names (compat §10.1), for operators who keep
// their Jetmon dashboards. Off unless `address` is set.
struct StatsdConfig {
  std::string address;         // "host:port" (UDP); "" = off
  std::string prefix;          // "" = com.jetpack.jetmon.<host_id with '.' and '-' as '_'>
  int interval_s = 10;         // flush period
};

struct SchedulerConfig {
  int retry_interval_s = 10;   // failure follow-ups (Seems Down confirmation checks)
  int num_of_checks = 3;       // NUM_OF_CHECKS: consecutive local failures before escalation
  int tick_ms = 100;           // dispatcher timer period
  int summary_interval_s = 60; // one summary log line per interval
  int prefetch_s = 30;         // tell the probe about checks due this far ahead (0 = never)
};

struct TokensConfig {
  std::int64_t max = 0;        // hard in-flight cap; 0 = automatic (fits the fd limit)
  std::int64_t target = 0;     // fixed token target; 0 = automatic (controller)
};

struct RuntimeConfig {
  int io_threads = 0;          // 0 = one per core
  int tbb_threads = 0;         // 0 = one per core
  std::string host_id;         // "" = hostname
  std::string log_level = "info";
};

struct StageSpec {
  std::string type;            // registered name, e.g. "probe.simulated"
  std::string path;            // config path, e.g. "pipeline.probe"
  std::any options;            // the factory's parsed options struct
};

struct PipelineConfig {
  StageSpec source;
  StageSpec probe;
  StageSpec classify;
  std::vector<StageSpec> sinks;
  std::vector<StageSpec> notifiers;
};

struct Config {
  std::string file;            // where it was read from ("" = embedded)
  DatabaseConfig database;
  ResolverConfig resolver;
  ProbeConfig probe;
  AdminConfig admin;
  StatsdConfig statsd;
  SchedulerConfig scheduler;
  TokensConfig tokens;
  RuntimeConfig runtime;
  std::vector<VerifierEndpoint> verifiers;
  VerificationConfig verification;
  VerifierServiceConfig verifier_service;
  PipelineConfig pipeline;
};

// Parses and validates; every problem is recorded in `diag` with its key path. Stage types
// are looked up in `registry` (an unknown type lists the valid names) and their options
// parsed by the factory. Returns the config even when diag has errors (for reporting).
Config parseConfig(const YAML::Node& root, const StageRegistry& registry, ConfigDiagnostics& diag);
Config parseConfigFile(const std::string& file, const StageRegistry& registry, ConfigDiagnostics& diag);
Config parseConfigString(const std::string& yaml, const StageRegistry& registry, ConfigDiagnostics& diag);

// Only the `database:` section (for `tidewatch migrate`): other sections are ignored.
DatabaseConfig parseDatabaseOnly(const YAML::Node& root, ConfigDiagnostics& diag);

}  // namespace tidewatch
