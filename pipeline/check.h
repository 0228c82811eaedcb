// One check's record as it travels through the graph: the request made at dispatch, the
// probe's result, and classify's verdict. Allocated once at dispatch and shared (by
// shared_ptr) by the nodes and sinks that need it; each stage only writes its own part
// and only before handing the check on.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/probe_result.h"
#include "core/target.h"

namespace tidewatch {

// Jetmon's `status_type` (compat §2.7): the WPCOM field and the metric class.
enum class StatusType : std::uint8_t {
  kSuccess, kHttps, kIntermittent, kRedirect, kBlocked, kServer, kClient, kProbeSafety
};
std::string_view toString(StatusType type);

struct Verdict {
  bool success = false;   // request completed, 0 < code < 400, no content/body/TLS-expiry error
  bool failure = false;   // IsFailure: not success, or an error other than 0, 7 and 9
  StatusType status_type = StatusType::kIntermittent;
  bool advisory_tls_deprecated = false;  // code 7 seen (success may still be true)
  bool probe_safety_blocked = false;     // code 9: never counted as down
  bool monitor_fault = false;            // the monitor failed, not the site: Unknown
};

struct ProbeRequest {
  std::uint32_t slot = 0;        // index in the TargetTable; stable for the target's lifetime
  TargetPtr target;
  std::int64_t due_s = 0;        // wheel second the check was due
  std::int64_t dispatched_at_ms = 0;
  std::uint8_t attempt = 0;      // 0 = regular check, n = n-th failure follow-up
  std::uint64_t seq = 0;         // dispatch order: keeps the due queue first-in first-out
};

// Slot value of the token gate's park markers (token_gate.h); never a real target.
inline constexpr std::uint32_t kParkMarkerSlot = UINT32_MAX;

struct Check {
  ProbeRequest request;
  ProbeResult result;
  Verdict verdict;
};

using CheckPtr = std::shared_ptr<Check>;

}  // namespace tidewatch
