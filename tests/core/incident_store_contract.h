// The IncidentStore contract (core/incident_store.h) as a typed test suite, run against every
// implementation: the in-memory fake (tests/core/fake_incident_store_test.cpp, no database)
// and mysql::EventStore (tests/io/mysql/event_store_contract_test.cpp, a private MariaDB).
// Only what the interface itself shows is asserted — mutation results, completion callbacks,
// backlog and drain, the open events read back — so the fake cannot drift from the store the
// daemon writes through.
//
// A backend is a type with `std::shared_ptr<IncidentStore> open()`, called once per test.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/incident_store.h"

namespace tidewatch::contract {

using Status = MutationResult::Status;

template <class Backend>
class IncidentStoreContract : public ::testing::Test {
 protected:
  void SetUp() override { store_ = backend_.open(); }
  void TearDown() override { store_.reset(); }

  // Submits and waits for the result (from the store's thread).
  MutationResult apply(EventMutation m) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<MutationResult> result;
    store_->submit(std::move(m), [&](const MutationResult& r) {
      std::lock_guard lock(mu);
      result = r;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return result.has_value(); }));
    return result.value_or(MutationResult{});
  }
  std::vector<OpenEvent> open() {
    std::vector<OpenEvent> out;
    std::string error;
    EXPECT_TRUE(store_->listOpenEvents(out, &error)) << error;
    return out;
  }
  static EventIdentity site(std::uint64_t id, const char* type = "http") {
    EventIdentity e;
    e.blog_id = 1000 + id;
    e.endpoint_id = id;
    e.check_type = type;
    return e;
  }

  Backend backend_;
  std::shared_ptr<IncidentStore> store_;
};

TYPED_TEST_SUITE_P(IncidentStoreContract);

TYPED_TEST_P(IncidentStoreContract, ASecondOpenOfAnOpenIdentityReportsItAsFoundAndWritesNothing) {
  auto first = this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down"));
  ASSERT_EQ(first.status, Status::kApplied) << first.error;
  EXPECT_GT(first.event_id, 0u);
  ASSERT_EQ(this->apply(EventMutation::promote(this->site(1), Severity::kDown, "Down", "verifier_confirmed")).status,
            Status::kApplied);
  auto again = this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down"));
  EXPECT_EQ(again.status, Status::kAlreadyOpen);
  EXPECT_EQ(again.event_id, first.event_id);
  EXPECT_EQ(again.severity, Severity::kDown);
  EXPECT_EQ(again.state, "Down");
  // Another check type of the same site is another identity.
  EXPECT_EQ(this->apply(EventMutation::open(this->site(1, "tls_expiry"), Severity::kWarning, "Warning")).status,
            Status::kApplied);
  EXPECT_EQ(this->open().size(), 2u);
}

TYPED_TEST_P(IncidentStoreContract, APromoteToTheSameSeverityAndStateIsANoop) {
  ASSERT_EQ(this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down")).status,
            Status::kApplied);
  auto noop = this->apply(EventMutation::promote(this->site(1), Severity::kSeemsDown, "Seems Down"));
  EXPECT_EQ(noop.status, Status::kNoop);
  EXPECT_TRUE(noop.ok());
  auto up = this->apply(EventMutation::promote(this->site(1), Severity::kDown, "Down"));
  EXPECT_EQ(up.status, Status::kApplied);
  EXPECT_EQ(up.severity, Severity::kDown);
}

TYPED_TEST_P(IncidentStoreContract, ClosedEventsAreImmutableAndByIdentityThereIsNoOpenEvent) {
  auto opened = this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down"));
  auto closed = this->apply(EventMutation::close(this->site(1), "probe_cleared"));
  ASSERT_EQ(closed.status, Status::kApplied) << closed.error;
  EXPECT_EQ(closed.event_id, opened.event_id);
  EXPECT_EQ(closed.state, "Resolved");
  EventMutation by_id = EventMutation::promote(this->site(1), Severity::kDown, "Down", "verifier_confirmed");
  by_id.event_id = opened.event_id;
  auto refused = this->apply(by_id);
  EXPECT_EQ(refused.status, Status::kEventClosed);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(refused.error.empty());
  EventMutation close_again = EventMutation::close(this->site(1), "manual_override");
  close_again.event_id = opened.event_id;
  EXPECT_EQ(this->apply(close_again).status, Status::kEventClosed);
  EXPECT_EQ(this->apply(EventMutation::close(this->site(1), "verifier_cleared", "", SiteStatus::kRunning)).status,
            Status::kNoOpenEvent);
  EXPECT_EQ(this->apply(EventMutation::promote(this->site(1), Severity::kDown, "Down")).status, Status::kNoOpenEvent);
  EXPECT_TRUE(this->open().empty());
  // A new open of the identity is a new event.
  auto reopened = this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down"));
  EXPECT_EQ(reopened.status, Status::kApplied);
  EXPECT_NE(reopened.event_id, opened.event_id);
}

