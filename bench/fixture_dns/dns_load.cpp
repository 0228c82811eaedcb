// UDP load generator for the fixture's DNS server: keeps `--window` A queries in flight over
// `--names` distinct fleet names, checks every answer against fleetAddress(), and reports
// queries/s plus the server's CPU per query read from /proc/<pid>/stat (utime + stime), which is
// the honest figure when the server is a separate process pinned to its own core.
//
//   tw_dns_load --port P --pid SERVER_PID [--address 127.0.0.1] [--names 100000]
//               [--duration 10] [--window 256] [--zone fleet.test]
//
// Linux only (recvmmsg/sendmmsg keep the client cheap so the server, not the client, saturates).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "fixture/fleet.h"

namespace {

using Clock = std::chrono::steady_clock;
using tidewatch::fixture::FleetSpec;

// Server CPU in clock ticks, fields 14 and 15 of /proc/PID/stat (after the parenthesised comm).
long serverTicks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A standard recursion-desired-off A query with an EDNS OPT (as resolvers send), id patched later.
std::vector<std::uint8_t> buildQuery(const std::string& name) {
  std::vector<std::uint8_t> q = {0, 0, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<std::uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  for (std::uint8_t b : {0, 1, 0, 1}) q.push_back(b);                       // A, IN
  for (std::uint8_t b : {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0}) q.push_back(b);  // OPT 1232
  return q;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  int port = 0, pid = 0, durationS = 10;
  std::uint32_t names = 100000, window = 256;
  FleetSpec spec;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--address") address = v;
    else if (k == "--port") port = std::stoi(v);
    else if (k == "--pid") pid = std::stoi(v);
    else if (k == "--names") names = static_cast<std::uint32_t>(std::stoul(v));
    else if (k == "--duration") durationS = std::stoi(v);
    else if (k == "--window") window = static_cast<std::uint32_t>(std::stoul(v));
    else if (k == "--zone") spec.suffix = "." + v;
    else {
      std::cerr << "unknown argument " << k << "\n";
      return 2;
    }
  }
  if (port == 0 || window == 0 || window > 65536 || names == 0) {
    std::cerr << "usage: tw_dns_load --port P [--pid SERVER_PID] [--names N] [--duration S] [--window W]\n";
    return 2;
  }
  spec.count = names;

  std::vector<std::vector<std::uint8_t>> queries(names);
  std::vector<std::uint32_t> expected(names);
  for (std::uint32_t i = 0; i < names; ++i) {
    queries[i] = buildQuery(tidewatch::fixture::fleetHostName(spec, i + 1));
    expected[i] = htonl(tidewatch::fixture::fleetAddress(spec, i + 1));
  }

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &server.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    perror("connect");
    return 1;
  }
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  timeval tv{0, 10000};   // 10 ms: wake up to resend lost queries and to check the clock
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  constexpr int kBatch = 64;
  constexpr auto kLostAfter = std::chrono::milliseconds(500);
  // Slot = DNS id: which name it carried and when it was sent (0 = free).
  std::vector<std::uint32_t> slotName(65536);
  std::vector<Clock::time_point> slotSent(65536);
  std::vector<std::uint16_t> freeSlots;
  for (std::uint32_t i = 0; i < window; ++i) freeSlots.push_back(static_cast<std::uint16_t>(i));

  std::vector<std::array<std::uint8_t, 512>> rx(kBatch);
  std::vector<iovec> rxIov(kBatch), txIov(kBatch);
  std::vector<mmsghdr> rxMsg(kBatch), txMsg(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    rxIov[i] = {rx[i].data(), rx[i].size()};
    rxMsg[i].msg_hdr = {};
    rxMsg[i].msg_hdr.msg_iov = &rxIov[i];
    rxMsg[i].msg_hdr.msg_iovlen = 1;
    txMsg[i].msg_hdr = {};
    txMsg[i].msg_hdr.msg_iov = &txIov[i];
    txMsg[i].msg_hdr.msg_iovlen = 1;
  }

  std::uint64_t sent = 0, answered = 0, wrong = 0, lost = 0, nextName = 0;
  const long ticksBefore = pid ? serverTicks(pid) : 0;
  const double selfBefore = selfCpuSeconds();
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::seconds(durationS);
  auto nextScan = begin + std::chrono::milliseconds(100);
  while (true) {
    const auto now = Clock::now();
    if (now >= end) break;
    // Fill the window.
    while (!freeSlots.empty()) {
      int n = 0;
      while (n < kBatch && !freeSlots.empty()) {
        const std::uint16_t id = freeSlots.back();
        freeSlots.pop_back();
        const std::uint32_t nameIdx = static_cast<std::uint32_t>(nextName++ % names);
        auto& q = queries[nameIdx];
        q[0] = static_cast<std::uint8_t>(id >> 8);
        q[1] = static_cast<std::uint8_t>(id);
        slotName[id] = nameIdx;
        slotSent[id] = now;
        txIov[n] = {q.data(), q.size()};
        ++n;
      }
      // Each query buffer is patched in place, so send this batch before reusing any of them.
      int done = 0;
      while (done < n) {
        const int r = sendmmsg(fd, txMsg.data() + done, static_cast<unsigned>(n - done), 0);
        if (r <= 0) break;
        done += r;
      }
      sent += static_cast<std::uint64_t>(done);
    }
    const int r = recvmmsg(fd, rxMsg.data(), kBatch, MSG_WAITFORONE, nullptr);
    for (int i = 0; i < r; ++i) {
      const std::uint8_t* p = rx[i].data();
      const unsigned len = rxMsg[i].msg_len;
      if (len < 12) continue;
      const std::uint16_t id = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
      if (slotSent[id] == Clock::time_point{}) continue;   // late reply to a slot given up on
      const std::uint32_t nameIdx = slotName[id];
      // Answer is the last 4 octets before the 11-octet OPT: header, question, C00C A IN TTL 4 ip.
      const bool ok = (p[3] & 0x0F) == 0 && p[7] == 1 && len >= 4 + 11 &&
                      std::memcmp(p + len - 11 - 4, &expected[nameIdx], 4) == 0;
      if (!ok) ++wrong;
      ++answered;
      slotSent[id] = {};
      freeSlots.push_back(id);
    }
    if (now >= nextScan) {
      nextScan = now + std::chrono::milliseconds(100);
      for (std::uint32_t id = 0; id < window; ++id) {
        if (slotSent[id] != Clock::time_point{} && now - slotSent[id] > kLostAfter) {
          ++lost;
          slotSent[id] = {};
          freeSlots.push_back(static_cast<std::uint16_t>(id));
        }
      }
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - begin).count();
  const long ticksAfter = pid ? serverTicks(pid) : 0;
  const double selfCpu = selfCpuSeconds() - selfBefore;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double serverCpu = (ticksAfter - ticksBefore) / tick;

  std::printf("names %u window %u duration %.2f s\n", names, window, wall);
  std::printf("sent %llu answered %llu wrong %llu lost %llu\n", (unsigned long long)sent,
              (unsigned long long)answered, (unsigned long long)wrong, (unsigned long long)lost);
  std::printf("qps %.0f\n", answered / wall);
  if (pid)
    std::printf("server_cpu_s %.2f server_cpu_util %.0f%% server_us_per_query %.2f\n", serverCpu,
                100.0 * serverCpu / wall, answered ? 1e6 * serverCpu / answered : 0.0);
  std::printf("client_cpu_s %.2f client_us_per_query %.2f\n", selfCpu,
              answered ? 1e6 * selfCpu / answered : 0.0);
  return wrong == 0 ? 0 : 1;
}
