// The in-memory IncidentStore the incident tests use: the contract every IncidentStore keeps
// (incident_store_contract.h, also run against mysql::EventStore), and the fake's own outage
// controls.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/core/incident_store_contract.h"
#include "tests/fakes/fake_incident_store.h"

namespace tidewatch::contract {

struct FakeStore {
  std::shared_ptr<IncidentStore> open() { return std::make_shared<fakes::FakeIncidentStore>(); }
};
INSTANTIATE_TYPED_TEST_SUITE_P(IncidentStoreOnFake, IncidentStoreContract, FakeStore);

namespace {

EventIdentity siteOne() {
  EventIdentity id;
  id.blog_id = 1001;
  id.endpoint_id = 1;
  return id;
}

TEST(FakeIncidentStore, WhileUnavailableEverythingWaitsInOrderAndIsAppliedWhenBack) {
  fakes::FakeIncidentStore store;
  store.addSite(1, 1001);
  store.setAvailable(false);
  std::atomic<int> done{0};
  store.submit(EventMutation::open(siteOne(), Severity::kSeemsDown, "Seems Down", "", SiteStatus::kDown),
               [&](const MutationResult&) { ++done; });
  store.submit(EventMutation::close(siteOne(), "probe_cleared", "", SiteStatus::kRunning),
               [&](const MutationResult&) { ++done; });
  store.writeLastAlertSent(1, 1'800'000'000'000);
  std::vector<OpenEvent> open;
  std::string error;
  EXPECT_FALSE(store.listOpenEvents(open, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(store.drain(std::chrono::milliseconds(100)));
  EXPECT_EQ(store.backlog(), 3u);
  EXPECT_EQ(done.load(), 0);
  store.setAvailable(true);
  ASSERT_TRUE(store.drain(std::chrono::seconds(5)));
  EXPECT_EQ(done.load(), 2);
  ASSERT_EQ(store.transitions().size(), 2u);
  EXPECT_EQ(store.transitions()[1].reason, "probe_cleared");
  EXPECT_EQ(store.site(1)->status, SiteStatus::kRunning);
  EXPECT_EQ(store.site(1)->status_changes, 2);
  EXPECT_EQ(store.site(1)->last_alert_ms, 1'800'000'000'000);
}

TEST(FakeIncidentStore, ASlowStoreDelaysEachWriteAndSubmitNeverWaits) {
  fakes::FakeIncidentStore store;
  store.setDelay(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) store.submit(EventMutation::audit(siteOne(), "retry_dispatched", "retry"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(40));
  ASSERT_TRUE(store.drain(std::chrono::seconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
  EXPECT_EQ(store.audits().size(), 4u);
}

TEST(FakeIncidentStore, MutationsNeverAppliedAreReportedAsFailedWhenItGoes) {
  std::atomic<int> failed{0};
  {
    fakes::FakeIncidentStore store;
    store.setAvailable(false);
    store.submit(EventMutation::open(siteOne(), Severity::kSeemsDown, "Seems Down"),
                 [&](const MutationResult& r) { failed += r.status == MutationResult::Status::kFailed; });
  }
  EXPECT_EQ(failed.load(), 1);
}

}  // namespace
}  // namespace tidewatch::contract
