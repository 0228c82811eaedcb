// PipelineGraph: the oneTBB flow graph a check travels through (DESIGN.md §1–3).
//
//   due_queue (priority_queue_node: park markers first, then FIFO)
//     → tokens (limiter_node<CheckPtr, long long>: the in-flight cap; TokenGate moves it)
//     → probe (async_node: the body starts I/O and returns; completion puts the result back)
//     → classify (function_node, CPU only)
//     → route (function_node: reschedule hook, token back, fan-out to the sinks that want it)
//     → one function_node per sink (serial or parallel, as the sink declares)
//
// Every submitted check completes exactly once and is routed exactly once; the counters
// prove it at any moment: dispatched == completed + in_flight, completed == routed + backlog.
// Nothing is dropped to relieve pressure: the dispatcher pauses instead (runner.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/check.h"
#include "pipeline/stage.h"
#include "pipeline/token_gate.h"

namespace tidewatch {

class GraphHooks {
 public:
  virtual ~GraphHooks() = default;
  // A check has been classified and is being routed (TBB thread, CPU only). Called before
  // its token goes back and before any sink sees it.
  virtual void onRouted(const CheckPtr& check) = 0;
};

struct GraphCounters {
  std::int64_t submitted = 0;   // put into the due queue
  std::int64_t dispatched = 0;  // admitted by the limiter and handed to the probe
  std::int64_t completed = 0;   // probe reported a result
  std::int64_t routed = 0;      // classified and routed (token returned)
  std::int64_t in_flight = 0;   // dispatched − completed
  std::int64_t queued = 0;      // submitted − dispatched (waiting for a token)
  std::int64_t result_backlog = 0;  // completed − routed
  std::int64_t sink_backlog = 0;    // handed to sinks, not yet consumed
};

class PipelineGraph : private ProbeCallback {
 public:
  struct SinkBinding {
    Sink* sink;
    std::string name;  // registered type, for the DOT output
  };

  // `threads` sizes the graph's own TBB arena (0 = one per core, at least 2).
  PipelineGraph(Probe& probe, const Classifier& classifier, std::vector<SinkBinding> sinks,
                GraphHooks& hooks, std::int64_t hard_max_tokens, int threads = 0);
  ~PipelineGraph() override;
  PipelineGraph(const PipelineGraph&) = delete;
  PipelineGraph& operator=(const PipelineGraph&) = delete;

  void submit(CheckPtr check);  // any thread
  void waitForAll();            // blocks until every submitted check has been consumed

  TokenGate& tokens();
  GraphCounters counters() const;

  // DOT description of a graph with these stage names (what `tidewatch dump-graph` prints).
  static std::string dot(const std::string& source, const std::string& probe,
                         const std::string& classify, const std::vector<std::string>& sinks,
                         std::int64_t hard_max_tokens);

 private:
  void onProbeDone(CheckPtr check) override;

  struct Arena;
  struct Nodes;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<Nodes> nodes_;
  Probe& probe_;
  const Classifier& classifier_;
  std::vector<SinkBinding> sinks_;
  GraphHooks& hooks_;
  std::unique_ptr<TokenGate> tokens_;
  std::atomic<std::int64_t> submitted_{0}, dispatched_{0}, completed_{0}, routed_{0};
  std::atomic<std::int64_t> sink_in_{0}, sink_out_{0};
  std::atomic<std::uint64_t> marker_seq_{0};
};

}  // namespace tidewatch
