#include "stages/sink/log/log_sink.h"

#include <spdlog/spdlog.h>

#include <sstream>

namespace tidewatch::stages {

std::string describeCheck(const Check& c) {
  const ProbeResult& r = c.result;
  std::ostringstream o;
  o << "target=" << (c.request.target ? c.request.target->id : 0)
    << " blog=" << (c.request.target ? c.request.target->blog_id : 0)
    << " url=" << (c.request.target ? c.request.target->url : "") << ' ' << toString(r.method)
    << " code=" << r.http_code << " error=" << static_cast<int>(r.error) << '(' << toString(r.error)
    << ')';
  if (r.dns_error != DnsErrorKind::kNone) o << " dns=" << toString(r.dns_error);
  if (r.keyword_rule != KeywordRule::kNone) o << " keyword_rule=" << toString(r.keyword_rule);
  o << " status_type=" << toString(c.verdict.status_type) << (c.verdict.failure ? " FAIL" : " ok")
    << " rtt_ms=" << r.timings.rtt_ms << " dns_ms=" << r.timings.dns_ms
    << " tcp_ms=" << r.timings.tcp_ms << " tls_ms=" << r.timings.tls_ms
    << " ttfb_ms=" << r.timings.ttfb_ms;
  if (r.tls.version != 0) o << " tls=\"" << tlsVersionName(r.tls.version) << '"';
  if (!r.error_detail.empty()) o << " detail=\"" << r.error_detail << '"';
  return o.str();
}

namespace {

struct LogSinkOptions {
  bool only_failures = true;
};

class LogSink final : public Sink {
 public:
  explicit LogSink(LogSinkOptions o) : options_(o) {}
  bool wants(const Check& c) const override { return !options_.only_failures || c.verdict.failure; }
  void consume(const CheckPtr& check) override { spdlog::info("check {}", describeCheck(*check)); }

 private:
  LogSinkOptions options_;
};

}  // namespace

void registerLogSink(StageRegistry& registry) {
  registry.add({StageKind::kSink, "sink.log", "logs results (failures only unless only_failures: false)",
                [](ConfigMap& m) {
                  LogSinkOptions o;
                  o.only_failures = m.getBool("only_failures", true);
                  return std::any(o);
                },
                [](const std::any& opts, StageContext&) -> std::unique_ptr<Stage> {
                  return std::make_unique<LogSink>(std::any_cast<LogSinkOptions>(opts));
                }});
}

}  // namespace tidewatch::stages
