#include "app/commands.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/lifecycle.h"
#include "app/metric_catalog.h"
#include "core/metrics_export.h"
#include "io/admin_server.h"
#include "io/event_loop.h"
#include "io/net/host_name.h"
#include "io/statsd_sender.h"
#include "pipeline/config.h"
#include "pipeline/runner.h"
#include "stages/register_all.h"

#ifndef TIDEWATCH_VERSION
#define TIDEWATCH_VERSION "0.1.0"
#endif

namespace tidewatch::app {
namespace {

const char* kDemo = R"(# embedded demo: 100 000 simulated sites on a 60 s interval
pipeline:
  source: {type: source.generated, url: "http://site-%07d.fleet.test/", count: 100000, interval_s: 60}
  probe:
    type: probe.simulated
    seed: 42
    latency: {distribution: lognormal, ms: 40, sigma: 0.6}
    failure_rate: 0.0001
    timeout_rate: 0.00005
    timeout_ms: 2000
  sink: [{type: sink.null}, {type: sink.log, only_failures: true}]
  notify: {type: notify.log}
admin: {listen: "127.0.0.1:9190"}
)";

bool loadConfig(const std::string& file, Config& out, bool print) {
  ConfigDiagnostics diag;
  out = file.empty() ? parseConfigString(kDemo, builtinStages(), diag)
                     : parseConfigFile(file, builtinStages(), diag);
  for (const auto& m : diag.messages()) {
    if (m.level == ConfigMessage::Level::kError) {
      if (print) std::cout << "FAIL " << m.path << ": " << m.text << "\n";
      else spdlog::error("config: {}: {}", m.path, m.text);
    }
  }
  return diag.ok();
}

}  // namespace

const char* embeddedDemoConfig() { return kDemo; }

int printMetricsDoc() {
  std::cout << metricCatalog().markdown();
  return 0;
}

int printVersion() {
  std::cout << "tidewatch " << TIDEWATCH_VERSION << "\n";
  return 0;
}

int validateConfig(const std::string& file) {
  Config cfg;
  bool ok = loadConfig(file, cfg, true);
  if (!ok) {
    std::cout << "FAIL validation (" << (file.empty() ? "<embedded>" : file) << ")\n";
    return 1;
  }
  std::cout << "PASS config parse\n";
  std::cout << "INFO source=" << cfg.pipeline.source.type << " probe=" << cfg.pipeline.probe.type
            << " classify=" << cfg.pipeline.classify.type << "\n";
  for (const auto& s : cfg.pipeline.sinks) std::cout << "INFO sink=" << s.type << "\n";
  for (const auto& n : cfg.pipeline.notifiers) std::cout << "INFO notify=" << n.type << "\n";
  std::cout << "INFO tokens max=" << (cfg.tokens.max > 0 ? std::to_string(cfg.tokens.max) : "auto(" + std::to_string(automaticTokenMax()) + ")")
            << " target=" << (cfg.tokens.target > 0 ? std::to_string(cfg.tokens.target) : "auto") << "\n";
  std::cout << "INFO scheduler retry_interval_s=" << cfg.scheduler.retry_interval_s
            << " num_of_checks=" << cfg.scheduler.num_of_checks << " tick_ms=" << cfg.scheduler.tick_ms << "\n";
  std::cout << "INFO probe default_timeout_s=" << cfg.probe.default_timeout_s
            << " allow_private_targets=" << (cfg.probe.allow_private_targets ? "true" : "false") << "\n";
  if (cfg.database.configured)
    std::cout << "INFO database " << (cfg.database.socket.empty() ? cfg.database.host + ":" + std::to_string(cfg.database.port) : cfg.database.socket)
              << " name=" << cfg.database.name << "\n";
  std::cout << "INFO admin listen=" << (cfg.admin.listen.empty() ? "disabled" : cfg.admin.listen) << "\n";
  std::cout << "PASS validation passed\n";
  return 0;
}

int dumpGraph(const std::string& file) {
  Config cfg;
  if (!loadConfig(file, cfg, false)) return 1;
  std::int64_t max = cfg.tokens.max > 0 ? cfg.tokens.max : automaticTokenMax();
  std::vector<std::string> sinks;
  for (const auto& s : cfg.pipeline.sinks) sinks.push_back(s.type);
  std::cout << PipelineGraph::dot(cfg.pipeline.source.type, cfg.pipeline.probe.type,
                                  cfg.pipeline.classify.type, sinks, max);
  return 0;
}

namespace {

// `tidewatch run` as the lifecycle sees it: the runner, and the admin server beside it.
class Daemon final : public Service {
 public:
  Daemon(Config cfg, std::string config_file, io::AsioEventLoop& loop, Metrics& metrics)
      : cfg_(std::move(cfg)), config_file_(std::move(config_file)), metrics_(metrics) {
    runner_ = std::make_unique<Runner>(cfg_, builtinStages(), loop, metrics, &loop);
  }

  // Throws (startup) when admin.listen or statsd.address cannot be served.
  void startAdmin(io::AsioEventLoop& loop) {
    if (!cfg_.statsd.address.empty()) startStatsd(loop);
    if (cfg_.admin.listen.empty()) return;
    std::map<std::string, io::AdminServer::Route> routes;
    auto json = [this](const io::HttpRequestHead&) { return io::HttpReply{200, "application/json", stateJson()}; };
    routes["/status"] = json;
    routes["/api/state"] = json;
    routes["/metrics"] = [this](const io::HttpRequestHead&) {
      const ProcessStats process = readProcessStats();
      return io::HttpReply{200, "text/plain; version=0.0.4", prometheusText(metrics_, metricCatalog(), &process)};
    };
    routes["/healthz"] = [](const io::HttpRequestHead&) { return io::HttpReply{200, "text/plain", "ok\n"}; };
    admin_ = std::make_unique<io::AdminServer>(loop.context(), cfg_.admin.listen, std::move(routes));
    spdlog::info("admin server on {}", cfg_.admin.listen);
  }

