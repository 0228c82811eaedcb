#include "stages/sink/incidents/tls_advisories.h"

namespace tidewatch::stages {
namespace {

using nlohmann::json;

std::string severityState(std::uint8_t sev) { return sev >= 2 ? "Degraded" : "Warning"; }

}  // namespace

void TlsAdvisories::onResult(SiteState& st, const Check& c, std::int64_t now, Effects& out, EngineMetrics& m) const {
  const TlsFacts& tls = c.result.tls;
  if (tls.version != 0) {
    if (tls.version <= 0x0302 && !st.tls_deprecated_open) {
      json meta{{"tls_version", tlsVersionName(tls.version)},
                {"tls_version_code", evidence::tlsVersionCode(tls.version)},
                {"cipher_suite", tls.cipher},
                {"cipher_suite_id", evidence::tlsVersionCode(tls.cipher_id)},
                {"url", st.target ? st.target->url : ""},
                {"rule", "tls_deprecated"}};
      out.submit(EventMutation::open(identityOf(st, "tls_deprecated"), Severity::kWarning, "Warning",
                                     evidence::dump(meta)));
      st.tls_deprecated_open = true;
      m.count("detection.tls_deprecated.open", nullptr);
    } else if (tls.version >= 0x0303 && st.tls_deprecated_open) {
      json meta{{"tls_version", tlsVersionName(tls.version)}, {"rule", "tls_modern"}};
      out.submit(EventMutation::close(identityOf(st, "tls_deprecated"), "probe_cleared", evidence::dump(meta)));
      st.tls_deprecated_open = false;
    }
  }
  if (tls.cert_not_after == 0) return;
  const std::int32_t day = dayOf(tls.cert_not_after);
  if (day != st.ssl_day) {
    st.ssl_day = day;
    out.ssl_day_changed = day;
  }
  out.ssl_day_seen = day;
  // Whole days, truncated (compat §3.6); an expired certificate is the worst advisory.
  std::int64_t left_ms = tls.cert_not_after * 1000 - now;
  std::int64_t days = left_ms / kDayMs;
  std::uint8_t sev = left_ms < 0 || days <= o_.tls_degraded_days ? 2 : days <= o_.tls_warning_days ? 1 : 0;
  if (sev == st.tls_expiry_sev) return;
  json meta{{"days_until", days},
            {"expires_at", evidence::rfc3339(tls.cert_not_after * 1000)},
            {"url", st.target ? st.target->url : ""},
            {"rule", sev == 0 ? "tls_expiry_renewed" : sev == 2 ? "tls_expiry_degraded" : "tls_expiry_warning"}};
  EventIdentity id = identityOf(st, "tls_expiry");
  if (sev == 0) {
    out.submit(EventMutation::close(id, "probe_cleared", evidence::dump(meta)));
  } else if (st.tls_expiry_sev == 0) {
    out.submit(EventMutation::open(id, static_cast<Severity>(sev), severityState(sev), evidence::dump(meta)));
    m.count("detection.tls_expiry.open", nullptr);
  } else {
    // The store names the reason: severity_escalation or severity_deescalation.
    out.submit(EventMutation::promote(id, static_cast<Severity>(sev), severityState(sev), "", evidence::dump(meta)));
  }
  st.tls_expiry_sev = sev;
}

}  // namespace tidewatch::stages
