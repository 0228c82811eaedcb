#include "stages/sink/incidents/incident_sink.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/text.h"
#include "io/net/host_name.h"
#include "core/metrics.h"
#include "io/mysql/event_store.h"
#include "stages/mysql_connection.h"
#include "stages/sink/incidents/correlation.h"
#include "stages/sink/incidents/recovery.h"
#include "stages/sink/incidents/shard_executor.h"
#include "stages/sink/incidents/slot_flags.h"
#include "stages/sink/incidents/state_machine.h"
#include "stages/sink/incidents/suspect_episode.h"
#include "stages/sink/incidents/verifier_factory.h"

namespace tidewatch::stages {
namespace {

int clampedShards(const IncidentOptions& o, int cores) { return o.shards > 0 ? o.shards : std::clamp(cores * 4, 8, 256); }
int clampedWorkers(const IncidentOptions& o, int cores) { return o.workers > 0 ? o.workers : std::clamp(cores, 1, 4); }
int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

IncidentDeps checked(IncidentDeps d) {
  if (!d.store) throw std::invalid_argument("sink.incidents: no event store");
  if (!d.metrics) throw std::invalid_argument("sink.incidents: no metrics");
  if (!d.now_ms) d.now_ms = unixNowMs;
  return d;
}

// The sink: the hot-path filter (wants(), allowFollowUp()), the engine's inputs onto the
// shard executor, and the effects of each decision carried out — mutations to the store,
// alerts to the notifiers, escalations to the verifiers, held failures to the timers.
class IncidentSinkImpl final : public IncidentSink {
 public:
  IncidentSinkImpl(IncidentOptions o, IncidentDeps d)
      : o_(std::move(o)),
        d_(checked(std::move(d))),
        window_(o_.correlation),
        engine_(o_, std::max(1, o_.num_of_checks > 0 ? o_.num_of_checks : d_.num_of_checks), d_.source,
                d_.notifiers.size(), *d_.metrics),
        episode_(o_, *d_.metrics),
        executor_(clampedShards(o_, cores()), clampedWorkers(o_, cores()), o_.tick_ms,
                  [this](ShardExecutor::Sites& sites, Work& w) { process(sites, w); }, [this] { tick(); },
                  &d_.metrics->gauge("incidents.backlog")) {
    recovery_thread_ = std::thread([this] { recoverOpenEvents(); });
    executor_.start();
  }

  ~IncidentSinkImpl() override { shutdown(); }

  // ---- hot path ---------------------------------------------------------------------------

  bool wants(const Check& c) const override {
    if (c.request.slot == kParkMarkerSlot || !c.request.target) return false;
    window_.record(c);
    if (c.verdict.failure) return true;
    const Target& t = *c.request.target;
    if (t.site_status != SiteStatus::kRunning) return true;
    if (flags_.flags(c.request.slot) & SlotFlags::kAttention) return true;
    if (recoveredSite(t.id)) return true;
    const TlsFacts& tls = c.result.tls;
    if (tls.version != 0 && tls.version <= 0x0302) return true;
    if (tls.cert_not_after != 0) {
      std::int32_t day = dayOf(tls.cert_not_after);
      std::int32_t known = flags_.sslDay(c.request.slot);
      if (known == kUnknownDay) known = t.ssl_expiry_date != 0 ? dayOf(t.ssl_expiry_date) : kUnknownDay;
      if (day != known) return true;
      // Inside the warning horizon the severity follows the calendar, not the certificate.
      std::int64_t now_s = c.result.finished_at_ms / 1000;
      if (tls.cert_not_after - now_s <= static_cast<std::int64_t>(o_.tls_warning_days + 1) * 86400) return true;
    }
    return false;
  }

  void consume(const CheckPtr& check) override {
    Work w;
    w.kind = Work::Kind::kResult;
    w.site = check->request.target->id;
    w.check = check;
    executor_.push(std::move(w));
  }

  bool serial() const override { return false; }

  bool allowFollowUp(const Check& c) const override {
    if (c.request.slot != kParkMarkerSlot && (flags_.flags(c.request.slot) & SlotFlags::kNoFollowUp)) return false;
    if (window_.suspect() && isInfrastructureFailure(c)) return false;
    return true;
  }

  Backlog backlog() const override { return {executor_.queued()}; }

