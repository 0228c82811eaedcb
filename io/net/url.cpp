#include "io/net/url.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/text.h"

namespace tidewatch::io {
namespace {

// Longer URLs are not sites anyone monitors; bounding them keeps loop detection cheap.
constexpr std::size_t kMaxUrlLength = 8192;

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// Requests are sent as-is; only bytes that would break the request line are escaped.
std::string sanitizeTarget(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 1);
  if (path.empty() || path.front() != '/') out.push_back('/');
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 3986 §5.2.4, on the path part only.
std::string removeDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  bool trailing_slash = false;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    bool last = j >= path.size();
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else if (seg == ".") {
      trailing_slash = last;
    } else if (!(seg.empty() && i == 0)) {
      out.push_back(seg);
      trailing_slash = false;
    }
    i = j + 1;
  }
  std::string result;
  for (auto seg : out) {
    result.push_back('/');
    result.append(seg);
  }
  if (trailing_slash || result.empty()) result.push_back('/');
  return result;
}

}  // namespace

std::string Url::hostHeader() const {
  std::string out;
  if (host_is_ipv6) {
    out.push_back('[');
    out.append(host);
    out.push_back(']');
  } else {
    out = host;
  }
  if (!defaultPort()) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

std::string Url::str() const {
  std::string out(scheme());
  out.append("://");
  out.append(hostHeader());
  out.append(target);
  return out;
}

UrlParse parseUrl(std::string_view text) {
  UrlParse r;
  text = trimSpace(text);
  if (text.empty()) {
    r.error = UrlError::kEmpty;
    return r;
  }
  if (text.size() > kMaxUrlLength) {
    r.error = UrlError::kTooLong;
    return r;
  }
  Url url;
  if (istartsWith(text, "https://")) {
    url.https = true;
    text.remove_prefix(8);
  } else if (istartsWith(text, "http://")) {
    text.remove_prefix(7);
  } else {
    r.error = UrlError::kBadScheme;
    return r;
  }
  std::size_t auth_end = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, auth_end);
  std::string_view rest =
      auth_end == std::string_view::npos ? std::string_view{} : text.substr(auth_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.has_userinfo = true;
    authority.remove_prefix(at + 1);
  }
  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      r.error = UrlError::kBadHost;
      return r;
    }
    host = authority.substr(1, close - 1);
    url.host_is_ipv6 = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        r.error = UrlError::kBadHost;
        return r;
      }
      port_text = after.substr(1);
    }
    for (char c : host) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) {
        r.error = UrlError::kBadHost;
        return r;
      }
    }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : host) {
      if (!validHostChar(c)) {
        r.error = UrlError::kBadHost;
        return r;
      }
    }
  }
  if (host.empty() || host.size() > 253) {
    r.error = UrlError::kBadHost;
    return r;
  }
  url.host.reserve(host.size());
  for (char c : host) url.host.push_back(asciiLower(c));
  if (!url.host.empty() && url.host.back() == '.' && !url.host_is_ipv6) url.host.pop_back();
  if (url.host.empty()) {
    r.error = UrlError::kBadHost;
    return r;
  }
  if (port_text.empty()) {
    url.port = url.https ? 443 : 80;
  } else {
    unsigned value = 0;
    if (port_text.size() > 5) {
      r.error = UrlError::kBadPort;
      return r;
    }
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        r.error = UrlError::kBadPort;
        return r;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      r.error = UrlError::kBadPort;
      return r;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  url.target = sanitizeTarget(rest);
  r.url = std::move(url);
  return r;
}

UrlParse resolveReference(const Url& base, std::string_view reference) {
  reference = trimSpace(reference);
  if (auto hash = reference.find('#'); hash != std::string_view::npos) {
    reference = reference.substr(0, hash);
  }
  // A scheme present (letters then ':' before any '/', '?'): absolute.
  std::size_t colon = reference.find(':');
  std::size_t delim = reference.find_first_of("/?");
  if (colon != std::string_view::npos && (delim == std::string_view::npos || colon < delim)) {
    bool scheme_like = colon > 0;
    for (std::size_t i = 0; i < colon && scheme_like; ++i) {
      char c = reference[i];
      scheme_like = std::isalpha(static_cast<unsigned char>(c)) ||
                    (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                               c == '-' || c == '.'));
    }
    if (scheme_like) return parseUrl(reference);
  }
  if (reference.size() >= 2 && reference[0] == '/' && reference[1] == '/') {
    std::string abs(base.scheme());
    abs.push_back(':');
    abs.append(reference);
    return parseUrl(abs);
  }
  Url url = base;
  url.has_userinfo = false;
  std::string_view base_path = base.target;
  std::string_view base_query;
  if (auto q = base_path.find('?'); q != std::string_view::npos) {
    base_query = base_path.substr(q);
    base_path = base_path.substr(0, q);
  }
  if (reference.empty()) {
    url.target = std::string(base_path) + std::string(base_query);
  } else if (reference.front() == '?') {
    url.target = sanitizeTarget(std::string(base_path) + std::string(reference));
  } else {
    std::string_view ref_path = reference;
    std::string_view ref_query;
    if (auto q = ref_path.find('?'); q != std::string_view::npos) {
      ref_query = ref_path.substr(q);
      ref_path = ref_path.substr(0, q);
    }
    std::string merged;
    if (!ref_path.empty() && ref_path.front() == '/') {
      merged = std::string(ref_path);
    } else {
      auto slash = base_path.rfind('/');
      merged = std::string(base_path.substr(0, slash == std::string_view::npos ? 0 : slash + 1));
      merged.append(ref_path);
    }
    url.target = sanitizeTarget(removeDotSegments(merged) + std::string(ref_query));
  }
  UrlParse r;
  if (url.target.size() > kMaxUrlLength) {
    r.error = UrlError::kTooLong;
    return r;
  }
  r.url = std::move(url);
  return r;
}

std::string_view toString(UrlError error) {
  switch (error) {
    case UrlError::kNone:
      return "ok";
    case UrlError::kEmpty:
      return "empty URL";
    case UrlError::kBadScheme:
      return "unsupported URL scheme";
    case UrlError::kBadHost:
      return "bad host in URL";
    case UrlError::kBadPort:
      return "bad port in URL";
    case UrlError::kTooLong:
      return "URL too long";
  }
  return "?";
}

}  // namespace tidewatch::io
