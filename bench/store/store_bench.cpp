// Store benchmarks against a real MariaDB (bench/store/run.sh starts a private one):
//   generate   bulk-load N rows into jetpack_monitor_sites (LOAD DATA LOCAL INFILE)
//   load       source.mysql's first full load of the fleet: wall time and memory per target
//   projection ProjectionWriter::writeRows (UPDATE … IN per result second): rows/s
//   events     EventStore open + promote + close through the async queue: mutations/s
// Macro benchmarks over a whole database do not fit Google Benchmark's repetition model; this
// harness prints one line per figure with what was measured.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/mysql/event_store.h"
#include "io/mysql/migrate.h"
#include "io/mysql/pool.h"
#include "io/mysql/projection_writer.h"
#include "io/mysql/session.h"
#include "core/metrics.h"
#include "stages/mysql_connection.h"
#include "stages/source/mysql/mysql_source.h"

using namespace tidewatch;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

long rssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double cpuSeconds() {
  std::ifstream f("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto p = s.rfind(')');
  std::istringstream in(s.substr(p + 2));
  std::string tok;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> tok; ++i) {
    if (i == 14) utime = std::stol(tok);
    if (i == 15) stime = std::stol(tok);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

void generate(const DatabaseConfig& db, std::size_t rows) {
  const std::string file = "/tmp/tw-store-bench-sites.tsv";
  auto t0 = Clock::now();
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::mt19937_64 rng(42);
    for (std::size_t i = 1; i <= rows; ++i) {
      // 2 % of sites carry rules (keyword, timeout); 10 % are 1-minute sites; 1 % inactive.
      const bool rules = i % 50 == 0;
      std::fprintf(f, "%zu\t%zu\t%zu\thttps://site-%07zu.example.com/\t%d\t1\t%d\t%s\t%s\n", i, 1'000'000 + i,
                   i % 1000, i, i % 100 == 7 ? 0 : 1, i % 10 == 3 ? 1 : 5, rules ? "Welcome" : "\\N",
                   rules ? "15" : "\\N");
    }
    std::fclose(f);
  }
  auto t1 = Clock::now();
  std::string sql =
      "SET unique_checks=0; SET foreign_key_checks=0; LOAD DATA LOCAL INFILE '" + file +
      "' INTO TABLE jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, "
      "monitor_active, site_status, check_interval, check_keyword, timeout_seconds)";
  std::string cmd = "mariadb --no-defaults --local-infile=1 -uroot -S '" + db.socket + "' " + db.name + " -e \"" +
                    sql + "\"";
  if (sh(cmd) != 0) {
    std::cerr << "LOAD DATA failed\n";
    std::exit(1);
  }
  auto t2 = Clock::now();
  std::remove(file.c_str());
  std::printf("generate: %zu rows: TSV %.1f s, LOAD DATA %.1f s (%.0f rows/s)\n", rows, seconds(t1 - t0),
              seconds(t2 - t1), rows / seconds(t2 - t1));
}

struct Recorder : TargetListener {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Target> fleet;
  bool got = false;
  void replaceFleet(std::vector<Target> f) override {
    std::lock_guard lock(mu);
    fleet = std::move(f);
    got = true;
    cv.notify_all();
  }
};

void benchLoad(const DatabaseConfig& db) {
  Metrics metrics;
  stages::MysqlSourceOptions o;
  for (int run = 0; run < 2; ++run) {
    Recorder rec;
    const long rss0 = rssKb();
    const double cpu0 = cpuSeconds();
    auto t0 = Clock::now();
    auto source = stages::makeMysqlTargetSource(o, db, metrics);
    source->start(rec);
    {
      std::unique_lock lock(rec.mu);
      rec.cv.wait(lock, [&] { return rec.got; });
    }
    auto t1 = Clock::now();
    const double cpu = cpuSeconds() - cpu0;
    source->stop();
    const long rss1 = rssKb();
    std::size_t url_bytes = 0, custom = 0;
    for (const auto& t : rec.fleet) {
      url_bytes += t.url.capacity() > 15 ? t.url.capacity() + 1 : 0;
      custom += t.config != defaultSiteConfig();
    }
    std::printf("load #%d: %zu active targets in %.2f s (%.0f rows/s), client CPU %.2f s; RSS +%ld MB "
                "(%.0f bytes/target: sizeof(Target) %zu + URL heap %.0f + allocator), %zu with own rules\n",
                run + 1, rec.fleet.size(), seconds(t1 - t0), rec.fleet.size() / seconds(t1 - t0), cpu,
                (rss1 - rss0) / 1024, (rss1 - rss0) * 1024.0 / rec.fleet.size(), sizeof(Target),
                double(url_bytes) / rec.fleet.size(), custom);
  }
}

void benchProjection(const DatabaseConfig& db, std::size_t rows_total, std::size_t max_id) {
  mysql::Session s(stages::connectionOptions(db));
  if (!s.connect().ok()) std::exit(1);
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> ids(rows_total);
  for (auto& id : ids) id = 1 + rng() % max_id;
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (std::size_t per_stmt : {500u, 1000u, 5000u}) {
    auto t0 = Clock::now();
    const double cpu0 = cpuSeconds();
    for (std::size_t off = 0; off < ids.size(); off += per_stmt) {
      std::vector<std::pair<std::uint64_t, std::int64_t>> rows;
      // Result times spread over 10 s, as in one flush interval.
      for (std::size_t i = off; i < std::min(ids.size(), off + per_stmt); ++i)
        rows.emplace_back(ids[i], now_ms - static_cast<std::int64_t>(i % 10) * 1000);
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 rows.end());
      auto err = mysql::ProjectionWriter::writeRows(s, rows);
      if (!err.ok()) {
        std::cerr << err.describe() << "\n";
        std::exit(1);
      }
    }
    const double wall = seconds(Clock::now() - t0);
    std::printf("projection: %zu rows (random ids of %zu) in %zu-row chunks (10 result seconds each): %.1f s, %.0f rows/s, "
                "client CPU %.2f us/row\n",
                ids.size(), max_id, per_stmt, wall, ids.size() / wall, (cpuSeconds() - cpu0) * 1e6 / ids.size());
  }
}