  void flush() override {
    waitIdle(std::chrono::seconds(30));
    d_.store->drain(std::chrono::seconds(30));
  }

  // ---- test and ops surface -----------------------------------------------------------------

  void tick() override {
    std::int64_t now = d_.now_ms();
    auto change = window_.evaluate(now / 1000);
    if (change != CorrelationWindow::Change::kNone) {
      d_.store->submit(episode_.changed(change == CorrelationWindow::Change::kEntered, window_.lastTotals(), now));
    }
    executor_.releaseDue(now);
  }

  bool waitIdle(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      bool idle = recovered() && executor_.queued() == 0 && outstanding_.load() == 0 && d_.store->backlog() == 0;
      if (idle) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  bool monitorSuspect() const override { return window_.suspect(); }
  bool recovered() const override { return executor_.opened(); }

 private:
  void shutdown() {
    {
      // Late verdicts and delivery reports (on I/O threads) must not reach a dying sink.
      std::lock_guard lock(gate_->mu);
      gate_->open = false;
    }
    recovery_stop_.store(true);
    executor_.stop();
    if (recovery_thread_.joinable()) recovery_thread_.join();
  }

  // ---- restart recovery ---------------------------------------------------------------------

  void recoverOpenEvents() {
    std::vector<OpenEvent> events;
    if (!loadOpenEvents(*d_.store, recovery_stop_, events)) return;
    std::size_t n = 0;
    for (const auto& e : events) {
      std::uint64_t site = e.identity.endpoint_id;
      if (site == 0) continue;  // pre-tidewatch events keyed by blog only: nothing to resume
      // The workers wait for open(), so the shard maps are still ours.
      if (!resumeOpenEvent(executor_.sitesOf(site)[site], e)) continue;
      recovered_sites_.push_back(site);
      ++n;
    }
    std::sort(recovered_sites_.begin(), recovered_sites_.end());
    d_.metrics->gauge("incidents.recovered_open_events").store(static_cast<std::int64_t>(n));
    if (n != 0) spdlog::info("sink.incidents: resumed {} open events from the database", n);
    executor_.open();
  }

  // Sites resumed from the database are wanted until their first result has been seen (then
  // the slot flags take over). The list is written once before the executor opens and only
  // read afterwards, so lookups need no lock; it may hold other hosts' sites (every open
  // event is read), which simply never match.
  bool recoveredSite(std::uint64_t id) const {
    if (!executor_.opened() || recovered_sites_.empty()) return false;
    return std::binary_search(recovered_sites_.begin(), recovered_sites_.end(), id);
  }

  // ---- one input of the engine ---------------------------------------------------------------

  void process(ShardExecutor::Sites& sites, Work& w) {
    const Moment at{d_.now_ms(), window_.suspect(), d_.verifier ? d_.verifier->configured() : 0};
    Effects out;
    auto it = sites.find(w.site);
    switch (w.kind) {
      case Work::Kind::kResult: {
        bool fresh = false;
        if (it == sites.end()) {
          it = sites.try_emplace(w.site).first;
          fresh = true;
        }
        engine_.onResult(it->second, fresh, w.check, at, out);
        break;
      }
      case Work::Kind::kHeld:
        if (it == sites.end() || !engine_.onHeldReleased(it->second, w.generation, w.check, at, out)) return;
        break;
      case Work::Kind::kDelivered:
        engine_.onDelivered(it != sites.end() ? &it->second : nullptr, w.delivered, w.handoff_ms, w.previous_ms, at,
                            out);
        if (it == sites.end()) {
          carryOut(w.site, nullptr, out, at.now);
          return;
        }
        break;
      case Work::Kind::kVerified:
        outstanding_.fetch_sub(1, std::memory_order_relaxed);
        if (it == sites.end()) return;
        engine_.onVerified(it->second, w.generation, *w.verification, at, out);
        break;
    }
    SiteState& st = it->second;
    carryOut(w.site, &st, out, at.now);
    // Publishes the hot-path flags and drops the state of a site that is quiet again.
    StateMachine::Settled s = engine_.settle(st, at.now);
    if (st.slot != kParkMarkerSlot) flags_.setFlags(st.slot, s.flags);
    if (s.drop) sites.erase(it);
  }

  void carryOut(std::uint64_t site, const SiteState* st, Effects& out, std::int64_t now) {
    for (auto& m : out.mutations) d_.store->submit(std::move(m));
    if (out.unknown) {
      if (auto m = episode_.suppressed(*out.unknown, now)) d_.store->submit(std::move(*m));
    }
    if (out.ssl_day_changed && o_.write_ssl_expiry) d_.store->writeSslExpiryDate(site, *out.ssl_day_changed);
    if (out.ssl_day_seen && st && st->slot != kParkMarkerSlot) flags_.setSslDay(st->slot, *out.ssl_day_seen);
    if (out.last_alert_sent_ms && o_.write_ssl_expiry) d_.store->writeLastAlertSent(site, *out.last_alert_sent_ms);
    for (Alert& a : out.alerts) notify(a);
    if (out.hold) {
      Work w;
      w.kind = Work::Kind::kHeld;
      w.site = site;
      w.check = out.hold->check;
      w.generation = out.hold->generation;
      executor_.schedule(out.hold->at_ms, std::move(w));
    }
    if (out.escalation) verify(site, *out.escalation);
  }

  void notify(Alert& a) {
    a.change.on_delivered = [this, gate = gate_, site = a.site, handoff = a.handoff_ms,
                             previous = a.previous_ms](bool delivered) {
      std::lock_guard lock(gate->mu);
      if (!gate->open) return;  // the sink is gone; the stored anchor stays as it was
      Work w;
      w.kind = Work::Kind::kDelivered;
      w.site = site;
      w.delivered = delivered;
      w.handoff_ms = handoff;
      w.previous_ms = previous;
      executor_.push(std::move(w));
    };
    for (Notifier* n : d_.notifiers) n->notify(a.change);
  }

  void verify(std::uint64_t site, const Escalation& e) {
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    d_.verifier->verify(e.target, e.check->result, [this, gate = gate_, site, gen = e.generation](Verification v) {
      std::lock_guard lock(gate->mu);
      if (!gate->open) return;
      Work w;
      w.kind = Work::Kind::kVerified;
      w.site = site;
      w.generation = gen;
      w.verification = std::make_shared<Verification>(std::move(v));
      executor_.push(std::move(w));
    });
  }

  struct Gate {
    std::mutex mu;
    bool open = true;
  };
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  IncidentOptions o_;
  IncidentDeps d_;
  mutable CorrelationWindow window_;
  SlotFlags flags_;
  StateMachine engine_;
  SuspectEpisode episode_;
  std::atomic<std::int64_t> outstanding_{0};  // verifications in flight
  std::atomic<bool> recovery_stop_{false};
  std::vector<std::uint64_t> recovered_sites_;
  std::thread recovery_thread_;
  ShardExecutor executor_;  // last: its threads stop before anything they use goes
};

}  // namespace

std::unique_ptr<IncidentSink> makeIncidentSink(IncidentOptions options, IncidentDeps deps) {
  return std::make_unique<IncidentSinkImpl>(std::move(options), std::move(deps));
}

void registerIncidentSink(StageRegistry& registry) {
  registry.add(
      {StageKind::kSink, "sink.incidents",
       "incident engine: Seems Down / Down / recovery in jetmon_events, verifier escalation, "
       "WPCOM notifications, TLS advisories; correlated failures are Unknown, not Down",
       [](ConfigMap& m) { return std::any(parseIncidentOptions(m)); },
       [](const std::any& opts, StageContext& ctx) -> std::unique_ptr<Stage> {
         const DatabaseConfig& db = requiredDatabase(ctx, "pipeline.sinks: sink.incidents");
         IncidentOptions o = std::any_cast<IncidentOptions>(opts);
         IncidentDeps d;
         d.metrics = &ctx.metrics;
         d.source = !o.source.empty() ? o.source : !ctx.config.runtime.host_id.empty() ? ctx.config.runtime.host_id : io::localHostName();
         mysql::EventStore::Options so;
         so.workers = o.store_workers;
         so.source = d.source;
         d.store = std::make_shared<mysql::EventStore>(sharedPool(db, &ctx.metrics), so, &ctx.metrics);
         if (!ctx.config.verifiers.empty()) d.verifier = makeIncidentVerifierClient(ctx);
         d.notifiers = ctx.notifiers;
         d.num_of_checks = ctx.config.scheduler.num_of_checks;
         return makeIncidentSink(std::move(o), std::move(d));
       }});
}

}  // namespace tidewatch::stages
