// Small text and time helpers used across the tree (io/, stages/, services/, fixture/). One
// copy of each: ASCII case folding, glob patterns, "host:port" listen strings and UTC
// timestamps. Pure functions, any thread, no allocation beyond the returned strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidewatch {

// ASCII-only case folding: HTTP header names, DNS names and URL schemes are ASCII.
char asciiLower(char c);
bool iequals(std::string_view a, std::string_view b);
bool istartsWith(std::string_view text, std::string_view prefix);

// Without leading and trailing spaces, tabs, CRs and LFs (header values, config words).
std::string_view trimSpace(std::string_view text);

// '*' matches any run of characters (including none), '?' exactly one; ASCII case-insensitive
// (host names and DNS names compare that way). Iterative with one backtrack point:
// O(|pattern|·|text|) worst case and no recursion, so a hostile pattern cannot exhaust the
// stack.
bool globMatch(std::string_view pattern, std::string_view text);

// "host:port", "[v6]:port" or ":port" (host empty). The port must be 0–65535. On failure
// returns nullopt and, when `error` is given, says why ("missing ':port'", "bad port 'x'").
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<HostPort> splitHostPort(std::string_view listen, std::string* error = nullptr);

// UTC timestamps from unix milliseconds (negative values are clamped to the epoch).
enum class UtcFormat : std::uint8_t {
  kIso8601,          // 2026-12-07T01:20:17Z
  kIso8601Millis,    // 2026-12-07T01:20:17.123Z
  kSqlDatetime,      // 2026-12-07 01:20:17        (MySQL DATETIME)
  kSqlDatetimeMillis // 2026-12-07 01:20:17.123    (MySQL DATETIME(3))
};
std::string formatUtc(std::int64_t unix_ms, UtcFormat format);

// Milliseconds since the Unix epoch on the system clock (what every stored time is).
std::int64_t unixNowMs();

// Unix seconds of a UTC civil time (proleptic Gregorian; no time zone, no libc state).
std::int64_t unixSecondsFromUtc(int year, int month, int day, int hour, int minute, int second);

}  // namespace tidewatch
