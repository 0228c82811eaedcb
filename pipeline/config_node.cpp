#include "pipeline/config_node.h"

#include <cerrno>
#include <cstdlib>

namespace tidewatch {

bool ConfigDiagnostics::ok() const {
  for (const auto& m : messages_)
    if (m.level == ConfigMessage::Level::kError) return false;
  return true;
}

std::string ConfigDiagnostics::firstError() const {
  for (const auto& m : messages_)
    if (m.level == ConfigMessage::Level::kError) return m.path + ": " + m.text;
  return {};
}

ConfigMap::ConfigMap(YAML::Node node, std::string path, ConfigDiagnostics& diag)
    : node_(std::move(node)), path_(std::move(path)), diag_(diag) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    diag_.error(path_.empty() ? "<root>" : path_, "must be a mapping");
    node_ = YAML::Node();
  }
}

std::string ConfigMap::pathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool ConfigMap::has(const std::string& key) const {
  return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull();
}

namespace {

bool isScalar(const YAML::Node& n) { return n && n.IsScalar(); }

}  // namespace

std::string ConfigMap::getString(const std::string& key, const std::string& def) {
  known_.insert(key);
  if (!has(key)) return def;
  YAML::Node n = node_[key];
  if (!isScalar(n)) {
    diag_.error(pathOf(key), "must be a string");
    return def;
  }
  return n.Scalar();
}

bool ConfigMap::getBool(const std::string& key, bool def) {
  known_.insert(key);
  if (!has(key)) return def;
  YAML::Node n = node_[key];
  bool value = def;
  if (!isScalar(n) || !YAML::convert<bool>::decode(n, value)) {
    diag_.error(pathOf(key), "must be true or false");
    return def;
  }
  return value;
}

double ConfigMap::getDouble(const std::string& key, double def) {
  known_.insert(key);
  if (!has(key)) return def;
  YAML::Node n = node_[key];
  if (!isScalar(n)) {
    diag_.error(pathOf(key), "must be a number");
    return def;
  }
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0) {
    diag_.error(pathOf(key), "must be a number (got '" + s + "')");
    return def;
  }
  return v;
}

std::int64_t ConfigMap::getInt(const std::string& key, std::int64_t def, std::int64_t min,
                               std::int64_t max) {
  known_.insert(key);
  if (!has(key)) return def;
  YAML::Node n = node_[key];
  if (!isScalar(n)) {
    diag_.error(pathOf(key), "must be an integer");
    return def;
  }
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0) {
    diag_.error(pathOf(key), "must be an integer (got '" + s + "')");
    return def;
  }
  if (v < min || v > max) {
    diag_.error(pathOf(key), "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + " (got " + s + ")");
    return def;
  }
  return v;
}

std::int64_t ConfigMap::getSize(const std::string& key, std::int64_t automatic) {
  std::int64_t v = getInt(key, 0);
  if (v < 0) {
    diag_.error(pathOf(key), "must not be negative (0 or omitted means automatic)");
    return automatic;
  }
  return v == 0 ? automatic : v;
}

std::vector<std::string> ConfigMap::getStringList(const std::string& key) {
  known_.insert(key);
  std::vector<std::string> out;
  if (!has(key)) return out;
  YAML::Node n = node_[key];
  if (!n.IsSequence()) {
    diag_.error(pathOf(key), "must be a list of strings");
    return out;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      diag_.error(pathOf(key) + "[" + std::to_string(i) + "]", "must be a string");
      continue;
    }
    out.push_back(n[i].Scalar());
  }
  return out;
}

ConfigMap ConfigMap::child(const std::string& key) {
  known_.insert(key);
  if (!has(key)) return ConfigMap(YAML::Node(), pathOf(key), diag_);
  return ConfigMap(node_[key], pathOf(key), diag_);
}

YAML::Node ConfigMap::raw(const std::string& key) {
  known_.insert(key);
  if (!has(key)) return YAML::Node();
  return node_[key];
}

void ConfigMap::finish() {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (known_.count(key) == 0) diag_.error(pathOf(key), "unknown key");
  }
}

}  // namespace tidewatch
