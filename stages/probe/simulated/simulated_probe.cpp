#include "stages/probe/simulated/simulated_probe.h"

#include <chrono>
#include <cmath>

#include "core/text.h"
#include "core/event_loop.h"

namespace tidewatch::stages {
namespace {

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double unit(std::uint64_t h) { return (static_cast<double>(h >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

class SimulatedProbe final : public Probe {
 public:
  SimulatedProbe(SimulatedProbeOptions o, EventLoop& loop, int default_timeout_s)
      : o_(o), loop_(loop), default_timeout_s_(default_timeout_s) {}

  void start(CheckPtr check, ProbeCallback& done) override {
    const ProbeRequest& req = check->request;
    std::uint64_t h = splitmix(o_.seed ^ splitmix(req.target ? req.target->id : 0) ^
                               splitmix(static_cast<std::uint64_t>(req.due_s) * 31 + req.attempt));
    double outcome = unit(splitmix(h));
    double latency = o_.latency_ms;
    if (o_.lognormal && latency > 0) {
      // Box–Muller from two hash-derived uniforms.
      double z = std::sqrt(-2.0 * std::log(unit(h))) * std::cos(6.283185307179586 * unit(splitmix(h + 1)));
      latency = o_.latency_ms * std::exp(o_.sigma * z);
    }
    ProbeResult& r = check->result;
    r.method = req.target && req.target->config ? req.target->config->method : HttpMethod::kGet;
    r.started_at_ms = unixNowMs();
    if (outcome < o_.timeout_rate) {
      int site_timeout = req.target && req.target->config && req.target->config->timeout_seconds
                             ? req.target->config->timeout_seconds
                             : default_timeout_s_;
      latency = o_.timeout_ms > 0 ? o_.timeout_ms : site_timeout * 1000.0;
      r.error = ErrorCode::kTimeout;
      r.failed_phase = ProbePhase::kFirstByte;
      r.error_detail = "simulated timeout";
    } else if (outcome < o_.timeout_rate + o_.failure_rate) {
      r.http_code = o_.failure_code;
      r.body_bytes = 180;
    } else {
      r.http_code = 200;
      r.body_bytes = 700;
    }
    auto ms = static_cast<std::uint32_t>(std::lround(latency));
    if (r.error == ErrorCode::kNone) {
      r.timings.tcp_ms = ms / 4;
      r.timings.ttfb_ms = ms - ms / 4;
      r.timings.rtt_ms = ms;
    }
    if (latency <= 0) {
      r.finished_at_ms = r.started_at_ms;
      done.onProbeDone(std::move(check));
      return;
    }
    loop_.postAfter(std::chrono::microseconds(static_cast<std::int64_t>(latency * 1000.0)),
                    [check = std::move(check), &done]() mutable {
                      check->result.finished_at_ms = unixNowMs();
                      done.onProbeDone(std::move(check));
                    });
  }

 private:
  SimulatedProbeOptions o_;
  EventLoop& loop_;
  int default_timeout_s_;
};

}  // namespace

void registerSimulatedProbe(StageRegistry& registry) {
  registry.add(
      {StageKind::kProbe, "probe.simulated",
       "deterministic latency and outcome mix from a seed (no network)",
       [](ConfigMap& m) {
         SimulatedProbeOptions o;
         o.seed = static_cast<std::uint64_t>(m.getInt("seed", 1, 0));
         ConfigMap lat = m.child("latency");
         std::string dist = lat.getString("distribution", "fixed");
         if (dist != "fixed" && dist != "lognormal")
           lat.diagnostics().error(lat.pathOf("distribution"), "must be fixed or lognormal");
         o.lognormal = dist == "lognormal";
         o.latency_ms = lat.getDouble("ms", 0);
         o.sigma = lat.getDouble("sigma", 0.5);
         if (o.latency_ms < 0) lat.diagnostics().error(lat.pathOf("ms"), "must not be negative");
         if (o.sigma < 0) lat.diagnostics().error(lat.pathOf("sigma"), "must not be negative");
         lat.finish();
         o.failure_rate = m.getDouble("failure_rate", 0);
         o.failure_code = static_cast<int>(m.getInt("failure_code", 503, 100, 599));
         o.timeout_rate = m.getDouble("timeout_rate", 0);
         o.timeout_ms = m.getDouble("timeout_ms", 0);
         if (o.failure_rate < 0 || o.failure_rate > 1)
           m.diagnostics().error(m.pathOf("failure_rate"), "must be between 0 and 1");
         if (o.timeout_rate < 0 || o.timeout_rate > 1)
           m.diagnostics().error(m.pathOf("timeout_rate"), "must be between 0 and 1");
         if (o.failure_rate + o.timeout_rate > 1)
           m.diagnostics().error(m.pathOf("timeout_rate"), "failure_rate + timeout_rate must not exceed 1");
         if (o.timeout_ms < 0) m.diagnostics().error(m.pathOf("timeout_ms"), "must not be negative");
         return std::any(o);
       },
       [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
         return std::make_unique<SimulatedProbe>(std::any_cast<SimulatedProbeOptions>(opts), ctx.loop,
                                                 ctx.config.probe.default_timeout_s);
       }});
}

}  // namespace tidewatch::stages
