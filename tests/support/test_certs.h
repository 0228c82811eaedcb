// Certificates made at test time (OpenSSL API, P-256): a private CA, leaves signed by it
// (valid, expired, for another name) and a self-signed leaf; plus a blocking TLS server
// handler for FakeServer. Nothing is read from or written to the network.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <functional>
#include <string>
#include <utility>

#include "tests/support/fake_http.h"

namespace tidewatch::testing {

struct KeyAndCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  KeyAndCert() = default;
  KeyAndCert(const KeyAndCert&) = delete;
  KeyAndCert& operator=(const KeyAndCert&) = delete;
  KeyAndCert(KeyAndCert&& o) noexcept : key(o.key), cert(o.cert) {
    o.key = nullptr;
    o.cert = nullptr;
  }
  KeyAndCert& operator=(KeyAndCert&& o) noexcept {
    std::swap(key, o.key);
    std::swap(cert, o.cert);
    return *this;
  }
  ~KeyAndCert() {
    if (key) EVP_PKEY_free(key);
    if (cert) X509_free(cert);
  }
};

// `not_before_days`/`not_after_days` relative to now; `san` like "DNS:a.test,IP:127.0.0.1".
inline KeyAndCert makeCert(const std::string& cn, const std::string& san, long not_before_days,
                           long not_after_days, const KeyAndCert* issuer, bool is_ca) {
  KeyAndCert kc;
  kc.key = EVP_EC_gen("P-256");
  kc.cert = X509_new();
  X509_set_version(kc.cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(kc.cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(kc.cert), not_before_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(kc.cert), not_after_days * 86400L);
  X509_set_pubkey(kc.cert, kc.key);
  X509_NAME* name = X509_get_subject_name(kc.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(kc.cert, issuer ? X509_get_subject_name(issuer->cert) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->cert : kc.cert, kc.cert, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext) {
      X509_add_ext(kc.cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
  };
  if (is_ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "CA:FALSE");
    if (!san.empty()) add(NID_subject_alt_name, san.c_str());
  }
  X509_sign(kc.cert, issuer ? issuer->key : kc.key, EVP_sha256());
  return kc;
}

inline std::string writePem(const X509* cert, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  PEM_write_X509(f, const_cast<X509*>(cert));
  std::fclose(f);
  return path;
}

struct TlsServerSpec {
  const KeyAndCert* leaf = nullptr;
  int min_version = TLS1_2_VERSION;
  int max_version = 0;
  std::string response;
  bool abort_handshake = false;  // read the ClientHello, then close: a failed handshake
};

// One SSL_CTX per server; the handler runs a blocking TLS exchange per connection.
class TlsServerContext {
 public:
  explicit TlsServerContext(const TlsServerSpec& spec) : spec_(spec) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx_, spec.min_version);
    if (spec.max_version) SSL_CTX_set_max_proto_version(ctx_, spec.max_version);
    SSL_CTX_use_certificate(ctx_, spec.leaf->cert);
    SSL_CTX_use_PrivateKey(ctx_, spec.leaf->key);
    SSL_CTX_set_session_id_context(ctx_, reinterpret_cast<const unsigned char*>("tw"), 2);
  }
  ~TlsServerContext() { SSL_CTX_free(ctx_); }

  FakeServer::Handler handler() {
    return [this](int fd, const std::atomic<bool>&) {
      if (spec_.abort_handshake) {
        char buf[512];
        ::recv(fd, buf, sizeof buf, 0);
        return;
      }
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          head.append(buf, static_cast<std::size_t>(n));
        }
        SSL_write(ssl, spec_.response.data(), static_cast<int>(spec_.response.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
    };
  }

 private:
  TlsServerSpec spec_;
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace tidewatch::testing