TYPED_TEST_P(IncidentStoreContract, AReplayedIdempotencyKeyIsRecognisedAndNotAppliedTwice) {
  EventMutation open = EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down");
  open.idempotency_key = "contract-open";
  auto first = this->apply(open);
  ASSERT_EQ(first.status, Status::kApplied);
  // While the event is open the replay would write nothing anyway.
  auto again = this->apply(open);
  EXPECT_EQ(again.status, Status::kAlreadyOpen);
  EXPECT_EQ(again.event_id, first.event_id);
  EventMutation audit = EventMutation::audit(this->site(1), "retry_dispatched", "retry 1 of 3");
  audit.idempotency_key = "contract-audit";
  ASSERT_EQ(this->apply(audit).status, Status::kApplied);
  auto audit_replay = this->apply(audit);
  EXPECT_EQ(audit_replay.status, Status::kApplied);
  EXPECT_TRUE(audit_replay.replayed);
  ASSERT_EQ(this->apply(EventMutation::close(this->site(1), "probe_cleared")).status, Status::kApplied);
  // The open replayed after the event closed (its acknowledgement was lost): recognised, so
  // the incident is not opened a second time.
  auto late_replay = this->apply(open);
  EXPECT_EQ(late_replay.status, Status::kApplied);
  EXPECT_TRUE(late_replay.replayed);
  EXPECT_TRUE(this->open().empty());
}

TYPED_TEST_P(IncidentStoreContract, EachSitesMutationsApplyInOrderWithCallbacksOffTheCallersThread) {
  constexpr int kSites = 20;
  std::mutex mu;
  std::vector<MutationResult> results;
  std::vector<std::thread::id> threads;
  auto record = [&](const MutationResult& r) {
    std::lock_guard lock(mu);
    results.push_back(r);
    threads.push_back(std::this_thread::get_id());
  };
  for (int i = 1; i <= kSites; ++i) {
    // Queued before the open they follow has been written: by identity, in order.
    this->store_->submit(EventMutation::open(this->site(i), Severity::kSeemsDown, "Seems Down"), record);
    this->store_->submit(EventMutation::audit(this->site(i), "retry_dispatched", "retry 1 of 3"), record);
    this->store_->submit(EventMutation::promote(this->site(i), Severity::kDown, "Down", "verifier_confirmed"), record);
    if (i % 2 == 0) this->store_->submit(EventMutation::close(this->site(i), "verifier_cleared"), record);
  }
  ASSERT_TRUE(this->store_->drain(std::chrono::seconds(30)));
  EXPECT_EQ(this->store_->backlog(), 0u);
  std::lock_guard lock(mu);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kSites * 3 + kSites / 2));
  for (const auto& r : results) EXPECT_EQ(r.status, Status::kApplied) << toString(r.status) << " " << r.error;
  for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
  auto open = this->open();
  ASSERT_EQ(open.size(), static_cast<std::size_t>(kSites / 2));
  for (const auto& e : open) {
    EXPECT_EQ(e.identity.endpoint_id % 2, 1u);
    EXPECT_EQ(e.identity.blog_id, 1000 + e.identity.endpoint_id);
    EXPECT_EQ(e.severity, Severity::kDown);
    EXPECT_EQ(e.state, "Down");
  }
}

TYPED_TEST_P(IncidentStoreContract, OpenEventsCarryTheLatestAuditedFailureCount) {
  ASSERT_EQ(this->apply(EventMutation::open(this->site(1), Severity::kSeemsDown, "Seems Down")).status,
            Status::kApplied);
  this->apply(EventMutation::audit(this->site(1), "retry_dispatched", "retry 1 of 3",
                                   R"({"local_failures":1,"at_ms":1000})"));
  this->apply(EventMutation::audit(this->site(1), "retry_dispatched", "retry 2 of 3",
                                   R"({"local_failures":2,"at_ms":2000})"));
  this->apply(EventMutation::audit(this->site(1), "wpcom_sent", "unrelated", R"({"status_id":2})"));
  // Not linked to the open event: does not count.
  this->apply(EventMutation::audit(this->site(1), "retry_dispatched", "elsewhere", R"({"local_failures":7})", false));
  ASSERT_EQ(this->apply(EventMutation::open(this->site(2), Severity::kSeemsDown, "Seems Down")).status,
            Status::kApplied);
  auto open = this->open();
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].identity.endpoint_id, 1u);
  EXPECT_EQ(open[0].local_failures, 2);
  EXPECT_EQ(open[0].local_failures_at_ms, 2000);
  EXPECT_EQ(open[1].local_failures, 0);  // no such audit row
  EXPECT_GT(open[0].started_at_ms, 0);
}

REGISTER_TYPED_TEST_SUITE_P(IncidentStoreContract, ASecondOpenOfAnOpenIdentityReportsItAsFoundAndWritesNothing,
                            APromoteToTheSameSeverityAndStateIsANoop,
                            ClosedEventsAreImmutableAndByIdentityThereIsNoOpenEvent,
                            AReplayedIdempotencyKeyIsRecognisedAndNotAppliedTwice,
                            EachSitesMutationsApplyInOrderWithCallbacksOffTheCallersThread,
                            OpenEventsCarryTheLatestAuditedFailureCount);

}  // namespace tidewatch::contract
