// A monitored site as the pipeline sees it: identity, URL, cadence and per-site check rules.
// Targets are immutable once published: a reload builds a new Target and swaps the pointer,
// so probes and sinks may keep a shared_ptr<const Target> across threads without locking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/probe_result.h"

namespace tidewatch {

enum class RedirectPolicy : std::uint8_t { kFollow, kAlert, kFail };

// Which check results reach jetmon_check_history (compat §3.8).
enum class HistoryMode : std::uint8_t { kDefault, kDisabled, kAll, kStatusChange, kSample };

// Legacy jetpack_monitor_sites.site_status values.
enum class SiteStatus : std::int8_t { kDown = 0, kRunning = 1, kConfirmedDown = 2 };

// Per-site rules. Most sites have none and share one default instance.
struct SiteConfig {
  std::string check_keyword;                      // body must contain (case-sensitive)
  std::vector<std::string> forbidden_keywords;    // body must not contain any
  std::vector<std::pair<std::string, std::string>> custom_headers;
  std::uint16_t timeout_seconds = 0;              // 0 = probe.default_timeout_s
  RedirectPolicy redirect_policy = RedirectPolicy::kFollow;
  HttpMethod method = HttpMethod::kGet;
  std::int32_t alert_cooldown_minutes = -1;       // -1 = global default
  std::int64_t maintenance_start = 0;             // unix seconds; 0 = no window
  std::int64_t maintenance_end = 0;
  HistoryMode history_mode = HistoryMode::kDefault;
  std::uint16_t history_sample_rate = 0;          // 0 = global default

  bool operator==(const SiteConfig&) const = default;
  bool hasContentRules() const { return !check_keyword.empty() || !forbidden_keywords.empty(); }
};

struct Target {
  std::uint64_t id = 0;        // jetpack_monitor_site_id: schedule and event identity
  std::uint64_t blog_id = 0;   // WPCOM identity: notifications
  std::string url;
  std::uint32_t interval_s = 300;
  std::uint16_t bucket = 0;
  SiteStatus site_status = SiteStatus::kRunning;  // as loaded; the incident sink owns it after
  std::int64_t last_alert_sent_at = 0;            // unix seconds; 0 = never
  std::int64_t ssl_expiry_date = 0;               // unix seconds (midnight UTC); 0 = unknown
  std::shared_ptr<const SiteConfig> config;       // never null once published

  // Same schedule-relevant and check-relevant content (ignores runtime fields such as
  // site_status and last_alert_sent_at, which the pipeline itself updates).
  bool sameCheckAs(const Target& other) const {
    return id == other.id && blog_id == other.blog_id && url == other.url &&
           interval_s == other.interval_s && bucket == other.bucket &&
           (config == other.config || (config && other.config && *config == *other.config));
  }
};

using TargetPtr = std::shared_ptr<const Target>;

// The shared default rules, so that a million plain sites cost one SiteConfig.
std::shared_ptr<const SiteConfig> defaultSiteConfig();

}  // namespace tidewatch