void benchEvents(const DatabaseConfig& db, std::size_t sites, int workers) {
  auto pool = std::make_shared<mysql::Pool>(stages::connectionOptions(db), workers + 1);
  mysql::EventStore store(pool, {.workers = workers, .source = "bench"});
  std::atomic<std::size_t> failed{0};
  auto done = [&](const MutationResult& r) {
    if (r.status != MutationResult::Status::kApplied) ++failed;
  };
  auto t0 = Clock::now();
  const double cpu0 = cpuSeconds();
  for (std::size_t i = 1; i <= sites; ++i) {
    EventIdentity id;
    id.blog_id = 1'000'000 + i;
    id.endpoint_id = i;
    store.submit(EventMutation::open(id, Severity::kSeemsDown, "Seems Down", R"({"http_code":503})",
                                            SiteStatus::kDown),
                 done);
    store.submit(EventMutation::promote(id, Severity::kDown, "Down", "verifier_confirmed", "",
                                               SiteStatus::kConfirmedDown),
                 done);
    store.submit(EventMutation::close(id, "verifier_cleared", "", SiteStatus::kRunning), done);
  }
  store.drain(std::chrono::minutes(10));
  const double wall = seconds(Clock::now() - t0);
  std::printf("events: %zu mutations (open/promote/close of %zu sites, each a transaction with transition "
              "and site_status) with %d writer threads: %.1f s, %.0f mutations/s, client CPU %.0f us/mutation, "
              "%zu not applied\n",
              sites * 3, sites, workers, wall, sites * 3 / wall, (cpuSeconds() - cpu0) * 1e6 / (sites * 3),
              failed.load());
}

}  // namespace

int main(int argc, char** argv) {
  DatabaseConfig db;
  db.configured = true;
  db.name = "tw_store_bench";
  std::size_t rows = 2'000'000;
  std::string what = "all";
  int workers = 4;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) db.socket = argv[++i];
    else if (a == "--rows" && i + 1 < argc) rows = std::stoul(argv[++i]);
    else if (a == "--only" && i + 1 < argc) what = argv[++i];
    else if (a == "--workers" && i + 1 < argc) workers = std::stoi(argv[++i]);
    else {
      std::cerr << "usage: tw_store_bench --socket PATH [--rows N] [--only generate|load|projection|events] "
                   "[--workers N]\n";
      return 2;
    }
  }
  if (db.socket.empty()) {
    std::cerr << "--socket is required (bench/store/run.sh starts a private MariaDB)\n";
    return 2;
  }
  if (what == "all" || what == "generate") {
    mysql::Session s(stages::connectionOptions(db));
    if (!s.connect().ok()) return 1;
    s.execute("DROP DATABASE IF EXISTS tw_store_bench");
    std::ostringstream out;
    if (!mysql::applyMigrations(s, out).ok()) return 1;
    generate(db, rows);
  }
  if (what == "all" || what == "load") benchLoad(db);
  if (what == "all" || what == "projection") benchProjection(db, 200'000, rows);
  if (what == "all" || what == "events") benchEvents(db, 20'000, workers);
  return 0;
}
