// Reading YAML into plain structs with errors that name the key path.
//
// ConfigMap wraps one YAML mapping: each get*/child call records the key as known, and
// finish() reports every key that nobody asked for ("unknown key"). Errors are collected in a
// ConfigDiagnostics rather than thrown, so validate-config can print all of them at once.
// Used only at startup and on SIGHUP, never on the hot path.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tidewatch {

struct ConfigMessage {
  enum class Level { kInfo, kError } level;
  std::string path;    // e.g. "pipeline.probe.latency.mean_ms"
  std::string text;
};

class ConfigDiagnostics {
 public:
  void error(std::string path, std::string text) {
    messages_.push_back({ConfigMessage::Level::kError, std::move(path), std::move(text)});
  }
  void info(std::string path, std::string text) {
    messages_.push_back({ConfigMessage::Level::kInfo, std::move(path), std::move(text)});
  }
  bool ok() const;
  const std::vector<ConfigMessage>& messages() const { return messages_; }
  std::string firstError() const;  // "path: text", or "" when ok

 private:
  std::vector<ConfigMessage> messages_;
};

class ConfigMap {
 public:
  // `node` may be null/undefined: then every getter returns its default.
  ConfigMap(YAML::Node node, std::string path, ConfigDiagnostics& diag);

  bool has(const std::string& key) const;
  const std::string& path() const { return path_; }
  std::string pathOf(const std::string& key) const;
  ConfigDiagnostics& diagnostics() const { return diag_; }

  std::string getString(const std::string& key, const std::string& def);
  bool getBool(const std::string& key, bool def);
  double getDouble(const std::string& key, double def);
  // Any integer; `min`/`max` bound it (errors name the key).
  std::int64_t getInt(const std::string& key, std::int64_t def,
                      std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  // A sizing value: omitted or 0 means "automatic" (returns `automatic`), negative is an error.
  std::int64_t getSize(const std::string& key, std::int64_t automatic);
  std::vector<std::string> getStringList(const std::string& key);

  // A nested mapping (may be absent: an empty map). A scalar/sequence there is an error.
  ConfigMap child(const std::string& key);
  // The raw node (marked as known), for lists of maps.
  YAML::Node raw(const std::string& key);

  // Reports unknown keys. Call once after reading everything.
  void finish();

 private:
  YAML::Node node_;
  std::string path_;
  ConfigDiagnostics& diag_;
  std::set<std::string> known_;
};

}  // namespace tidewatch
