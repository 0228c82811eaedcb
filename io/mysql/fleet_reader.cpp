#include "io/mysql/fleet_reader.h"

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "io/mysql/session.h"

namespace tidewatch::mysql {
namespace {

void hashCombine(std::size_t& h, std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

std::size_t hashConfig(const SiteConfig& c) {
  std::hash<std::string> hs;
  std::size_t h = hs(c.check_keyword);
  for (const auto& k : c.forbidden_keywords) hashCombine(h, hs(k));
  for (const auto& [k, v] : c.custom_headers) {
    hashCombine(h, hs(k));
    hashCombine(h, hs(v));
  }
  hashCombine(h, c.timeout_seconds);
  hashCombine(h, static_cast<std::size_t>(c.redirect_policy));
  hashCombine(h, static_cast<std::size_t>(c.method));
  hashCombine(h, static_cast<std::size_t>(c.alert_cooldown_minutes));
  hashCombine(h, static_cast<std::size_t>(c.maintenance_start));
  hashCombine(h, static_cast<std::size_t>(c.maintenance_end));
  hashCombine(h, static_cast<std::size_t>(c.history_mode));
  hashCombine(h, c.history_sample_rate);
  return h;
}

// Column order of kSelect (1-based for the connector).
enum Col : std::uint32_t {
  kId = 1, kBlog, kBucket, kUrl, kStatus, kInterval, kSslExpiry, kLastAlert, kPlain,
  kKeyword, kForbidden, kForbiddenList, kMaintStart, kMaintEnd, kHeaders, kTimeout, kRedirect,
  kCooldown, kMethod, kHistoryMode, kHistoryRate
};

// `plain` is computed by the server so that the common row (no overrides) is read with nine
// column fetches instead of twenty.
constexpr const char* kSelect =
    "SELECT jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, site_status, check_interval, "
    "UNIX_TIMESTAMP(ssl_expiry_date), UNIX_TIMESTAMP(last_alert_sent_at), "
    "(check_keyword IS NULL AND forbidden_keyword IS NULL AND forbidden_keywords IS NULL AND "
    " maintenance_start IS NULL AND maintenance_end IS NULL AND custom_headers IS NULL AND "
    " timeout_seconds IS NULL AND (redirect_policy IS NULL OR redirect_policy = 'follow') AND "
    " alert_cooldown_minutes IS NULL AND request_method IS NULL AND check_history_mode IS NULL AND "
    " check_history_sample_rate IS NULL), "
    "check_keyword, forbidden_keyword, forbidden_keywords, UNIX_TIMESTAMP(maintenance_start), "
    "UNIX_TIMESTAMP(maintenance_end), custom_headers, timeout_seconds, redirect_policy, "
    "alert_cooldown_minutes, request_method, check_history_mode, check_history_sample_rate "
    "FROM jetpack_monitor_sites "
    "WHERE jetpack_monitor_site_id > ? AND monitor_active = 1 AND bucket_no BETWEEN ? AND ? "
    "ORDER BY jetpack_monitor_site_id LIMIT ?";

HistoryMode parseHistoryMode(const std::string& s) {
  if (s == "disabled") return HistoryMode::kDisabled;
  if (s == "all") return HistoryMode::kAll;
  if (s == "status_change") return HistoryMode::kStatusChange;
  if (s == "sample") return HistoryMode::kSample;
  return HistoryMode::kDefault;  // unknown values fall back to the default (compat §3.8)
}

SiteConfig readOverrides(sql::ResultSet& rs, FleetLoadStats& stats) {
  SiteConfig c;
  if (!rs.isNull(kKeyword)) c.check_keyword = rs.getString(kKeyword);
  if (!rs.isNull(kForbidden)) {
    std::string k = rs.getString(kForbidden);
    if (!k.empty()) c.forbidden_keywords.push_back(std::move(k));
  }
  if (!rs.isNull(kForbiddenList)) {
    auto j = nlohmann::json::parse(std::string(rs.getString(kForbiddenList)), nullptr, false);
    if (j.is_array()) {
      for (const auto& e : j) {
        if (e.is_string() && !e.get_ref<const std::string&>().empty()) {
          std::string k = e.get<std::string>();
          if (std::find(c.forbidden_keywords.begin(), c.forbidden_keywords.end(), k) ==
              c.forbidden_keywords.end()) {
            c.forbidden_keywords.push_back(std::move(k));
          }
        }
      }
    } else if (!j.is_null()) {
      ++stats.bad_json;
    }
  }
  if (!rs.isNull(kMaintStart) && !rs.isNull(kMaintEnd)) {
    // Both must be set for the window to apply (compat §1.2).
    c.maintenance_start = rs.getInt64(kMaintStart);
    c.maintenance_end = rs.getInt64(kMaintEnd);
  }
  if (!rs.isNull(kHeaders)) {
    auto j = nlohmann::json::parse(std::string(rs.getString(kHeaders)), nullptr, false);
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.value().is_string()) c.custom_headers.emplace_back(it.key(), it.value().get<std::string>());
      }
    } else if (!j.is_null()) {
      ++stats.bad_json;
    }
  }
  if (!rs.isNull(kTimeout)) c.timeout_seconds = static_cast<std::uint16_t>(rs.getUInt(kTimeout));
  if (!rs.isNull(kRedirect)) {
    std::string p = rs.getString(kRedirect);
    c.redirect_policy = p == "fail" ? RedirectPolicy::kFail
                        : p == "alert" ? RedirectPolicy::kAlert
                                       : RedirectPolicy::kFollow;
  }
  if (!rs.isNull(kCooldown)) c.alert_cooldown_minutes = rs.getInt(kCooldown);
  if (!rs.isNull(kMethod)) {
    std::string m = rs.getString(kMethod);
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char ch) { return std::toupper(ch); });
    c.method = m == "HEAD" ? HttpMethod::kHead : HttpMethod::kGet;
  }
  if (!rs.isNull(kHistoryMode)) c.history_mode = parseHistoryMode(rs.getString(kHistoryMode));
  if (!rs.isNull(kHistoryRate)) c.history_sample_rate = static_cast<std::uint16_t>(rs.getUInt(kHistoryRate));
  return c;
}

