#include "stages/notify/log/log_notifier.h"

#include <spdlog/spdlog.h>

namespace tidewatch::stages {
namespace {

class LogNotifier final : public Notifier {
 public:
  void notify(const StatusChange& c) override {
    spdlog::info("status change blog_id={} url={} status_id={} status_type={} checks={}", c.blog_id,
                 c.monitor_url, c.status_id, toString(c.status_type), c.checks.size());
  }
};

}  // namespace

void registerLogNotifier(StageRegistry& registry) {
  registry.add({StageKind::kNotify, "notify.log", "logs status-change notifications",
                [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext&) -> std::unique_ptr<Stage> {
                  return std::make_unique<LogNotifier>();
                }});
}

}  // namespace tidewatch::stages
