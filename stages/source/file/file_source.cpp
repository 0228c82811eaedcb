#include "stages/source/file/file_source.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace tidewatch::stages {
namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

template <class T>
bool parseNumber(std::string_view s, T& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> splitCsv(const std::string& line) {
  // Simple CSV: commas separate, double quotes may wrap a field ("" is a quote).
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

bool validTarget(const Target& t, std::string& why) {
  if (t.id == 0) why = "id must be a positive integer";
  else if (t.url.empty()) why = "url is empty";
  else if (t.interval_s == 0) why = "interval must be a positive number of seconds";
  return why.empty();
}

std::vector<Target> readCsv(const std::string& path, std::istream& in, std::vector<std::string>& errors) {
  std::vector<Target> out;
  std::string line;
  std::vector<std::string> header;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    auto fields = splitCsv(line);
    if (header.empty()) {
      header = fields;
      continue;
    }
    Target t;
    auto config = std::make_shared<SiteConfig>();
    bool custom = false;
    std::string why;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) {
      const std::string& k = header[i];
      const std::string& v = fields[i];
      bool ok = true;
      if (k == "id") ok = parseNumber(v, t.id);
      else if (k == "blog_id") ok = parseNumber(v, t.blog_id);
      else if (k == "url") t.url = v;
      else if (k == "interval" || k == "interval_s") ok = parseNumber(v, t.interval_s);
      else if (k == "bucket") ok = parseNumber(v, t.bucket);
      else if (k == "check_keyword") config->check_keyword = v, custom = custom || !v.empty();
      else if (k == "timeout_seconds") ok = v.empty() || parseNumber(v, config->timeout_seconds), custom = true;
      if (!ok) why = "column '" + k + "' has a bad value '" + v + "'";
    }
    if (why.empty()) validTarget(t, why);
    if (!why.empty()) {
      errors.push_back(path + ":" + std::to_string(lineno) + ": " + why);
      continue;
    }
    if (t.blog_id == 0) t.blog_id = t.id;
    t.config = custom ? std::shared_ptr<const SiteConfig>(config) : defaultSiteConfig();
    out.push_back(std::move(t));
  }
  if (header.empty()) errors.push_back(path + ": no header line (id,blog_id,url,interval,bucket)");
  return out;
}

std::vector<Target> readYaml(const std::string& path, std::vector<std::string>& errors) {
  std::vector<Target> out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    errors.push_back(path + ": " + e.what());
    return out;
  }
  YAML::Node list = root.IsMap() ? root["targets"] : root;
  if (!list || !list.IsSequence()) {
    errors.push_back(path + ": expected a list of targets (or a `targets:` list)");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& n = list[i];
    std::string where = path + ": targets[" + std::to_string(i) + "]";
    if (!n.IsMap()) {
      errors.push_back(where + ": must be a mapping");
      continue;
    }
    Target t;
    auto config = std::make_shared<SiteConfig>();
    bool custom = false;
    std::string why;
    try {
      for (const auto& kv : n) {
        std::string k = kv.first.as<std::string>();
        if (k == "id") t.id = kv.second.as<std::uint64_t>();
        else if (k == "blog_id") t.blog_id = kv.second.as<std::uint64_t>();
        else if (k == "url") t.url = kv.second.as<std::string>();
        else if (k == "interval" || k == "interval_s") t.interval_s = kv.second.as<std::uint32_t>();
        else if (k == "bucket") t.bucket = kv.second.as<std::uint16_t>();
        else if (k == "check_keyword") config->check_keyword = kv.second.as<std::string>(), custom = true;
        else if (k == "forbidden_keywords") config->forbidden_keywords = kv.second.as<std::vector<std::string>>(), custom = true;
        else if (k == "timeout_seconds") config->timeout_seconds = kv.second.as<std::uint16_t>(), custom = true;
        else if (k == "method") {
          std::string m = kv.second.as<std::string>();
          if (m == "HEAD") config->method = HttpMethod::kHead;
          else if (m != "GET") why = "method must be GET or HEAD";
          custom = true;
        } else if (k == "redirect_policy") {
          std::string p = kv.second.as<std::string>();
          if (p == "fail") config->redirect_policy = RedirectPolicy::kFail;
          else if (p == "alert") config->redirect_policy = RedirectPolicy::kAlert;
          else if (p != "follow") why = "redirect_policy must be follow, alert or fail";
          custom = true;
        } else if (k == "custom_headers") {
          for (const auto& h : kv.second)
            config->custom_headers.emplace_back(h.first.as<std::string>(), h.second.as<std::string>());
          custom = true;
        } else {
          why = "unknown key '" + k + "'";
        }
      }
    } catch (const YAML::Exception& e) {
      why = std::string("bad value: ") + e.what();
    }
    if (why.empty()) validTarget(t, why);
    if (!why.empty()) {
      errors.push_back(where + ": " + why);
      continue;
    }
    if (t.blog_id == 0) t.blog_id = t.id;
    t.config = custom ? std::shared_ptr<const SiteConfig>(config) : defaultSiteConfig();
    out.push_back(std::move(t));
  }
  return out;
}

struct FileSourceOptions {
  std::string path;
};

class FileSource final : public TargetSource {
 public:
  explicit FileSource(FileSourceOptions o) : o_(std::move(o)) {}
  void start(TargetListener& listener) override {
    listener_ = &listener;
    refresh();
  }
  void refresh() override {
    if (listener_ == nullptr) return;
    std::vector<std::string> errors;
    auto fleet = readTargetFile(o_.path, errors);
    for (const auto& e : errors) spdlog::error("source.file: {}", e);
    spdlog::info("source.file: {} targets from {} ({} rows skipped)", fleet.size(), o_.path, errors.size());
    listener_->replaceFleet(std::move(fleet));
  }

 private:
  FileSourceOptions o_;
  TargetListener* listener_ = nullptr;
};

}  // namespace

std::vector<Target> readTargetFile(const std::string& path, std::vector<std::string>& errors) {
  if (endsWith(path, ".csv")) {
    std::ifstream in(path);
    if (!in) {
      errors.push_back(path + ": cannot open");
      return {};
    }
    return readCsv(path, in, errors);
  }
  return readYaml(path, errors);
}

void registerFileSource(StageRegistry& registry) {
  registry.add({StageKind::kSource, "source.file",
                "targets from a YAML or CSV file (id, blog_id, url, interval, bucket)",
                [](ConfigMap& m) {
                  FileSourceOptions o;
                  o.path = m.getString("path", "");
                  if (o.path.empty()) m.diagnostics().error(m.pathOf("path"), "is required");
                  else if (!std::ifstream(o.path))
                    m.diagnostics().error(m.pathOf("path"), "cannot read '" + o.path + "'");
                  return std::any(o);
                },
                [](const std::any& opts, StageContext&) -> std::unique_ptr<Stage> {
                  return std::make_unique<FileSource>(std::any_cast<FileSourceOptions>(opts));
                }});
}

}  // namespace tidewatch::stages
