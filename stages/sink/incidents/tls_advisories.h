// TLS advisories (compat §3.6): a tls_expiry event that warns at `tls_warning_days`, degrades
// at `tls_degraded_days` (or once expired), follows renewals down again and closes; a
// tls_deprecated event while the site negotiates TLS 1.1 or older; and the certificate's
// calendar day for jetpack_monitor_sites.ssl_expiry_date. Advisories never touch site_status
// and never notify. Pure: decisions go into Effects.
#pragma once

#include <cstdint>

#include "stages/sink/incidents/effects.h"
#include "stages/sink/incidents/incident_options.h"
#include "stages/sink/incidents/site_state.h"

namespace tidewatch::stages {

class TlsAdvisories {
 public:
  explicit TlsAdvisories(const IncidentOptions& options) : o_(options) {}

  // Every result of a site the engine looks at (successes and failures alike).
  void onResult(SiteState& st, const Check& c, std::int64_t now, Effects& out, EngineMetrics& m) const;

 private:
  const IncidentOptions& o_;
};

}  // namespace tidewatch::stages
