#include "core/metrics_export.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace tidewatch {

namespace {

std::vector<std::string_view> splitDots(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
  }
  return "untyped";
}

// A Prometheus sample value: integers exactly, other values with enough digits to round-trip.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

std::string escapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// The name a metric the catalog does not know is exported under.
MetricDoc derivedDoc(const std::string& name, Metrics::Entry::Kind kind) {
  std::string base = "tidewatch_";
  for (char c : name) base += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  auto strip = [&](std::string_view suffix) {
    if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
      base.resize(base.size() - suffix.size());
      return true;
    }
    return false;
  };
  MetricDoc d;
  d.pattern = name;
  d.help = "Undocumented metric " + name + ".";
  strip("_count");
  if (strip("_ms")) {
    d.scale = 0.001;
    base += "_seconds";
  }
  switch (kind) {
    case Metrics::Entry::Kind::kCounter:
      d.type = MetricType::kCounter;
      strip("_total");
      base += "_total";
      break;
    case Metrics::Entry::Kind::kGauge: d.type = MetricType::kGauge; break;
    case Metrics::Entry::Kind::kHistogram: d.type = MetricType::kHistogram; break;
    case Metrics::Entry::Kind::kDistribution: d.type = MetricType::kSummary; break;
  }
  d.family = base;
  return d;
}

std::string labelSet(const MetricDoc& d, const std::vector<std::string>& values, std::string_view extra_name = {},
                     std::string_view extra_value = {}) {
  const std::vector<std::string>& names = d.labels;
  std::string out;
  for (const auto& [k, v] : d.const_labels) {
    out += out.empty() ? "{" : ",";
    out += k + "=\"" + escapeLabel(v) + "\"";
  }
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

// ---- catalog ------------------------------------------------------------------------------

MetricCatalog::MetricCatalog(std::vector<MetricDoc> docs) : docs_(std::move(docs)) {}

std::optional<MetricCatalog::Match> MetricCatalog::find(std::string_view name) const {
  const auto parts = splitDots(name);
  // Exact patterns win over wildcard ones (a specific entry beside a generic one).
  const MetricDoc* best = nullptr;
  std::vector<std::string> best_values;
  int best_wildcards = 1 << 30;
  for (const MetricDoc& d : docs_) {
    const auto pat = splitDots(d.pattern);
    if (pat.size() != parts.size()) continue;
    std::vector<std::string> values;
    bool ok = true;
    for (std::size_t i = 0; i < pat.size() && ok; ++i) {
      if (pat[i] == "*") values.emplace_back(parts[i]);
      else ok = pat[i] == parts[i];
    }
    if (!ok) continue;
    const int wildcards = static_cast<int>(values.size());
    if (wildcards < best_wildcards) {
      best = &d;
      best_values = std::move(values);
      best_wildcards = wildcards;
    }
  }
  if (best == nullptr) return std::nullopt;
  return Match{best, std::move(best_values)};
}

std::string MetricCatalog::markdown() const {
  std::ostringstream o;
  o << "| Prometheus family | StatsD name | type | what it counts | healthy | when it is not |\n";
  o << "|---|---|---|---|---|---|\n";
  std::vector<const MetricDoc*> sorted;
  for (const auto& d : docs_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const MetricDoc* a, const MetricDoc* b) {
    const std::string& ka = a->family.empty() ? a->pattern : a->family;
    const std::string& kb = b->family.empty() ? b->pattern : b->family;
    return ka < kb;
  });
  for (const MetricDoc* d : sorted) {
    std::string family = d->family.empty() ? "— (StatsD only)" : "`" + d->family + "`";
    if (!d->labels.empty() || !d->const_labels.empty()) {
      std::string l;
      for (const auto& [k, v] : d->const_labels) l += (l.empty() ? "" : ",") + k + "=\"" + v + "\"";
      for (const auto& name : d->labels) l += (l.empty() ? "" : ",") + name;
      family += " {" + l + "}";
    }
    o << "| " << family << " | `" << d->pattern << "` | " << typeName(d->type) << " | " << d->help << " | "
      << d->healthy << " | " << d->action << " |\n";
  }
  return o.str();
}

// ---- process ------------------------------------------------------------------------------

ProcessStats readProcessStats() {
  ProcessStats p;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (std::getline(in, line)) {
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const auto close = line.rfind(')');
      std::istringstream rest(close == std::string::npos ? "" : line.substr(close + 2));
      std::vector<std::string> f;
      for (std::string t; rest >> t;) f.push_back(t);
      // f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20, starttime 22.
      if (f.size() > 20 && ticks > 0) {
        p.cpu_seconds = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / static_cast<double>(ticks);
        p.threads = std::stoll(f[17]);
        double boot = 0;
        std::ifstream st("/proc/stat");
        for (std::string key; st >> key;) {
          if (key == "btime") {
            st >> boot;
            break;
          }
        }
        p.start_time_seconds = boot + static_cast<double>(std::stoull(f[19])) / static_cast<double>(ticks);
      }
    }
  }
  {
    std::ifstream in("/proc/self/statm");
    std::int64_t size = 0, resident = 0;
    if (in >> size >> resident) {
      p.virtual_bytes = size * page;
      p.resident_bytes = resident * page;
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++p.open_fds;
    }
    closedir(d);
    if (p.open_fds > 0) --p.open_fds;  // the directory stream's own descriptor
  }
  {
    std::ifstream in("/proc/self/limits");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Max open files", 0) == 0) {
        std::istringstream f(line.substr(14));
        std::string soft;
        f >> soft;
        if (soft != "unlimited") p.max_fds = std::stoll(soft);
      }
    }
  }
  return p;
}

