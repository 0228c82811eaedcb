#include "io/mysql/event_sql.h"

#include <cppconn/connection.h>
#include <cppconn/datatype.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "io/mysql/session.h"

namespace tidewatch::mysql {

using Status = MutationResult::Status;

namespace {

// Statements are cached per connection (Session::prepare): one round trip per execution.
using PS = sql::PreparedStatement*;
using RS = std::unique_ptr<sql::ResultSet>;

void setOptionalString(sql::PreparedStatement& ps, unsigned idx, const std::string& v) {
  if (v.empty()) {
    ps.setNull(idx, sql::DataType::VARCHAR);
  } else {
    ps.setString(idx, v);
  }
}

void setOptionalId(sql::PreparedStatement& ps, unsigned idx, std::uint64_t v) {
  if (v == 0) {
    ps.setNull(idx, sql::DataType::BIGINT);
  } else {
    ps.setUInt64(idx, v);
  }
}

struct Row {
  bool found = false;
  bool open = false;
  std::uint64_t id = 0;
  Severity severity = Severity::kUp;
  std::string state;
};

Row lockEvent(Session& s, const EventMutation& m) {
  Row row;
  PS ps;
  if (m.event_id != 0) {
    ps = (&s.prepare(
        "SELECT id, severity, state, ended_at IS NULL FROM jetmon_events WHERE id = ? FOR UPDATE"));
    ps->setUInt64(1, m.event_id);
  } else {
    ps = (&s.prepare(
        "SELECT id, severity, state, ended_at IS NULL FROM jetmon_events WHERE dedup_key = ? FOR UPDATE"));
    ps->setString(1, m.identity.dedupKey());
  }
  RS rs(ps->executeQuery());
  if (rs->next()) {
    row.found = true;
    row.id = rs->getUInt64(1);
    row.severity = static_cast<Severity>(rs->getUInt(2));
    row.state = rs->getString(3);
    row.open = rs->getInt(4) != 0;
  }
  return row;
}

void insertTransition(Session& s, const EventMutation& m, std::uint64_t event_id,
                      const Row* before, std::optional<Severity> sev_after, const std::string& state_after,
                      const std::string& reason, const std::string& source) {
  PS ps = (&s.prepare(
      "INSERT INTO jetmon_event_transitions (event_id, blog_id, endpoint_id, severity_before, "
      "severity_after, state_before, state_after, reason, source, metadata, idempotency_key) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ps->setUInt64(1, event_id);
  ps->setUInt64(2, m.identity.blog_id);
  setOptionalId(*ps, 3, m.identity.endpoint_id);
  if (before) {
    ps->setUInt(4, static_cast<unsigned>(before->severity));
    ps->setString(6, before->state);
  } else {
    ps->setNull(4, sql::DataType::TINYINT);
    ps->setNull(6, sql::DataType::VARCHAR);
  }
  if (sev_after) {
    ps->setUInt(5, static_cast<unsigned>(*sev_after));
  } else {
    ps->setNull(5, sql::DataType::TINYINT);
  }
  ps->setString(7, state_after);
  ps->setString(8, reason);
  ps->setString(9, source);
  setOptionalString(*ps, 10, m.metadata_json);
  ps->setString(11, m.idempotency_key);
  ps->executeUpdate();
}

void project(Session& s, const EventMutation& m) {
  if (!m.project_status) return;
  // Only a real change moves last_status_change (compat §1.2: written with every change).
  PS ps = (&s.prepare(
      m.identity.endpoint_id != 0
          ? "UPDATE jetpack_monitor_sites SET site_status = ?, last_status_change = CURRENT_TIMESTAMP "
            "WHERE jetpack_monitor_site_id = ? AND site_status <> ?"
          : "UPDATE jetpack_monitor_sites SET site_status = ?, last_status_change = CURRENT_TIMESTAMP "
            "WHERE blog_id = ? AND site_status <> ?"));
  int status = static_cast<int>(*m.project_status);
  ps->setInt(1, status);
  ps->setUInt64(2, m.identity.endpoint_id != 0 ? m.identity.endpoint_id : m.identity.blog_id);
  ps->setInt(3, status);
  ps->executeUpdate();
}

// Looks the idempotency key up: if this mutation was committed before (its acknowledgement
// lost), returns the original outcome.
bool findReplay(Session& s, const EventMutation& m, MutationResult& out) {
  PS ps;
  switch (m.kind) {
    case EventMutation::Kind::kAudit:
      ps = (&s.prepare("SELECT COALESCE(event_id, 0) FROM jetmon_audit_log WHERE idempotency_key = ?"));
      break;
    case EventMutation::Kind::kFalsePositive:
      ps = (&s.prepare("SELECT 0 FROM jetmon_false_positives WHERE idempotency_key = ?"));
      break;
    default:
      ps = (&s.prepare(
          "SELECT event_id, COALESCE(severity_after, 0), COALESCE(state_after, '') "
          "FROM jetmon_event_transitions WHERE idempotency_key = ?"));
  }
  ps->setString(1, m.idempotency_key);
  RS rs(ps->executeQuery());
  if (!rs->next()) return false;
  out.status = Status::kApplied;
  out.replayed = true;
  out.event_id = rs->getUInt64(1);
  if (m.kind != EventMutation::Kind::kAudit && m.kind != EventMutation::Kind::kFalsePositive) {
    out.severity = static_cast<Severity>(rs->getUInt(2));
    out.state = rs->getString(3);
  }
  return true;
}

void applyOpen(Session& s, const EventMutation& m, const std::string& source, MutationResult& r) {
  PS ps = (&s.prepare(
      "INSERT INTO jetmon_events (blog_id, endpoint_id, check_type, discriminator, severity, state, metadata) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)"));
  ps->setUInt64(1, m.identity.blog_id);
  setOptionalId(*ps, 2, m.identity.endpoint_id);
  ps->setString(3, m.identity.check_type);
  setOptionalString(*ps, 4, m.identity.discriminator);
  ps->setUInt(5, static_cast<unsigned>(m.severity));
  ps->setString(6, m.state);
  setOptionalString(*ps, 7, m.metadata_json);
  int affected = ps->executeUpdate();
  RS rs(s.prepare("SELECT LAST_INSERT_ID()").executeQuery());
  rs->next();
  r.event_id = rs->getUInt64(1);
  if (affected == 1) {
    insertTransition(s, m, r.event_id, nullptr, m.severity, m.state, "opened", source);
    project(s, m);
    r.status = Status::kApplied;
    r.severity = m.severity;
    r.state = m.state;
    return;
  }
  // Already open: report its current values (compat §1.4); metadata stays as opened.
  PS sel = (&s.prepare("SELECT severity, state FROM jetmon_events WHERE id = ?"));
  sel->setUInt64(1, r.event_id);
  RS row(sel->executeQuery());
  if (row->next()) {
    r.severity = static_cast<Severity>(row->getUInt(1));
    r.state = row->getString(2);
  }
  r.status = Status::kAlreadyOpen;
}

// Reports the locked event in `r`; false (and kEventClosed) when it is closed: closed events
// are immutable, for promote and close alike.
bool reportOpenRow(const Row& row, MutationResult& r) {
  r.event_id = row.id;
  r.severity = row.severity;
  r.state = row.state;
  if (row.open) return true;
  r.status = Status::kEventClosed;
  r.error = "event " + std::to_string(row.id) + " is closed; closed events are immutable";
  return false;
}

void applyPromote(Session& s, const EventMutation& m, const std::string& source, MutationResult& r) {
  Row row = lockEvent(s, m);
  if (!row.found) {
    r.status = Status::kNoOpenEvent;
    return;
  }
  if (!reportOpenRow(row, r)) return;
  if (row.severity == m.severity && row.state == m.state) {
    r.status = Status::kNoop;
    return;
  }
  std::string reason = m.reason;
  if (reason.empty()) {
    reason = m.severity > row.severity   ? "severity_escalation"
             : m.severity < row.severity ? "severity_deescalation"
                                         : "state_change";
  }
  PS ps = (&s.prepare("UPDATE jetmon_events SET severity = ?, state = ? WHERE id = ?"));
  ps->setUInt(1, static_cast<unsigned>(m.severity));
  ps->setString(2, m.state);
  ps->setUInt64(3, row.id);
  ps->executeUpdate();
  insertTransition(s, m, row.id, &row, m.severity, m.state, reason, source);
  project(s, m);
  r.status = Status::kApplied;
  r.severity = m.severity;
  r.state = m.state;
}

void applyClose(Session& s, const EventMutation& m, const std::string& source, MutationResult& r) {
  Row row = lockEvent(s, m);
  if (!row.found) {
    project(s, m);  // no open event ⇒ just project (compat §3.4)
    r.status = Status::kNoOpenEvent;
    return;
  }
  if (!reportOpenRow(row, r)) return;
  PS ps = (&s.prepare(
      "UPDATE jetmon_events SET ended_at = CURRENT_TIMESTAMP(3), resolution_reason = ? WHERE id = ?"));
  ps->setString(1, m.reason);
  ps->setUInt64(2, row.id);
  ps->executeUpdate();
  insertTransition(s, m, row.id, &row, std::nullopt, "Resolved", m.reason, source);
  project(s, m);
  r.status = Status::kApplied;
  r.state = "Resolved";
}

void applyAudit(Session& s, const EventMutation& m, const std::string& source, MutationResult& r) {
  PS ps;
  if (m.event_id == 0 && m.link_open_event) {
    ps = (&s.prepare(
        "INSERT INTO jetmon_audit_log (blog_id, event_id, event_type, source, detail, metadata, idempotency_key) "
        "VALUES (?, (SELECT id FROM jetmon_events WHERE dedup_key = ?), ?, ?, ?, ?, ?)"));
    ps->setString(2, m.identity.dedupKey());
  } else {
    ps = (&s.prepare(
        "INSERT INTO jetmon_audit_log (blog_id, event_id, event_type, source, detail, metadata, idempotency_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    setOptionalId(*ps, 2, m.event_id);
  }
  setOptionalId(*ps, 1, m.identity.blog_id);
  ps->setString(3, m.event_type);
  ps->setString(4, source);
  setOptionalString(*ps, 5, m.detail.substr(0, 1024));
  setOptionalString(*ps, 6, m.metadata_json);
  ps->setString(7, m.idempotency_key);
  ps->executeUpdate();
  r.status = Status::kApplied;
  r.event_id = m.event_id;
}

void applyFalsePositive(Session& s, const EventMutation& m, MutationResult& r) {
  PS ps = (&s.prepare(
      "INSERT INTO jetmon_false_positives (blog_id, http_code, error_code, rtt_ms, idempotency_key) "
      "VALUES (?, ?, ?, ?, ?)"));
  ps->setUInt64(1, m.identity.blog_id);
  ps->setInt(2, m.http_code);
  ps->setInt(3, m.error_code);
  ps->setInt(4, m.rtt_ms);
  ps->setString(5, m.idempotency_key);
  ps->executeUpdate();
  r.status = Status::kApplied;
}

}  // namespace

MutationResult applyMutation(Session& session, const EventMutation& m, const std::string& default_source,
                             bool check_replay, DbError* error) {
  MutationResult r;
  const std::string& source = m.source.empty() ? default_source : m.source;
  bool in_txn = false;
  DbError err = session.run([&](sql::Connection& c) {
    // START TRANSACTION/COMMIT under autocommit: two round trips instead of four for
    // toggling autocommit around the transaction, and the pooled session stays in
    // autocommit for the other writers.
    std::unique_ptr<sql::Statement>(c.createStatement())->execute("START TRANSACTION");
    in_txn = true;
    if (!(check_replay && findReplay(session, m, r))) {
      switch (m.kind) {
        case EventMutation::Kind::kOpen: applyOpen(session, m, source, r); break;
        case EventMutation::Kind::kPromote: applyPromote(session, m, source, r); break;
        case EventMutation::Kind::kClose: applyClose(session, m, source, r); break;
        case EventMutation::Kind::kAudit: applyAudit(session, m, source, r); break;
        case EventMutation::Kind::kFalsePositive: applyFalsePositive(session, m, r); break;
      }
    }
    if (r.status == Status::kEventClosed) {
      c.rollback();
    } else {
      c.commit();
    }
    in_txn = false;
  });
  if (!err.ok()) {
    if (in_txn) session.rollbackQuietly();
    if (err.duplicateKey() && err.message.find("idempotency") != std::string::npos) {
      // The key is already there: this exact mutation committed earlier.
      r.status = Status::kApplied;
      r.replayed = true;
      return r;
    }
    r.status = Status::kFailed;
    r.error = err.describe();
    if (error) *error = err;
  }
  return r;
}

DbError listOpenEvents(Session& session, std::vector<OpenEvent>& out) {
  out.clear();
  return session.run([&](sql::Connection& c) {
    std::unique_ptr<sql::Statement> st(c.createStatement());
    // dedup_key is non-NULL exactly for open events, so the unique index finds them.
    RS rs(st->executeQuery(
        "SELECT id, blog_id, COALESCE(endpoint_id, 0), check_type, COALESCE(discriminator, ''), "
        "severity, state, ROUND(UNIX_TIMESTAMP(started_at) * 1000), "
        // The latest audit row of the event that recorded the engine's failure count.
        "COALESCE((SELECT CONCAT(JSON_EXTRACT(a.metadata, '$.local_failures'), ' ', "
        "COALESCE(JSON_EXTRACT(a.metadata, '$.at_ms'), 0)) FROM jetmon_audit_log a "
        "WHERE a.event_id = e.id AND JSON_EXTRACT(a.metadata, '$.local_failures') IS NOT NULL "
        "ORDER BY a.id DESC LIMIT 1), '') "
        "FROM jetmon_events e WHERE dedup_key IS NOT NULL ORDER BY id"));
    while (rs->next()) {
      OpenEvent e;
      e.id = rs->getUInt64(1);
      e.identity.blog_id = rs->getUInt64(2);
      e.identity.endpoint_id = rs->getUInt64(3);
      e.identity.check_type = rs->getString(4);
      e.identity.discriminator = rs->getString(5);
      e.severity = static_cast<Severity>(rs->getUInt(6));
      e.state = rs->getString(7);
      e.started_at_ms = rs->getInt64(8);
      std::string failures = rs->getString(9);
      if (!failures.empty()) {
        long long n = 0, at = 0;
        if (std::sscanf(failures.c_str(), "%lld %lld", &n, &at) >= 1) {
          e.local_failures = static_cast<int>(std::clamp<long long>(n, 0, 255));
          e.local_failures_at_ms = at;
        }
      }
      out.push_back(std::move(e));
    }
  });
}

}  // namespace tidewatch::mysql
