// probe_load: fires N checks through probe.http — built from YAML through the registry exactly
// as the daemon builds it — with a concurrency limit, and reports checks/s and CPU per check
// of this process (utime+stime from getrusage), per pass and per error code.
//
//   probe_load --config bench.yaml --hosts 100000 --concurrency 64 --threads 1
//              --url 'http://site-%07d.fleet.test:PORT/' --url 'http://site-%07d.fleet.test:PORT/'
//              --url 'https://site-%07d.fleet.test:PORT2/' --url
//              'https://site-%07d.fleet.test:PORT2/'
//
// Each --url is one pass over the same hosts, in order, in one process: the first http pass
// fills the DNS cache, the second is the steady state the daemon runs in; the first https pass
// does full handshakes (DNS already cached); with probe.tls12_resumption: true the
// second is a full handshake capped at TLS 1.2 that earns a TLS 1.2 session, and the third and
// later resume it (without the policy the second pass already resumes TLS 1.3 sessions). The YAML's
// pipeline.probe must be probe.http; pipeline.source is required by the config parser but not used
// here.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "io/event_loop.h"
#include "pipeline/config.h"
#include "core/metrics.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"

using namespace tidewatch;

namespace {

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class Driver final : public ProbeCallback {
 public:
  Driver(Probe& probe, std::vector<TargetPtr> targets, std::size_t concurrency)
      : probe_(probe), targets_(std::move(targets)), concurrency_(concurrency) {}

  void runPass() {
    next_ = 0;
    completed_ = 0;
    {
      std::lock_guard lock(mu_);
      codes_.clear();
      resumed_ = 0;
      capped_ = 0;
    }
    std::size_t initial = std::min(concurrency_, targets_.size());
    next_ = initial;
    for (std::size_t i = 0; i < initial; ++i) launch(i);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return completed_ == targets_.size(); });
  }

  void onProbeDone(CheckPtr check) override {
    {
      std::lock_guard lock(mu_);
      auto key = std::make_pair(static_cast<int>(check->result.error), check->result.http_code);
      ++codes_[key];
      if (check->result.tls.resumed) ++resumed_;
      if (check->result.tls.tls12_capped) ++capped_;
      if (examples_.size() < 5 && check->result.error != ErrorCode::kNone) {
        examples_.push_back(check->request.target->url + " -> " + check->result.error_detail);
      }
    }
    std::size_t i = next_.fetch_add(1);
    if (i < targets_.size()) launch(i);
    if (completed_.fetch_add(1) + 1 == targets_.size()) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }

  void report(const char* label, double wall, double cpu) {
    std::lock_guard lock(mu_);
    double n = static_cast<double>(targets_.size());
    std::printf(
        "%s: checks=%zu wall_s=%.3f checks_per_s=%.0f cpu_s=%.3f cpu_us_per_check=%.1f "
        "checks_per_cpu_s=%.0f\n",
        label, targets_.size(), wall, n / wall, cpu, cpu * 1e6 / n, n / cpu);
    if (resumed_ || capped_) std::printf("  tls_resumed=%zu tls12_capped=%zu\n", resumed_, capped_);
    for (const auto& [key, count] : codes_) {
      std::printf("  error=%d http=%d count=%zu\n", key.first, key.second, count);
    }
    for (const auto& e : examples_) std::printf("  e.g. %s\n", e.c_str());
    examples_.clear();
    std::fflush(stdout);
  }

 private:
  void launch(std::size_t i) {
    auto check = std::make_shared<Check>();
    check->request.target = targets_[i];
    probe_.start(std::move(check), *this);
  }

  Probe& probe_;
  std::vector<TargetPtr> targets_;
  std::size_t concurrency_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> completed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<int, int>, std::size_t> codes_;
  std::size_t resumed_ = 0;
  std::size_t capped_ = 0;
  std::vector<std::string> examples_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string config_file;
  std::vector<std::string> urls;
  std::size_t hosts = 100000, concurrency = 64, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    std::string v = argv[i + 1];
    if (a == "--config")
      config_file = v;
    else if (a == "--url")
      urls.push_back(v);
    else if (a == "--hosts")
      hosts = std::stoul(v);
    else if (a == "--concurrency")
      concurrency = std::stoul(v);
    else if (a == "--threads")
      threads = std::stoul(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (config_file.empty() || urls.empty()) {
    std::fprintf(stderr,
                 "usage: probe_load --config FILE --url PATTERN [--url PATTERN…] [--hosts N] "
                 "[--concurrency C] [--threads T]\n");
    return 2;
  }
  ConfigDiagnostics diag;
  Config cfg = parseConfigFile(config_file, builtinStages(), diag);
  if (!diag.ok()) {
    std::fprintf(stderr, "config: %s\n", diag.firstError().c_str());
    return 1;
  }
  io::AsioEventLoop loop(threads);
  loop.start();
  Metrics metrics;
  StageContext ctx{cfg, loop, metrics, &loop};
  auto probe = builtinStages().create<Probe>(cfg.pipeline.probe, ctx);

  auto site = defaultSiteConfig();
  for (std::size_t p = 0; p < urls.size(); ++p) {
    std::vector<TargetPtr> targets;
    targets.reserve(hosts);
    for (std::size_t i = 1; i <= hosts; ++i) {
      char buf[512];
      std::snprintf(buf, sizeof buf, urls[p].c_str(), static_cast<int>(i));
      auto t = std::make_shared<Target>();
      t->id = i;
      t->url = buf;
      t->config = site;
      targets.push_back(std::move(t));
    }
    Driver driver(*probe, std::move(targets), concurrency);
    auto w0 = std::chrono::steady_clock::now();
    double c0 = cpuSeconds();
    driver.runPass();
    double cpu = cpuSeconds() - c0;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::string label = "pass " + std::to_string(p + 1) + " " + urls[p];
    driver.report(label.c_str(), wall, cpu);
  }
  probe.reset();
  loop.stop();
  return 0;
}
