#include "core/incident_store.h"

namespace tidewatch {

using Status = MutationResult::Status;

std::string EventIdentity::dedupKey() const {
  return std::to_string(blog_id) + ":" + std::to_string(endpoint_id) + ":" + check_type + ":" + discriminator;
}

std::string_view toString(Status status) {
  switch (status) {
    case Status::kApplied: return "applied";
    case Status::kAlreadyOpen: return "already_open";
    case Status::kNoop: return "noop";
    case Status::kNoOpenEvent: return "no_open_event";
    case Status::kEventClosed: return "event_closed";
    case Status::kFailed: return "failed";
  }
  return "?";
}

EventMutation EventMutation::open(EventIdentity id, Severity severity, std::string state,
                                  std::string metadata_json, std::optional<SiteStatus> project) {
  EventMutation m;
  m.kind = Kind::kOpen;
  m.identity = std::move(id);
  m.severity = severity;
  m.state = std::move(state);
  m.metadata_json = std::move(metadata_json);
  m.project_status = project;
  return m;
}

EventMutation EventMutation::promote(EventIdentity id, Severity severity, std::string state,
                                     std::string reason, std::string metadata_json,
                                     std::optional<SiteStatus> project) {
  EventMutation m = open(std::move(id), severity, std::move(state), std::move(metadata_json), project);
  m.kind = Kind::kPromote;
  m.reason = std::move(reason);
  return m;
}

EventMutation EventMutation::close(EventIdentity id, std::string reason, std::string metadata_json,
                                   std::optional<SiteStatus> project) {
  EventMutation m;
  m.kind = Kind::kClose;
  m.identity = std::move(id);
  m.reason = std::move(reason);
  m.metadata_json = std::move(metadata_json);
  m.project_status = project;
  return m;
}

EventMutation EventMutation::audit(EventIdentity id, std::string event_type, std::string detail,
                                   std::string metadata_json, bool link_open_event) {
  EventMutation m;
  m.kind = Kind::kAudit;
  m.identity = std::move(id);
  m.event_type = std::move(event_type);
  m.detail = std::move(detail);
  m.metadata_json = std::move(metadata_json);
  m.link_open_event = link_open_event;
  return m;
}

EventMutation EventMutation::falsePositive(EventIdentity id, int http_code, int error_code, int rtt_ms) {
  EventMutation m;
  m.kind = Kind::kFalsePositive;
  m.identity = std::move(id);
  m.http_code = http_code;
  m.error_code = error_code;
  m.rtt_ms = rtt_ms;
  return m;
}

}  // namespace tidewatch
