#include "pipeline/graph.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <sstream>

namespace tidewatch {

namespace flow = oneapi::tbb::flow;

namespace {

// priority_queue_node pops the *largest* element: markers outrank checks, then lower seq wins.
struct DueOrder {
  bool operator()(const CheckPtr& a, const CheckPtr& b) const {
    bool am = a->request.slot == kParkMarkerSlot, bm = b->request.slot == kParkMarkerSlot;
    if (am != bm) return bm;
    return a->request.seq > b->request.seq;
  }
};

}  // namespace

// The graph runs in an arena of its own whose slots are all for TBB workers: every message
// enters from an Asio thread (the dispatcher, probe completions), so without workers nothing
// would run. TBB sizes its default parallelism from the CPU affinity mask, which is one core
// when the daemon is pinned with taskset; the global_control lifts that floor to two.
struct PipelineGraph::Arena {
  explicit Arena(int threads)
      : concurrency(threads > 0 ? threads : std::max(2, oneapi::tbb::info::default_concurrency())),
        parallelism(oneapi::tbb::global_control::max_allowed_parallelism,
                    static_cast<std::size_t>(concurrency) + 1),
        arena(concurrency, 0) {}
  int concurrency;
  oneapi::tbb::global_control parallelism;
  oneapi::tbb::task_arena arena;
};

struct PipelineGraph::Nodes {
  using ProbeNode = flow::async_node<CheckPtr, CheckPtr>;
  using SinkNode = flow::function_node<CheckPtr, flow::continue_msg>;

  flow::graph g;
  flow::priority_queue_node<CheckPtr, DueOrder> due_queue{g};
  flow::limiter_node<CheckPtr, long long> tokens;
  std::unique_ptr<ProbeNode> probe;
  std::unique_ptr<flow::function_node<CheckPtr, CheckPtr>> classify;
  std::unique_ptr<flow::function_node<CheckPtr, flow::continue_msg>> route;
  std::vector<std::unique_ptr<SinkNode>> sinks;
  ProbeNode::gateway_type* gateway = nullptr;

