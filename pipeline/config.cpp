#include "pipeline/config.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

#include "core/text.h"
#include "pipeline/registry.h"

namespace tidewatch {
namespace {

void parseDatabase(ConfigMap m, DatabaseConfig& db) {
  db.host = m.getString("host", db.host);
  db.port = static_cast<std::uint16_t>(m.getInt("port", db.port, 0, 65535));
  if (db.port == 0) db.port = 3306;
  db.socket = m.getString("socket", db.socket);
  db.user = m.getString("user", db.user);
  db.password = m.getString("password", db.password);
  db.name = m.getString("name", db.name);
  db.pool_size = static_cast<int>(m.getSize("pool_size", 0));
  if (db.name.empty()) m.diagnostics().error(m.pathOf("name"), "must not be empty");
  m.finish();
}

void parseResolver(ConfigMap m, ResolverConfig& r) {
  r.servers = m.getStringList("servers");
  for (std::size_t i = 0; i < r.servers.size(); ++i) {
    const std::string& s = r.servers[i];
    // ip[:port] or [v6]:port; the resolver does the real parsing, reject the obviously wrong.
    if (s.empty() || s.find_first_of(" /") != std::string::npos)
      m.diagnostics().error(m.pathOf("servers") + "[" + std::to_string(i) + "]",
                            "must be ip[:port] (got '" + s + "')");
  }
  r.timeout_ms = static_cast<int>(m.getSize("timeout_ms", 2000));
  r.tries = static_cast<int>(m.getSize("tries", 2));
  r.cache_min_ttl_s = static_cast<int>(m.getSize("cache_min_ttl_s", 30));
  r.cache_max_ttl_s = static_cast<int>(m.getSize("cache_max_ttl_s", 900));
  r.negative_ttl_s = static_cast<int>(m.getSize("negative_ttl_s", 5));
  r.cache_max_entries = static_cast<int>(m.getSize("cache_max_entries", 2'000'000));
  r.socket_buffer_bytes = static_cast<int>(m.getSize("socket_buffer_bytes", 4 << 20));
  if (r.cache_min_ttl_s > r.cache_max_ttl_s)
    m.diagnostics().error(m.pathOf("cache_min_ttl_s"), "must not exceed cache_max_ttl_s");
  m.finish();
}

void parseProbe(ConfigMap m, ProbeConfig& p) {
  p.allow_private_targets = m.getBool("allow_private_targets", p.allow_private_targets);
  p.ca_file = m.getString("ca_file", p.ca_file);
  p.default_timeout_s = static_cast<int>(m.getSize("default_timeout_s", 10));
  if (p.default_timeout_s > 120)
    m.diagnostics().error(m.pathOf("default_timeout_s"), "must be at most 120 seconds");
  p.io_threads = static_cast<int>(m.getSize("io_threads", 0));
  p.user_agent = m.getString("user_agent", p.user_agent);
  p.follow_redirects = m.getBool("follow_redirects", p.follow_redirects);
  if (m.has("max_redirects") && m.getInt("max_redirects", 10) == 0) {
    // A sizing 0 would silently mean "automatic" (10): the opposite of what it looks like.
    m.diagnostics().error(m.pathOf("max_redirects"),
                          "0 would mean automatic (10); to follow no redirect set "
                          "probe.follow_redirects: false");
  }
  p.max_redirects = static_cast<int>(m.getSize("max_redirects", 10));
  if (!p.follow_redirects && m.has("max_redirects")) {
    m.diagnostics().error(m.pathOf("max_redirects"),
                          "has no effect with probe.follow_redirects: false (no redirect is followed)");
  }
  p.max_header_bytes = m.getSize("max_header_bytes", 64 * 1024);
  p.body_limit_bytes = m.getSize("body_limit_bytes", 1024 * 1024);
  p.full_handshake_interval_s = static_cast<int>(m.getSize("full_handshake_interval_s", 86400));
  p.tls12_resumption = m.getBool("tls12_resumption", p.tls12_resumption);
  p.source_address = m.getString("source_address", p.source_address);
  if (!p.source_address.empty()) {
    // A literal only: a name would be resolved once, behind the operator's back.
    unsigned char buf[16];
    if (::inet_pton(AF_INET, p.source_address.c_str(), buf) != 1 &&
        ::inet_pton(AF_INET6, p.source_address.c_str(), buf) != 1)
      m.diagnostics().error(m.pathOf("source_address"),
                            "must be an IPv4 or IPv6 address literal (got '" + p.source_address + "')");
  }
  if (!p.ca_file.empty()) {
    std::ifstream f(p.ca_file);
    if (!f) m.diagnostics().error(m.pathOf("ca_file"), "cannot read '" + p.ca_file + "'");
  }
  m.finish();
}

void parseAdmin(ConfigMap m, AdminConfig& a) {
  a.listen = m.getString("listen", a.listen);
  if (!a.listen.empty() && a.listen.rfind(':') == std::string::npos)
    m.diagnostics().error(m.pathOf("listen"), "must be host:port (got '" + a.listen + "')");
  m.finish();
}

void parseStatsd(ConfigMap m, StatsdConfig& s) {
  s.address = m.getString("address", s.address);
  s.prefix = m.getString("prefix", s.prefix);
  s.interval_s = static_cast<int>(m.getSize("interval_s", 10));
  if (!s.address.empty()) {
    std::string why;
    if (!splitHostPort(s.address, &why)) m.diagnostics().error(m.pathOf("address"), "must be host:port (" + why + ")");
  }
  if (s.interval_s > 3600) m.diagnostics().error(m.pathOf("interval_s"), "must be at most 3600");
  m.finish();
}

void parseScheduler(ConfigMap m, SchedulerConfig& s) {
  s.retry_interval_s = static_cast<int>(m.getSize("retry_interval_s", 10));
  s.num_of_checks = static_cast<int>(m.getSize("num_of_checks", 3));
  s.tick_ms = static_cast<int>(m.getSize("tick_ms", 100));
  s.summary_interval_s = static_cast<int>(m.getSize("summary_interval_s", 60));
  s.prefetch_s = m.has("prefetch_s") ? static_cast<int>(m.getInt("prefetch_s", 30, 0, 600)) : 30;
  if (s.tick_ms > 1000) m.diagnostics().error(m.pathOf("tick_ms"), "must be at most 1000");
  if (s.num_of_checks > 100) m.diagnostics().error(m.pathOf("num_of_checks"), "must be at most 100");
  m.finish();
}

void parseTokens(ConfigMap m, TokensConfig& t) {
  t.max = m.getSize("max", 0);
  t.target = m.getSize("target", 0);
  if (t.max > 0 && t.target > t.max)
    m.diagnostics().error(m.pathOf("target"), "must not exceed tokens.max");
  m.finish();
}

void parseVerifiers(const YAML::Node& node, const std::string& path, std::vector<VerifierEndpoint>& out,
                    ConfigDiagnostics& diag) {
  if (!node || node.IsNull()) return;
  if (!node.IsSequence()) {
    diag.error(path, "must be a list of verifiers");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    ConfigMap m(node[i], path + "[" + std::to_string(i) + "]", diag);
    VerifierEndpoint v;
    v.name = m.getString("name", "");
    v.host = m.getString("host", "");
    v.port = static_cast<std::uint16_t>(m.getInt("port", 7803, 1, 65535));
    v.auth_token = m.getString("auth_token", "");
    v.protocol = m.getString("protocol", "v2");
    v.vantage_id = m.getString("vantage_id", "");
    v.region = m.getString("region", "");
    if (v.host.empty()) diag.error(m.pathOf("host"), "is required");
    if (v.auth_token.empty()) diag.error(m.pathOf("auth_token"), "is required");
    if (v.protocol != "v2" && v.protocol != "legacy") diag.error(m.pathOf("protocol"), "must be v2 or legacy");
    if (v.name.empty()) v.name = v.host + ":" + std::to_string(v.port);
    m.finish();
    out.push_back(std::move(v));
  }
}

void parseVerification(ConfigMap m, VerificationConfig& v) {
  v.peer_offline_limit = static_cast<int>(m.getSize("peer_offline_limit", 3));
  v.min_healthy = static_cast<int>(m.getInt("min_healthy", -1, -1, 100));
  v.extra_timeout_s = static_cast<int>(m.getSize("extra_timeout_s", 5));
  m.finish();
}

void parseVerifierService(ConfigMap m, VerifierServiceConfig& v) {
  v.listen = m.getString("listen", v.listen);
  if (v.listen.rfind(':') == std::string::npos)
    m.diagnostics().error(m.pathOf("listen"), "must be host:port (got '" + v.listen + "')");
  v.auth_token = m.getString("auth_token", "");
  v.vantage_id = m.getString("vantage_id", "");
  v.region = m.getString("region", "");
  v.max_concurrency = static_cast<int>(m.getSize("max_concurrency", 0));
  v.queue_capacity = static_cast<int>(m.getSize("queue_capacity", 0));
  v.max_body_bytes = m.getSize("max_body_bytes", 10 * 1024 * 1024);
  v.request_deadline_s = static_cast<int>(m.getSize("request_deadline_s", 0));
  m.finish();
}

void parseRuntime(ConfigMap m, RuntimeConfig& r) {
  r.io_threads = static_cast<int>(m.getSize("io_threads", 0));
  r.tbb_threads = static_cast<int>(m.getSize("tbb_threads", 0));
  r.host_id = m.getString("host_id", r.host_id);
  r.log_level = m.getString("log_level", r.log_level);
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool valid = false;
  for (const char* l : kLevels) valid = valid || r.log_level == l;
  if (!valid)
    m.diagnostics().error(m.pathOf("log_level"),
                          "must be one of trace, debug, info, warn, error, off");
  m.finish();
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// One `{type: name, ...options}` mapping.
StageSpec parseStage(const YAML::Node& node, const std::string& path, StageKind kind,
                     const StageRegistry& registry, ConfigDiagnostics& diag) {
  StageSpec spec;
  spec.path = path;
  ConfigMap m(node, path, diag);
  spec.type = m.getString("type", "");
  std::vector<std::string> valid = registry.names(kind);
  if (spec.type.empty()) {
    diag.error(path + ".type", "is required (valid " + std::string(toString(kind)) +
                                   " stages: " + joinNames(valid) + ")");
    return spec;
  }
  const StageFactory* factory = registry.find(spec.type);
  if (factory == nullptr || factory->kind != kind) {
    diag.error(path + ".type", "unknown " + std::string(toString(kind)) + " stage '" + spec.type +
                                   "' (valid: " + joinNames(valid) + ")");
    return spec;
  }
  spec.options = factory->parse(m);
  m.finish();
  return spec;
}

std::vector<StageSpec> parseStageList(const YAML::Node& node, const std::string& path,
                                      StageKind kind, const StageRegistry& registry,
                                      ConfigDiagnostics& diag) {
  std::vector<StageSpec> out;
  if (!node || node.IsNull()) return out;
  if (node.IsMap()) {
    out.push_back(parseStage(node, path, kind, registry, diag));
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      out.push_back(parseStage(node[i], path + "[" + std::to_string(i) + "]", kind, registry, diag));
  } else {
    diag.error(path, "must be a mapping or a list of mappings");
  }
  return out;
}

void parsePipeline(ConfigMap m, PipelineConfig& p, const StageRegistry& registry) {
  ConfigDiagnostics& diag = m.diagnostics();
  auto absent = [](const YAML::Node& n) { return !n || n.IsNull(); };
  YAML::Node source = m.raw("source");
  if (absent(source)) diag.error(m.pathOf("source"), "is required");
  else p.source = parseStage(source, m.pathOf("source"), StageKind::kSource, registry, diag);

  YAML::Node probe = m.raw("probe");
  if (absent(probe)) diag.error(m.pathOf("probe"), "is required");
  else p.probe = parseStage(probe, m.pathOf("probe"), StageKind::kProbe, registry, diag);

  YAML::Node classify = m.raw("classify");
  if (absent(classify)) {
    YAML::Node def(YAML::NodeType::Map);
    def["type"] = "classify.jetmon";
    p.classify = parseStage(def, m.pathOf("classify"), StageKind::kClassify, registry, diag);
  } else {
    p.classify = parseStage(classify, m.pathOf("classify"), StageKind::kClassify, registry, diag);
  }
  p.sinks = parseStageList(m.raw("sink"), m.pathOf("sink"), StageKind::kSink, registry, diag);
  p.notifiers = parseStageList(m.raw("notify"), m.pathOf("notify"), StageKind::kNotify, registry, diag);
  m.finish();
}

}  // namespace

Config parseConfig(const YAML::Node& root, const StageRegistry& registry, ConfigDiagnostics& diag) {
  Config cfg;
  ConfigMap m(root, "", diag);
  cfg.database.configured = m.has("database");
  parseDatabase(m.child("database"), cfg.database);
  parseResolver(m.child("resolver"), cfg.resolver);
  parseProbe(m.child("probe"), cfg.probe);
  parseAdmin(m.child("admin"), cfg.admin);
  parseStatsd(m.child("statsd"), cfg.statsd);
  parseScheduler(m.child("scheduler"), cfg.scheduler);
  parseTokens(m.child("tokens"), cfg.tokens);
  parseRuntime(m.child("runtime"), cfg.runtime);
  parseVerifiers(m.raw("verifiers"), "verifiers", cfg.verifiers, diag);
  parseVerification(m.child("verification"), cfg.verification);
  parseVerifierService(m.child("verifier"), cfg.verifier_service);
  if (m.has("pipeline") || !m.has("verifier")) parsePipeline(m.child("pipeline"), cfg.pipeline, registry);
  m.finish();
  return cfg;
}

Config parseConfigString(const std::string& yaml, const StageRegistry& registry,
                         ConfigDiagnostics& diag) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    diag.error("<yaml>", std::string("parse error: ") + e.what());
    return {};
  }
  return parseConfig(root, registry, diag);
}

Config parseConfigFile(const std::string& file, const StageRegistry& registry,
                       ConfigDiagnostics& diag) {
  std::ifstream in(file);
  if (!in) {
    diag.error("<file>", "cannot read '" + file + "'");
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Config cfg = parseConfigString(ss.str(), registry, diag);
  cfg.file = file;
  return cfg;
}

DatabaseConfig parseDatabaseOnly(const YAML::Node& root, ConfigDiagnostics& diag) {
  DatabaseConfig db;
  if (root && root.IsMap() && root["database"]) {
    db.configured = true;
    parseDatabase(ConfigMap(root["database"], "database", diag), db);
  }
  return db;
}

}  // namespace tidewatch
