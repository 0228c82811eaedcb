// tls_handshake_bench: the client's CPU for one TLS handshake plus one request/response in
// memory (a BIO pair, no sockets, no Asio), against an OpenSSL server with its defaults — the
// fixture's settings: TLS 1.2–1.3, ECDSA P-256, X25519 first, two TLS 1.3 tickets per handshake,
// TLS 1.2 tickets on. Only the client's calls are timed (thread CPU clock, manual time), so the
// numbers are the floor of what probe.http can spend in OpenSSL per HTTPS check; the rest of a
// check (sockets, the extra round trip, asio::ssl::stream) comes on top.
//
//   tw_tls_handshake_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// X25519/keygen_derive is the key exchange a TLS 1.3 resumption cannot avoid (psk_dhe_ke).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>

#include <cstdlib>

namespace {

double threadCpu() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Pki {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  Pki() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* n = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("site.test"), -1, -1, 0);
    X509_set_issuer_name(cert, n);
    X509_sign(cert, key, EVP_sha256());
  }
};

const Pki& pki() {
  static const Pki p;
  return p;
}

SSL_SESSION* g_session = nullptr;

int onNewSession(SSL*, SSL_SESSION* s) {
  if (g_session) SSL_SESSION_free(g_session);
  g_session = s;
  return 1;
}

// One handshake + "GET / → 200" exchange; returns the client's CPU seconds.
double exchange(SSL_CTX* server_ctx, SSL_CTX* client_ctx, bool resume, bool& resumed) {
  double cpu = 0;
  double t0 = threadCpu();
  SSL* c = SSL_new(client_ctx);
  SSL_set_tlsext_host_name(c, "site.test");
  SSL_set1_host(c, "site.test");
  if (resume && g_session) SSL_set_session(c, g_session);
  cpu += threadCpu() - t0;
  SSL* s = SSL_new(server_ctx);
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  for (int i = 0; i < 20; ++i) {
    t0 = threadCpu();
    int rc = SSL_do_handshake(c);
    cpu += threadCpu() - t0;
    int rs = SSL_do_handshake(s);
    if (rc == 1 && rs == 1) break;
    if (rc != 1 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) std::abort();
  }
  static const char kRequest[] = "GET / HTTP/1.1\r\nHost: site.test\r\n\r\n";
  static const char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  char buf[4096];
  t0 = threadCpu();
  SSL_write(c, kRequest, sizeof kRequest - 1);
  cpu += threadCpu() - t0;
  SSL_read(s, buf, sizeof buf);
  SSL_write(s, kResponse, sizeof kResponse - 1);
  t0 = threadCpu();
  SSL_read(c, buf, sizeof buf);  // also processes the TLS 1.3 tickets sent before the response
  resumed = SSL_session_reused(c) == 1;
  SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(c);
  cpu += threadCpu() - t0;
  SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(s);
  return cpu;
}

void BM_ClientHandshake(benchmark::State& state, int max_version, bool resume) {
  SSL_CTX* server = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(server, pki().cert);
  SSL_CTX_use_PrivateKey(server, pki().key);
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client, max_version);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client), pki().cert);
  SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(client, &onNewSession);
  bool resumed = false;
  exchange(server, client, false, resumed);  // earns the first session
  std::size_t resumptions = 0;
  for (auto _ : state) {
    state.SetIterationTime(exchange(server, client, resume, resumed));
    resumptions += resumed ? 1 : 0;
  }
  if (resume && resumptions != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("a session was not resumed");
  }
  if (g_session) SSL_SESSION_free(g_session);
  g_session = nullptr;
  SSL_CTX_free(client);
  SSL_CTX_free(server);
}

BENCHMARK_CAPTURE(BM_ClientHandshake, tls13_full, TLS1_3_VERSION, false)->UseManualTime();
BENCHMARK_CAPTURE(BM_ClientHandshake, tls13_resumed, TLS1_3_VERSION, true)->UseManualTime();
BENCHMARK_CAPTURE(BM_ClientHandshake, tls12_full, TLS1_2_VERSION, false)->UseManualTime();
BENCHMARK_CAPTURE(BM_ClientHandshake, tls12_resumed, TLS1_2_VERSION, true)->UseManualTime();

// The client's share of a TLS 1.3 key exchange: generate a key share, derive the secret.
void BM_X25519KeygenDerive(benchmark::State& state) {
  EVP_PKEY* peer = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  for (auto _ : state) {
    EVP_PKEY* mine = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine, nullptr);
    unsigned char secret[32];
    std::size_t len = sizeof secret;
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, peer);
    EVP_PKEY_derive(ctx, secret, &len);
    benchmark::DoNotOptimize(secret);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
  }
  EVP_PKEY_free(peer);
}
BENCHMARK(BM_X25519KeygenDerive);

}  // namespace

BENCHMARK_MAIN();
