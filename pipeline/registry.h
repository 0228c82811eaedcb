// Stage factories, registered by name (stages/register_all.h is the one explicit list).
//
// A factory has two steps, so that the whole config is validated before anything is built:
// parse() turns the stage's YAML options into its own options struct (recording errors with
// key paths), and create() builds the stage from those options at startup.
//
// Threads: a registry is filled once (add() is not thread-safe) and only read afterwards
// (find, names, create: any thread). parse() and create() run on the thread that loads the
// config or builds the pipeline (startup, SIGHUP reload); create() may block briefly (bind a
// socket, open a pool) and throws to refuse a stage. The StageContext must outlive the stages
// built from it.
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/stage.h"

namespace tidewatch {

class EventLoop;
class Metrics;
namespace io {
class AsioEventLoop;  // io/event_loop.h; only a pointer here: pipeline/ includes no Asio header
}  // namespace io

enum class StageKind { kSource, kProbe, kClassify, kSink, kNotify };
std::string_view toString(StageKind kind);

// What a stage may use while it is being built and afterwards.
struct StageContext {
  const Config& config;
  EventLoop& loop;
  Metrics& metrics;
  // The Asio side of `loop`, for stages that do network I/O (probe.http, notify.wpcom, the
  // incident engine's verifier client): set by the app (and by tests that build such stages)
  // to the io::AsioEventLoop that `loop` is. Null when the loop is something else; a stage
  // that needs it then refuses to build (stages/asio_loop.h).
  io::AsioEventLoop* asio = nullptr;
  // Built before the sinks, so that a sink (the incident engine) can notify through them.
  std::vector<Notifier*> notifiers = {};
};

struct StageFactory {
  StageKind kind;
  std::string name;
  std::string description;
  // `options` is the stage's mapping; the "type" key is already consumed. Must call
  // options.finish() (or let the registry do it: it does after parse returns).
  std::function<std::any(ConfigMap& options)> parse;
  std::function<std::unique_ptr<Stage>(const std::any& options, StageContext& ctx)> create;
};

class StageRegistry {
 public:
  void add(StageFactory factory);  // duplicate names are a programming error (throws)
  const StageFactory* find(std::string_view name) const;
  std::vector<std::string> names(StageKind kind) const;
  const std::vector<StageFactory>& all() const { return factories_; }

  template <class T>
  std::unique_ptr<T> create(const StageSpec& spec, StageContext& ctx) const {
    std::unique_ptr<Stage> stage = createStage(spec, ctx);
    T* typed = dynamic_cast<T*>(stage.get());
    if (typed == nullptr) throwWrongKind(spec);
    stage.release();
    return std::unique_ptr<T>(typed);
  }

 private:
  std::unique_ptr<Stage> createStage(const StageSpec& spec, StageContext& ctx) const;
  [[noreturn]] static void throwWrongKind(const StageSpec& spec);
  std::vector<StageFactory> factories_;
};

}  // namespace tidewatch