// ---- Prometheus ---------------------------------------------------------------------------

std::string prometheusText(const Metrics& metrics, const MetricCatalog& catalog, const ProcessStats* process) {
  struct Family {
    const MetricDoc* doc = nullptr;
    MetricDoc derived;
    std::string lines;
  };
  std::map<std::string, Family> families;
  for (const Metrics::Entry& e : metrics.entries()) {
    auto match = catalog.find(e.name);
    MetricDoc derived;
    const MetricDoc* doc = nullptr;
    std::vector<std::string> values;
    if (match) {
      doc = match->doc;
      values = std::move(match->label_values);
      if (doc->family.empty()) continue;  // StatsD only
    } else {
      derived = derivedDoc(e.name, e.kind);
    }
    const MetricDoc& d = doc ? *doc : derived;
    Family& f = families[d.family];
    if (f.doc == nullptr && f.derived.family.empty()) {
      f.doc = doc;
      f.derived = derived;
    }
    const std::string& name = d.family;
    switch (e.kind) {
      case Metrics::Entry::Kind::kCounter:
      case Metrics::Entry::Kind::kGauge:
        f.lines += name + labelSet(d, values) + " " + number(static_cast<double>(e.value) * d.scale) + "\n";
        break;
      case Metrics::Entry::Kind::kHistogram: {
        const auto& h = e.histogram;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.counts.size(); ++i) {
          cumulative += h.counts[i];
          const std::string le = i < h.bounds.size() ? number(h.bounds[i] * d.scale) : "+Inf";
          f.lines += name + "_bucket" + labelSet(d, values, "le", le) + " " + number(static_cast<double>(cumulative)) + "\n";
        }
        f.lines += name + "_sum" + labelSet(d, values) + " " + number(h.sum * d.scale) + "\n";
        f.lines += name + "_count" + labelSet(d, values) + " " + number(static_cast<double>(h.count)) + "\n";
        break;
      }
      case Metrics::Entry::Kind::kDistribution: {
        const auto& s = e.distribution;
        for (auto [q, v] : {std::pair{"0.5", s.p50}, {"0.9", s.p90}, {"0.99", s.p99}})
          f.lines += name + labelSet(d, values, "quantile", q) + " " + number(v * d.scale) + "\n";
        f.lines += name + "_sum" + labelSet(d, values) + " " + number(s.sum * d.scale) + "\n";
        f.lines += name + "_count" + labelSet(d, values) + " " + number(static_cast<double>(s.count)) + "\n";
        break;
      }
    }
  }
  std::string out;
  for (const auto& [name, f] : families) {
    const MetricDoc& d = f.doc ? *f.doc : f.derived;
    out += "# HELP " + name + " " + escapeHelp(d.help) + "\n";
    out += "# TYPE " + name + " " + typeName(d.type) + "\n";
    out += f.lines;
  }
  if (process != nullptr) {
    auto one = [&](const char* name, const char* type, const char* help, double v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + number(v) + "\n";
    };
    one("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.", process->cpu_seconds);
    one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", static_cast<double>(process->resident_bytes));
    one("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", static_cast<double>(process->virtual_bytes));
    one("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(process->open_fds));
    one("process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(process->max_fds));
    one("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
        process->start_time_seconds);
    one("tidewatch_process_threads", "gauge", "Threads of the tidewatch process.", static_cast<double>(process->threads));
  }
  return out;
}

// ---- StatsD -------------------------------------------------------------------------------

std::string statsdPrefix(std::string_view host) {
  std::string h(host);
  for (char& c : h) {
    if (c == '.' || c == '-') c = '_';
  }
  return "com.jetpack.jetmon." + h;
}

std::vector<std::string> statsdLines(const Metrics& metrics, const MetricCatalog& catalog, const std::string& prefix,
                                     std::map<std::string, std::int64_t>& previous) {
  std::vector<std::string> out;
  for (const Metrics::Entry& e : metrics.entries()) {
    const auto match = catalog.find(e.name);
    const std::string name = prefix + "." + e.name;
    switch (e.kind) {
      case Metrics::Entry::Kind::kCounter: {
        std::int64_t& last = previous[e.name];
        const std::int64_t delta = e.value - last;
        last = e.value;
        if (delta > 0) out.push_back(name + ":" + std::to_string(delta) + "|c");
        break;
      }
      case Metrics::Entry::Kind::kGauge: {
        const bool timer = match && match->doc->statsd_timer;
        out.push_back(name + ":" + std::to_string(e.value) + (timer ? "|ms" : "|g"));
        break;
      }
      case Metrics::Entry::Kind::kHistogram: {
        // The mean over the interval, as a timer in ms (histogram families are in seconds).
        const std::string count_key = e.name + "#count", sum_key = e.name + "#sum_us";
        const auto count = static_cast<std::int64_t>(e.histogram.count);
        const auto sum_us = static_cast<std::int64_t>(std::llround(e.histogram.sum * 1e6));
        const std::int64_t dc = count - previous[count_key], ds = sum_us - previous[sum_key];
        previous[count_key] = count;
        previous[sum_key] = sum_us;
        if (dc > 0) out.push_back(name + ":" + std::to_string(ds / dc / 1000) + "|ms");
        break;
      }
      case Metrics::Entry::Kind::kDistribution:
        if (e.distribution.count > 0) {
          out.push_back(name + ".p50:" + std::to_string(std::llround(e.distribution.p50)) + "|g");
          out.push_back(name + ".p99:" + std::to_string(std::llround(e.distribution.p99)) + "|g");
        }
        break;
    }
  }
  return out;
}

}  // namespace tidewatch