  explicit Nodes(std::int64_t max) : tokens(g, static_cast<std::size_t>(max)) {}
};

PipelineGraph::PipelineGraph(Probe& probe, const Classifier& classifier,
                             std::vector<SinkBinding> sinks, GraphHooks& hooks,
                             std::int64_t hard_max_tokens, int threads)
    : arena_(std::make_unique<Arena>(threads)),
      probe_(probe),
      classifier_(classifier),
      sinks_(std::move(sinks)),
      hooks_(hooks) {
  // Built inside the arena: the graph attaches to the arena it is constructed in.
  arena_->arena.execute([&] { nodes_ = std::make_unique<Nodes>(hard_max_tokens); });
  Nodes& n = *nodes_;
  tokens_ = std::make_unique<TokenGate>(
      hard_max_tokens, [&n](std::int64_t k) { n.tokens.decrementer().try_put(k); },
      [this](std::int64_t k) {
        for (std::int64_t i = 0; i < k; ++i) {
          auto marker = std::make_shared<Check>();
          marker->request.slot = kParkMarkerSlot;
          marker->request.seq = marker_seq_.fetch_add(1, std::memory_order_relaxed);
          nodes_->due_queue.try_put(std::move(marker));
        }
      });

  n.probe = std::make_unique<Nodes::ProbeNode>(
      n.g, flow::unlimited, [this](const CheckPtr& check, Nodes::ProbeNode::gateway_type& gw) {
        if (check->request.slot == kParkMarkerSlot) {
          tokens_->onMarkerAdmitted();  // holds its token; never reaches the probe
          return;
        }
        dispatched_.fetch_add(1, std::memory_order_relaxed);
        gw.reserve_wait();
        probe_.start(check, *this);
      });
  n.gateway = &n.probe->gateway();

  n.classify = std::make_unique<flow::function_node<CheckPtr, CheckPtr>>(
      n.g, flow::unlimited, [this](const CheckPtr& check) {
        classifier_.classify(*check);
        return check;
      });

  for (auto& binding : sinks_) {
    Sink* sink = binding.sink;
    std::size_t concurrency = sink->serial() ? flow::serial : flow::unlimited;
    n.sinks.push_back(std::make_unique<Nodes::SinkNode>(
        n.g, concurrency, [this, sink](const CheckPtr& check) {
          sink->consume(check);
          sink_out_.fetch_add(1, std::memory_order_relaxed);
          return flow::continue_msg();
        }));
  }

  n.route = std::make_unique<flow::function_node<CheckPtr, flow::continue_msg>>(
      n.g, flow::unlimited, [this](const CheckPtr& check) {
        hooks_.onRouted(check);
        routed_.fetch_add(1, std::memory_order_relaxed);
        tokens_->release();
        for (std::size_t i = 0; i < sinks_.size(); ++i) {
          if (!sinks_[i].sink->wants(*check)) continue;
          sink_in_.fetch_add(1, std::memory_order_relaxed);
          nodes_->sinks[i]->try_put(check);
        }
        return flow::continue_msg();
      });

  flow::make_edge(n.due_queue, n.tokens);
  flow::make_edge(n.tokens, *n.probe);
  flow::make_edge(*n.probe, *n.classify);
  flow::make_edge(*n.classify, *n.route);
}

PipelineGraph::~PipelineGraph() {
  // Park markers hold tokens but no wait reservation, so this returns once real work is done.
  waitForAll();
  arena_->arena.execute([&] { nodes_.reset(); });
}

void PipelineGraph::submit(CheckPtr check) {
  submitted_.fetch_add(1, std::memory_order_relaxed);
  nodes_->due_queue.try_put(std::move(check));
}

void PipelineGraph::onProbeDone(CheckPtr check) {
  completed_.fetch_add(1, std::memory_order_relaxed);
  nodes_->gateway->try_put(check);
  nodes_->gateway->release_wait();
}

void PipelineGraph::waitForAll() {
  arena_->arena.execute([&] { nodes_->g.wait_for_all(); });
}

TokenGate& PipelineGraph::tokens() { return *tokens_; }

GraphCounters PipelineGraph::counters() const {
  GraphCounters c;
  // Read downstream first so every derived difference is non-negative.
  c.sink_backlog = -sink_out_.load(std::memory_order_acquire);
  c.routed = routed_.load(std::memory_order_acquire);
  c.completed = completed_.load(std::memory_order_acquire);
  c.dispatched = dispatched_.load(std::memory_order_acquire);
  c.submitted = submitted_.load(std::memory_order_acquire);
  c.sink_backlog += sink_in_.load(std::memory_order_acquire);
  c.in_flight = c.dispatched - c.completed;
  c.queued = c.submitted - c.dispatched;
  c.result_backlog = c.completed - c.routed;
  return c;
}

std::string PipelineGraph::dot(const std::string& source, const std::string& probe,
                               const std::string& classify, const std::vector<std::string>& sinks,
                               std::int64_t hard_max_tokens) {
  std::ostringstream o;
  o << "digraph tidewatch {\n"
    << "  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n"
    << "  subgraph cluster_io { label=\"Asio event loop\"; style=dashed;\n"
    << "    source [label=\"" << source << "\\n(TargetTable)\"];\n"
    << "    wheel [label=\"DueWheel\\nper-second buckets\"];\n"
    << "    dispatcher [label=\"dispatcher\\n(timer tick, budget, pause rules)\"];\n  }\n"
    << "  subgraph cluster_tbb { label=\"tbb::flow::graph\";\n"
    << "    due_queue [label=\"due_queue\\npriority_queue_node\"];\n"
    << "    tokens [label=\"tokens\\nlimiter_node<CheckPtr, long long>\\nmax " << hard_max_tokens
    << "\"];\n"
    << "    probe [label=\"probe: " << probe << "\\nasync_node\"];\n"
    << "    classify [label=\"classify: " << classify << "\\nfunction_node\"];\n"
    << "    route [label=\"route\\nfunction_node\"];\n";
  for (std::size_t i = 0; i < sinks.size(); ++i)
    o << "    sink" << i << " [label=\"sink: " << sinks[i] << "\\nfunction_node\"];\n";
  o << "  }\n"
    << "  controller [label=\"controller\\n(token target)\", shape=ellipse];\n"
    << "  source -> wheel [label=\"merge\"];\n"
    << "  wheel -> dispatcher [label=\"due\"];\n"
    << "  dispatcher -> due_queue [label=\"budgeted\"];\n"
    << "  due_queue -> tokens;\n  tokens -> probe;\n  probe -> classify;\n  classify -> route;\n"
    << "  route -> wheel [label=\"reschedule\", style=dashed];\n"
    << "  route -> tokens [label=\"decrement (token back)\", style=dashed];\n"
    << "  controller -> tokens [label=\"park / release\", style=dotted];\n";
  for (std::size_t i = 0; i < sinks.size(); ++i) o << "  route -> sink" << i << ";\n";
  o << "}\n";
  return o.str();
}

}  // namespace tidewatch
