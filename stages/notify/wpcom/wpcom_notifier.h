// notify.wpcom: sends WPCOM status-change notifications (compat §7; docs/notifications.md)
// through WpcomClient (wpcom_client.h: delivery queue, retry, breaker) and the payload of
// wpcom_payload.h, on the daemon's Asio event loop.
//
// Options: mode (modern | legacy), endpoint (default per mode: the real WordPress.com URLs —
// tests always point it at the fixture's mock), auth_token, enable (true), timeout_s (15),
// tls_ca_file, tls_insecure_skip_verify (legacy default true, modern false), tls_cert_file /
// tls_key_file (legacy client certificate), breaker_failures (5), breaker_open_s (60),
// queue_max (1000), flush_timeout_s (0 = 2 × timeout_s + 5).
#pragma once

#include "pipeline/registry.h"

namespace tidewatch::stages {

void registerWpcomNotifier(StageRegistry& registry);

}  // namespace tidewatch::stages
