// mysql::EventStore keeps the IncidentStore contract (tests/core/incident_store_contract.h),
// the same suite the in-memory fake of the incident tests passes.
#include <memory>

#include <gtest/gtest.h>

#include "io/mysql/event_store.h"
#include "io/mysql/pool.h"
#include "tests/core/incident_store_contract.h"
#include "tests/support/test_database.h"

namespace tidewatch::contract {

struct MysqlStore {
  testing::TestDatabase db;
  std::shared_ptr<IncidentStore> open() {
    auto pool = std::make_shared<mysql::Pool>(db.connection(), 4);
    return std::make_shared<mysql::EventStore>(pool, mysql::EventStore::Options{.workers = 2, .source = "contract"});
  }
};
INSTANTIATE_TYPED_TEST_SUITE_P(IncidentStoreOnMysql, IncidentStoreContract, MysqlStore);

}  // namespace tidewatch::contract
