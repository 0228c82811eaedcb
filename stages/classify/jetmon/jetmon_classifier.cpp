#include "stages/classify/jetmon/jetmon_classifier.h"

namespace tidewatch::stages {

Verdict classifyJetmon(const ProbeResult& r) {
  Verdict v;
  const ErrorCode e = r.error;
  // Success = no early return (transport, TLS-expired, body, content or safety error) and
  // 0 < code < 400. Code 7 (deprecated TLS) is an advisory and does not return early.
  const bool early_return = e != ErrorCode::kNone && e != ErrorCode::kTlsDeprecated;
  v.success = !early_return && r.http_code > 0 && r.http_code < 400;
  v.advisory_tls_deprecated = e == ErrorCode::kTlsDeprecated || (r.tls.version != 0 && r.tls.version <= 0x0302);
  v.probe_safety_blocked = e == ErrorCode::kProbeSafety;
  // IsFailure = not success, or success with an error other than 0 and 7; a probe-safety
  // block is never a failure (the monitor refused to look, the site is not down).
  // A monitor fault says nothing about the site: neither success nor failure (Unknown).
  v.monitor_fault = r.monitor_fault && !v.success;
  v.failure = !v.probe_safety_blocked && !v.monitor_fault &&
              (!v.success || (e != ErrorCode::kNone && e != ErrorCode::kTlsDeprecated));

  if (v.success) v.status_type = StatusType::kSuccess;
  else if (e == ErrorCode::kProbeSafety) v.status_type = StatusType::kProbeSafety;
  else if (e == ErrorCode::kSsl || e == ErrorCode::kTlsExpired) v.status_type = StatusType::kHttps;
  else if (e == ErrorCode::kTimeout || e == ErrorCode::kBodyRead) v.status_type = StatusType::kIntermittent;
  else if (e == ErrorCode::kRedirect) v.status_type = StatusType::kRedirect;
  else if (r.http_code == 403) v.status_type = StatusType::kBlocked;
  else if (r.http_code >= 500) v.status_type = StatusType::kServer;
  else if (r.http_code >= 400) v.status_type = StatusType::kClient;
  else v.status_type = StatusType::kIntermittent;
  return v;
}

namespace {

class JetmonClassifier final : public Classifier {
 public:
  void classify(Check& check) const override { check.verdict = classifyJetmon(check.result); }
};

}  // namespace

void registerJetmonClassifier(StageRegistry& registry) {
  registry.add({StageKind::kClassify, "classify.jetmon",
                "Jetmon v2 success/failure rule, error codes 0-9 and status_type mapping",
                [](ConfigMap&) { return std::any(); },
                [](const std::any&, StageContext&) -> std::unique_ptr<Stage> {
                  return std::make_unique<JetmonClassifier>();
                }});
}

}  // namespace tidewatch::stages
