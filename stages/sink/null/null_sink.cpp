#include "stages/sink/null/null_sink.h"

#include <atomic>

#include "core/metrics.h"

namespace tidewatch::stages {
namespace {

class NullSink final : public Sink {
 public:
  explicit NullSink(Metrics& metrics) : consumed_(metrics.counter("sink.null.consumed")) {}
  void consume(const CheckPtr&) override { consumed_.fetch_add(1, std::memory_order_relaxed); }
  bool serial() const override { return false; }

 private:
  std::atomic<std::uint64_t>& consumed_;
};

}  // namespace

void registerNullSink(StageRegistry& registry) {
  registry.add({StageKind::kSink, "sink.null", "counts results and drops them",
                [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext& ctx) -> std::unique_ptr<Stage> {
                  return std::make_unique<NullSink>(ctx.metrics);
                }});
}

}  // namespace tidewatch::stages
