// Absolute http/https URLs as the probe needs them: scheme, host, port, request target, and
// relative reference resolution for redirect Location headers (RFC 3986 §5.2, simplified to
// what HTTP servers send). Pure functions, any thread; a malformed URL is a value, not a throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidewatch::io {

struct Url {
  bool https = false;
  bool has_userinfo = false;  // "user:pass@host" — rejected by probe safety
  bool host_is_ipv6 = false;  // the host was written in brackets
  std::string host;           // lower-cased, without brackets
  std::uint16_t port = 0;     // explicit or the scheme's default
  std::string target;         // path + "?" query, never empty ("/" at least), no fragment

  std::string_view scheme() const { return https ? "https" : "http"; }
  bool defaultPort() const { return port == (https ? 443 : 80); }
  // Host header value: host, [v6], plus ":port" when not the default.
  std::string hostHeader() const;
  // Canonical absolute form (used for loop detection and final_url).
  std::string str() const;
};

enum class UrlError : std::uint8_t { kNone, kEmpty, kBadScheme, kBadHost, kBadPort, kTooLong };

struct UrlParse {
  std::optional<Url> url;
  UrlError error = UrlError::kNone;
};

// Parses an absolute URL; only http and https are accepted (others: kBadScheme).
UrlParse parseUrl(std::string_view text);

// Resolves `reference` (a Location header value) against `base`. Handles absolute URLs,
// scheme-relative ("//host/p"), absolute paths, relative paths with dot segments, query-only
// and empty references.
UrlParse resolveReference(const Url& base, std::string_view reference);

std::string_view toString(UrlError error);

}  // namespace tidewatch::io