  void start() override {
    runner_->start();
    spdlog::info("tidewatch {} running ({})", TIDEWATCH_VERSION,
                 config_file_.empty() ? "embedded demo config" : config_file_);
  }

  void reload() override {
    spdlog::info("SIGHUP: reloading {}", config_file_.empty() ? "<embedded>" : config_file_);
    Config fresh;
    if (loadConfig(config_file_, fresh, false)) runner_->reload(fresh);
    else spdlog::error("reload: config invalid, keeping the running one");
  }

  bool drain() override {
    spdlog::info("{}", runner_->summaryLine());
    // In-flight checks end by their own deadlines: the longest is the probe timeout.
    bool drained = runner_->drain(std::chrono::seconds(cfg_.probe.default_timeout_s + 5));
    if (admin_) admin_->stop();
    if (statsd_timer_) statsd_timer_->cancel();
    return drained;
  }

 private:
  // StatsD: Jetmon's names every statsd.interval_s, on the loop (formatting only; the send
  // is fire-and-forget UDP).
  void startStatsd(io::AsioEventLoop& loop) {
    statsd_ = std::make_unique<io::StatsdSender>(loop.context(), cfg_.statsd.address);
    statsd_prefix_ = cfg_.statsd.prefix.empty() ? statsdPrefix(cfg_.runtime.host_id) : cfg_.statsd.prefix;
    statsd_loop_ = &loop;
    scheduleStatsd();
    spdlog::info("statsd to {} as {}", cfg_.statsd.address, statsd_prefix_);
  }
  void scheduleStatsd() {
    statsd_timer_ = statsd_loop_->runAfter(std::chrono::seconds(cfg_.statsd.interval_s), [this] {
      statsd_->send(statsdLines(metrics_, metricCatalog(), statsd_prefix_, statsd_previous_));
      scheduleStatsd();
    });
  }

  // /api/state (and /status): what the runner measured, as JSON.
  std::string stateJson() const {
    RunnerStats s = runner_->stats();
    nlohmann::json j = {{"version", TIDEWATCH_VERSION},
                        {"host_id", cfg_.runtime.host_id},
                        {"targets", s.targets},
                        {"required_rate", s.required_rate},
                        {"checks_per_s", s.checks_per_s},
                        {"dispatched", s.dispatched},
                        {"completed", s.completed},
                        {"in_flight", s.in_flight},
                        {"routed", s.routed},
                        {"pending", s.pending},
                        {"tokens", s.token_target},
                        {"token_max", s.token_max},
                        {"control_mode", s.control_mode},
                        {"monitor_pressure", s.monitor_pressure},
                        {"max_lag_ms", s.max_lag_ms},
                        {"failures", s.failures},
                        {"monitor_faults", s.monitor_faults},
                        {"stale_results", s.stale_results},
                        {"result_backlog", s.result_backlog},
                        {"side_effect_rows", s.side_effect_rows},
                        {"side_effect_fill", s.side_effect_fill},
                        {"paused", s.paused},
                        {"pause_cause", s.pause_cause},
                        {"lateness_p50_s", s.lateness_p50_s},
                        {"lateness_p99_s", s.lateness_p99_s},
                        {"lateness_max_s", s.lateness_max_s},
                        {"age_p50_s", s.age_p50_s},
                        {"age_p99_s", s.age_p99_s},
                        {"age_max_s", s.age_max_s},
                        {"stale_targets", s.stale_targets},
                        {"never_checked", s.never_checked}};
    return j.dump() + "\n";
  }

  Config cfg_;
  std::string config_file_;
  Metrics& metrics_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<io::AdminServer> admin_;
  std::unique_ptr<io::StatsdSender> statsd_;
  io::AsioEventLoop* statsd_loop_ = nullptr;
  std::unique_ptr<EventLoop::Timer> statsd_timer_;
  std::string statsd_prefix_;
  std::map<std::string, std::int64_t> statsd_previous_;  // loop thread only (one timer)
};

}  // namespace

int runDaemon(const RunOptions& options) {
  Config cfg;
  if (!loadConfig(options.config, cfg, false)) return 2;
  if (cfg.pipeline.source.type.empty() || cfg.pipeline.probe.type.empty()) {
    spdlog::error("config: pipeline.source and pipeline.probe are required to run the monitor");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.runtime.log_level));
  if (cfg.runtime.host_id.empty()) cfg.runtime.host_id = io::localHostName();

  Metrics metrics;
  io::AsioEventLoop loop(static_cast<std::size_t>(cfg.runtime.io_threads));
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>(cfg, options.config, loop, metrics);
  } catch (const std::exception& e) {
    spdlog::error("startup failed: {}", e.what());
    return 2;
  }
  try {
    daemon->startAdmin(loop);
  } catch (const std::exception& e) {
    spdlog::error("startup failed: {}", e.what());
    return 2;
  }
  LifecycleOptions lifecycle;
  lifecycle.name = "the monitor";
  lifecycle.reload_on_sighup = true;
  lifecycle.run_for = std::chrono::milliseconds(static_cast<long long>(options.duration_s * 1000));
  return runUntilStopped(loop, std::move(daemon), lifecycle);
}

}  // namespace tidewatch::app