SiteStatus toSiteStatus(int v) {
  if (v == 0) return SiteStatus::kDown;
  if (v == 2) return SiteStatus::kConfirmedDown;
  return SiteStatus::kRunning;
}

}  // namespace

std::shared_ptr<const SiteConfig> SiteConfigInterner::intern(SiteConfig config) {
  static const SiteConfig kDefault{};
  if (config == kDefault) return defaultSiteConfig();
  auto& bucket = by_hash_[hashConfig(config)];
  for (const auto& existing : bucket) {
    if (*existing == config) return existing;
  }
  bucket.push_back(std::make_shared<const SiteConfig>(std::move(config)));
  return bucket.back();
}

void SiteConfigInterner::prune() {
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& p) { return p.use_count() == 1; }), v.end());
    it = v.empty() ? by_hash_.erase(it) : std::next(it);
  }
}

std::size_t SiteConfigInterner::size() const {
  std::size_t n = 0;
  for (const auto& [h, v] : by_hash_) n += v.size();
  return n;
}

DbError readFingerprint(Session& session, const FleetQuery& query, FleetFingerprint& out) {
  return session.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> ps(c.prepareStatement(
        "SELECT COUNT(*), COALESCE(MAX(jetpack_monitor_site_id), 0) FROM jetpack_monitor_sites "
        "WHERE monitor_active = 1 AND bucket_no BETWEEN ? AND ?"));
    ps->setUInt(1, query.bucket_min);
    ps->setUInt(2, query.bucket_max);
    std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
    if (rs->next()) {
      out.active = rs->getUInt64(1);
      out.max_id = rs->getUInt64(2);
    }
  });
}

DbError loadFleet(Session& session, const FleetQuery& query, SiteConfigInterner& interner,
                  std::vector<Target>& out, FleetLoadStats* stats_out) {
  FleetLoadStats stats;
  out.clear();
  const std::size_t page = query.page_size == 0 ? 5000 : query.page_size;
  std::shared_ptr<const SiteConfig> plain = defaultSiteConfig();
  DbError err = session.run([&](sql::Connection& c) {
    std::unique_ptr<sql::PreparedStatement> ps(c.prepareStatement(kSelect));
    std::uint64_t last_id = 0;
    for (;;) {
      ps->setUInt64(1, last_id);
      ps->setUInt(2, query.bucket_min);
      ps->setUInt(3, query.bucket_max);
      ps->setUInt64(4, page);
      std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
      std::size_t n = 0;
      while (rs->next()) {
        ++n;
        Target t;
        t.id = rs->getUInt64(kId);
        t.blog_id = rs->getUInt64(kBlog);
        t.bucket = static_cast<std::uint16_t>(rs->getUInt(kBucket));
        t.url = rs->getString(kUrl);
        t.site_status = toSiteStatus(rs->getInt(kStatus));
        int minutes = rs->getInt(kInterval);
        t.interval_s = static_cast<std::uint32_t>(std::max(1, minutes)) * 60;  // minutes, < 1 ⇒ 1
        if (!rs->isNull(kSslExpiry)) t.ssl_expiry_date = rs->getInt64(kSslExpiry);
        if (!rs->isNull(kLastAlert)) t.last_alert_sent_at = rs->getInt64(kLastAlert);
        if (rs->getInt(kPlain) != 0) {
          t.config = plain;
        } else {
          ++stats.custom_configs;
          t.config = interner.intern(readOverrides(*rs, stats));
        }
        last_id = t.id;
        out.push_back(std::move(t));
      }
      ++stats.pages;
      if (n < page) break;
    }
  });
  stats.rows = out.size();
  if (err.ok()) interner.prune();
  if (stats_out) *stats_out = stats;
  return err;
}

}  // namespace tidewatch::mysql
