#include "io/mysql/schema.h"

#include <map>

namespace tidewatch::mysql {
namespace {

std::vector<Migration> buildMigrations() {
  std::vector<Migration> m;

  // 1: the legacy v1 input table exactly as production has it (compat §1.2), so that an
  // existing fleet is adopted without changes and an empty database gets the same shape.
  m.push_back({1, "legacy_jetpack_monitor_sites", {TableSpec{
      "jetpack_monitor_sites",
      {
          {"jetpack_monitor_site_id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
          {"blog_id", "BIGINT UNSIGNED NOT NULL"},
          {"bucket_no", "SMALLINT UNSIGNED NOT NULL DEFAULT 0"},
          {"monitor_url", "VARCHAR(300) NOT NULL"},
          {"monitor_active", "TINYINT NOT NULL DEFAULT 1"},
          {"site_status", "TINYINT NOT NULL DEFAULT 1"},
          {"last_status_change", "TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP"},
          {"check_interval", "TINYINT NOT NULL DEFAULT 5"},
      },
      "jetpack_monitor_site_id",
      {
          {"blog_id_monitor_url", false, {"blog_id", "monitor_url"}},
          {"bucket_no_monitor_active_check_interval", false,
           {"bucket_no", "monitor_active", "check_interval"}},
      }}}});

  // 2: Jetmon v2's additive columns on the same row (v2 migrations 3 and 8, integration 27/29).
  m.push_back({2, "v2_site_columns", {TableSpec{
      "jetpack_monitor_sites",
      {
          {"ssl_expiry_date", "DATE NULL DEFAULT NULL"},
          {"check_keyword", "VARCHAR(500) NULL DEFAULT NULL"},
          {"forbidden_keyword", "VARCHAR(500) NULL DEFAULT NULL"},
          {"forbidden_keywords", "JSON NULL"},
          {"maintenance_start", "DATETIME NULL DEFAULT NULL"},
          {"maintenance_end", "DATETIME NULL DEFAULT NULL"},
          {"custom_headers", "JSON NULL"},
          {"timeout_seconds", "TINYINT UNSIGNED NULL DEFAULT NULL"},
          {"redirect_policy", "ENUM('follow','alert','fail') NULL DEFAULT 'follow'"},
          {"alert_cooldown_minutes", "SMALLINT UNSIGNED NULL DEFAULT NULL"},
          {"last_checked_at", "DATETIME NULL DEFAULT NULL"},
          {"last_alert_sent_at", "DATETIME NULL DEFAULT NULL"},
      },
      "",
      {{"idx_bucket_monitor_last_checked", false, {"bucket_no", "monitor_active", "last_checked_at"}}}}}});

  // 3: per-site settings that the newer upstream version keeps in
  // jetpack_monitor_site_check_config; tidewatch keeps them on the row (nullable = default)
  // so that the fleet loads without a join (docs/data-model.md).
  m.push_back({3, "tidewatch_site_check_config", {TableSpec{
      "jetpack_monitor_sites",
      {
          {"request_method", "VARCHAR(8) NULL DEFAULT NULL"},
          {"check_history_mode", "VARCHAR(16) NULL DEFAULT NULL"},
          {"check_history_sample_rate", "SMALLINT UNSIGNED NULL DEFAULT NULL"},
      },
      "",
      {}}}});

  // 4: incidents. dedup_key allows one open event per identity (compat §1.4).
  // idempotency_key (tidewatch) makes a replayed mutation detectable after a commit whose
  // acknowledgement was lost.
  m.push_back({4, "events_and_transitions", {
      TableSpec{
          "jetmon_events",
          {
              {"id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"blog_id", "BIGINT UNSIGNED NOT NULL"},
              {"endpoint_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"check_type", "VARCHAR(64) NOT NULL"},
              {"discriminator", "VARCHAR(128) NULL DEFAULT NULL"},
              {"severity", "TINYINT UNSIGNED NOT NULL"},
              {"state", "VARCHAR(32) NOT NULL"},
              {"started_at", "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"},
              {"ended_at", "TIMESTAMP(3) NULL DEFAULT NULL"},
              {"resolution_reason", "VARCHAR(64) NULL DEFAULT NULL"},
              {"cause_event_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"metadata", "JSON NULL"},
              {"updated_at",
               "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)"},
              {"dedup_key",
               "VARCHAR(255) GENERATED ALWAYS AS (CASE WHEN `ended_at` IS NULL THEN "
               "CONCAT(`blog_id`, ':', COALESCE(`endpoint_id`, 0), ':', `check_type`, ':', "
               "COALESCE(`discriminator`, '')) ELSE NULL END) STORED"},
          },
          "id",
          {
              {"uk_open_dedup", true, {"dedup_key"}},
              {"idx_blog_started", false, {"blog_id", "started_at"}},
              {"idx_blog_ended", false, {"blog_id", "ended_at"}},
              {"idx_check_type_started", false, {"check_type", "started_at"}},
              {"idx_cause_event", false, {"cause_event_id"}},
              {"idx_blog_check_type_ended", false, {"blog_id", "check_type", "ended_at"}},
          }},
      TableSpec{
          "jetmon_event_transitions",
          {
              {"id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"event_id", "BIGINT UNSIGNED NOT NULL"},
              {"blog_id", "BIGINT UNSIGNED NOT NULL"},
              {"endpoint_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"severity_before", "TINYINT UNSIGNED NULL DEFAULT NULL"},
              {"severity_after", "TINYINT UNSIGNED NULL DEFAULT NULL"},
              {"state_before", "VARCHAR(32) NULL DEFAULT NULL"},
              {"state_after", "VARCHAR(32) NULL DEFAULT NULL"},
              {"reason", "VARCHAR(64) NOT NULL"},
              {"source", "VARCHAR(255) NOT NULL DEFAULT 'local'"},
              {"metadata", "JSON NULL"},
              {"changed_at", "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"},
              {"idempotency_key", "VARCHAR(64) NULL DEFAULT NULL"},
          },
          "id",
          {
              {"idx_event_changed", false, {"event_id", "changed_at"}},
              {"idx_blog_changed", false, {"blog_id", "changed_at"}},
              {"idx_changed", false, {"changed_at"}},
              {"uk_transition_idempotency", true, {"idempotency_key"}},
          }},
  }});

  // 5: the other v2 tables (compat §1.3, §1.6–1.8, §1.10 under its jetmon_ name).
  m.push_back({5, "history_audit_hosts_targets", {
      TableSpec{
          "jetmon_check_history",
          {
              {"id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"blog_id", "BIGINT UNSIGNED NOT NULL"},
              {"source_site_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"request_method", "VARCHAR(16) NOT NULL DEFAULT 'GET'"},
              {"http_code", "SMALLINT NULL DEFAULT NULL"},
              {"error_code", "TINYINT NULL DEFAULT NULL"},
              {"rtt_ms", "INT NULL DEFAULT NULL"},
              {"dns_ms", "INT NULL DEFAULT NULL"},
              {"tcp_ms", "INT NULL DEFAULT NULL"},
              {"tls_ms", "INT NULL DEFAULT NULL"},
              {"ttfb_ms", "INT NULL DEFAULT NULL"},
              {"checked_at", "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"},
          },
          "id",
          {
              {"idx_blog_checked", false, {"blog_id", "checked_at"}},
              {"idx_source_site_checked", false, {"source_site_id", "checked_at"}},
              {"idx_checked", false, {"checked_at"}},
          }},
      TableSpec{
          "jetmon_audit_log",
          {
              {"id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"blog_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"event_id", "BIGINT UNSIGNED NULL DEFAULT NULL"},
              {"event_type", "VARCHAR(64) NOT NULL"},
              {"source", "VARCHAR(255) NOT NULL DEFAULT 'local'"},
              {"detail", "VARCHAR(1024) NULL DEFAULT NULL"},
              {"metadata", "JSON NULL"},
              {"created_at", "TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"},
              {"idempotency_key", "VARCHAR(64) NULL DEFAULT NULL"},
          },
          "id",
          {
              {"idx_blog_created", false, {"blog_id", "created_at"}},
              {"idx_event", false, {"event_id"}},
              {"idx_event_type_created", false, {"event_type", "created_at"}},
              {"idx_created", false, {"created_at"}},
              {"uk_audit_idempotency", true, {"idempotency_key"}},
          }},
      TableSpec{
          "jetmon_false_positives",
          {
              {"id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"blog_id", "BIGINT UNSIGNED NOT NULL"},
              {"http_code", "SMALLINT NULL DEFAULT NULL"},
              {"error_code", "TINYINT NULL DEFAULT NULL"},
              {"rtt_ms", "INT NULL DEFAULT NULL"},
              {"created_at", "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"},
              {"idempotency_key", "VARCHAR(64) NULL DEFAULT NULL"},
          },
          "id",
          {
              {"idx_blog_created", false, {"blog_id", "created_at"}},
              {"uk_false_positive_idempotency", true, {"idempotency_key"}},
          }},
      TableSpec{
          "jetmon_hosts",
          {
              {"host_id", "VARCHAR(255) NOT NULL"},
              {"bucket_min", "SMALLINT UNSIGNED NOT NULL DEFAULT 0"},
              {"bucket_max", "SMALLINT UNSIGNED NOT NULL DEFAULT 0"},
              {"last_heartbeat", "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"},
              {"status", "VARCHAR(16) NOT NULL DEFAULT 'active'"},
          },
          "host_id",
          {}},
      TableSpec{
          "jetmon_check_targets",
          {
              {"target_id", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"},
              {"source_site_id", "BIGINT UNSIGNED NOT NULL"},
              {"blog_id", "BIGINT UNSIGNED NOT NULL"},
              {"bucket_no", "SMALLINT UNSIGNED NOT NULL DEFAULT 0"},
              {"monitor_url", "VARCHAR(2083) NOT NULL"},
              {"monitor_active", "TINYINT NOT NULL DEFAULT 1"},
              {"check_interval_sec", "INT UNSIGNED NOT NULL DEFAULT 300"},
              {"phase_slot_sec", "INT UNSIGNED NULL DEFAULT NULL"},
              {"config_hash", "CHAR(64) NULL DEFAULT NULL"},
              {"last_config_sync_at", "TIMESTAMP(3) NULL DEFAULT NULL"},
              {"last_checked_at", "TIMESTAMP(3) NULL DEFAULT NULL"},
              {"last_success_at", "TIMESTAMP(3) NULL DEFAULT NULL"},
              {"last_failure_at", "TIMESTAMP(3) NULL DEFAULT NULL"},
              {"last_outcome", "VARCHAR(16) NOT NULL DEFAULT 'unknown'"},
          },
          "target_id",
          {
              {"uk_source_site", true, {"source_site_id"}},
              {"idx_bucket_phase_source", false, {"bucket_no", "phase_slot_sec", "source_site_id"}},
              {"idx_bucket_active_source", false, {"bucket_no", "monitor_active", "source_site_id"}},
          }},
  }});
  return m;
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = buildMigrations();
  return all;
}

std::vector<TableSpec> expectedSchema() {
  std::vector<TableSpec> out;
  std::map<std::string, std::size_t> at;
  for (const Migration& m : migrations()) {
    for (const TableSpec& t : m.tables) {
      auto it = at.find(t.name);
      if (it == at.end()) {
        at[t.name] = out.size();
        out.push_back(t);
        continue;
      }
      TableSpec& merged = out[it->second];
      merged.columns.insert(merged.columns.end(), t.columns.begin(), t.columns.end());
      merged.indexes.insert(merged.indexes.end(), t.indexes.begin(), t.indexes.end());
    }
  }
  return out;
}

std::string indexSql(const IndexSpec& index) {
  std::string s = index.unique ? "UNIQUE KEY `" : "KEY `";
  s += index.name + "` (";
  for (std::size_t i = 0; i < index.columns.size(); ++i) {
    if (i) s += ", ";
    s += "`" + index.columns[i] + "`";
  }
  return s + ")";
}

std::string createTableSql(const TableSpec& table) {
  std::string s = "CREATE TABLE IF NOT EXISTS `" + table.name + "` (\n";
  for (const ColumnSpec& c : table.columns) s += "  `" + c.name + "` " + c.definition + ",\n";
  s += "  PRIMARY KEY (`" + table.primary_key + "`)";
  for (const IndexSpec& i : table.indexes) s += ",\n  " + indexSql(i);
  return s + "\n) " + table.options;
}

}  // namespace tidewatch::mysql
