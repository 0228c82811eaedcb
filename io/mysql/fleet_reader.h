// Reads the owned fleet from jetpack_monitor_sites (compat §1.2, §15.1): `monitor_active = 1`
// rows of a bucket range, keyset-paged by jetpack_monitor_site_id, into Targets.
//
// Blocking; runs on the source's loader thread with a pooled session. Per-site settings are
// interned: rows without overrides share defaultSiteConfig(), identical overrides share one
// SiteConfig, and the interner lives across reloads so that an unchanged row yields the same
// pointer as last time (TargetTable's merge compares config pointers first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "io/mysql/db_error.h"
#include "core/target.h"

namespace tidewatch::mysql {

class Session;

struct FleetQuery {
  std::uint16_t bucket_min = 0;
  std::uint16_t bucket_max = 65535;
  std::size_t page_size = 5000;  // keyset page (rows per SELECT)
};

// Cheap change detector for polling: active-row count and highest active id.
struct FleetFingerprint {
  std::uint64_t active = 0;
  std::uint64_t max_id = 0;
  bool operator==(const FleetFingerprint&) const = default;
};

class SiteConfigInterner {
 public:
  std::shared_ptr<const SiteConfig> intern(SiteConfig config);
  // Forgets configs that no published target uses any more.
  void prune();
  std::size_t size() const;

 private:
  std::unordered_map<std::size_t, std::vector<std::shared_ptr<const SiteConfig>>> by_hash_;
};

struct FleetLoadStats {
  std::size_t rows = 0;
  std::size_t pages = 0;
  std::size_t custom_configs = 0;  // rows with overrides
  std::size_t bad_json = 0;        // malformed forbidden_keywords / custom_headers (ignored)
};

DbError readFingerprint(Session& session, const FleetQuery& query, FleetFingerprint& out);
DbError loadFleet(Session& session, const FleetQuery& query, SiteConfigInterner& interner,
                  std::vector<Target>& out, FleetLoadStats* stats = nullptr);

}  // namespace tidewatch::mysql
