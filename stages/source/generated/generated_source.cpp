#include "stages/source/generated/generated_source.h"

#include <cctype>
#include <cstdio>

namespace tidewatch::stages {
namespace {

struct GeneratedOptions {
  std::string url = "http://site-%07d.fleet.test/";
  std::uint64_t first_id = 1;
  std::uint64_t count = 1000;
  std::uint32_t interval_s = 300;
  std::uint32_t buckets = 1000;
};

class GeneratedSource final : public TargetSource {
 public:
  explicit GeneratedSource(GeneratedOptions o) : o_(std::move(o)) {}
  void start(TargetListener& listener) override {
    listener.replaceFleet(
        generateTargets(o_.url, o_.first_id, o_.count, o_.interval_s, o_.buckets));
  }

 private:
  GeneratedOptions o_;
};

// A pattern is usable if it has exactly one integer conversion (%d, %u, %0Nd) and no other %.
bool validPattern(const std::string& p) {
  int conversions = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') continue;
    if (i + 1 < p.size() && p[i + 1] == '%') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < p.size() && std::isdigit(static_cast<unsigned char>(p[j]))) ++j;
    if (j >= p.size() || (p[j] != 'd' && p[j] != 'u')) return false;
    ++conversions;
    i = j;
  }
  return conversions == 1;
}

}  // namespace

std::vector<Target> generateTargets(const std::string& url_pattern, std::uint64_t first_id,
                                    std::uint64_t count, std::uint32_t interval_s,
                                    std::uint32_t buckets) {
  std::vector<Target> out;
  out.reserve(count);
  auto config = defaultSiteConfig();
  std::string pattern = url_pattern;
  // Patterns are validated at config time; widen %d/%u to the unsigned long long we pass.
  std::string fmt;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    fmt += pattern[i];
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] != '%') {
      std::size_t j = i + 1;
      while (j < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[j])))
        fmt += pattern[j++];
      fmt += "llu";
      i = j;
    } else if (pattern[i] == '%') {
      fmt += pattern[++i];
    }
  }
  char buf[512];
  for (std::uint64_t k = 0; k < count; ++k) {
    Target t;
    t.id = first_id + k;
    t.blog_id = t.id;
    std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<unsigned long long>(t.id));
    t.url = buf;
    t.interval_s = interval_s;
    t.bucket = static_cast<std::uint16_t>(buckets ? t.id % buckets : 0);
    t.config = config;
    out.push_back(std::move(t));
  }
  return out;
}

void registerGeneratedSource(StageRegistry& registry) {
  registry.add({StageKind::kSource, "source.generated",
                "a synthetic fleet from a URL pattern such as http://site-%07d.fleet.test/",
                [](ConfigMap& m) {
                  GeneratedOptions o;
                  o.url = m.getString("url", o.url);
                  if (!validPattern(o.url))
                    m.diagnostics().error(
                        m.pathOf("url"),
                        "must contain exactly one integer conversion such as %07d");
                  o.first_id = static_cast<std::uint64_t>(m.getInt("first_id", 1, 1));
                  o.count = static_cast<std::uint64_t>(m.getInt("count", 1000, 0, 100'000'000));
                  o.interval_s = static_cast<std::uint32_t>(m.getSize("interval_s", 300));
                  o.buckets = static_cast<std::uint32_t>(m.getSize("buckets", 1000));
                  return std::any(o);
                },
                [](const std::any& opts, StageContext&) -> std::unique_ptr<Stage> {
                  return std::make_unique<GeneratedSource>(std::any_cast<GeneratedOptions>(opts));
                }});
}

}  // namespace tidewatch::stages
