#include "fixture/dns/dns_wire.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

#include "fixture/dns/dns_responder.h"
#include "tests/fixture_dns/dns_test_util.h"

namespace tidewatch::fixture::dns {
namespace {

using testing::decode;
using testing::makeQuery;

TEST(DnsWire, ParsesQuestionLowerCasedAndFindsOpt) {
  auto packet = makeQuery("SiTe-0000001.Fleet.TEST", {.id = 77, .qtype = 28, .ednsSize = 4096});
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  EXPECT_EQ(q.id, 77);
  EXPECT_EQ(q.nameView(), "site-0000001.fleet.test");
  EXPECT_EQ(q.qtype, 28);
  EXPECT_EQ(q.qclass, 1);
  EXPECT_TRUE(q.has_opt);
  EXPECT_EQ(q.udpLimit(), 4096u);
  EXPECT_EQ(q.question_end, 12 + 25 + 4u);
}

TEST(DnsWire, WithoutEdnsTheUdpLimitIs512) {
  auto packet = makeQuery("a.fleet.test", {.edns = false});
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  EXPECT_FALSE(q.has_opt);
  EXPECT_EQ(q.udpLimit(), 512u);
}

TEST(DnsWire, RootNameParsesAsEmpty) {
  auto packet = makeQuery("", {.qtype = 2});
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  EXPECT_EQ(q.nameView(), "");
}

TEST(DnsWire, ShortPacketsAndResponsesAreDropped) {
  Query q;
  std::vector<std::uint8_t> shortPacket(11, 0);
  EXPECT_EQ(parseQuery(shortPacket, q), ParseStatus::Drop);
  auto response = makeQuery("a.fleet.test");
  response[2] |= 0x80;   // QR
  EXPECT_EQ(parseQuery(response, q), ParseStatus::Drop);
}

TEST(DnsWire, NonQueryOpcodeIsNotImp) {
  auto packet = makeQuery("a.fleet.test");
  packet[2] |= 0x28;   // opcode 5 = UPDATE
  Query q;
  EXPECT_EQ(parseQuery(packet, q), ParseStatus::NotImp);
}

TEST(DnsWire, MalformedQuestionsAreFormErr) {
  Query q;
  auto zeroQuestions = makeQuery("a.fleet.test");
  zeroQuestions[5] = 0;
  EXPECT_EQ(parseQuery(zeroQuestions, q), ParseStatus::FormErr);

  auto truncated = makeQuery("a.fleet.test", {.edns = false});
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(parseQuery(truncated, q), ParseStatus::FormErr);

  auto pointer = makeQuery("a.fleet.test", {.edns = false});
  pointer[12] = 0xC0;
  pointer[13] = 0x0C;   // points at itself
  EXPECT_EQ(parseQuery(pointer, q), ParseStatus::FormErr);

  auto longLabel = makeQuery(std::string(64, 'x') + ".fleet.test");
  EXPECT_EQ(parseQuery(longLabel, q), ParseStatus::FormErr);

  std::string longName;
  for (int i = 0; i < 5; ++i) longName += std::string(60, 'x') + ".";
  longName += "test";   // 5 * 61 + 5 + 1 > 255 octets
  EXPECT_EQ(parseQuery(makeQuery(longName), q), ParseStatus::FormErr);

  auto badOpt = makeQuery("a.fleet.test");
  badOpt.resize(badOpt.size() - 1);   // OPT RDLENGTH cut short
  EXPECT_EQ(parseQuery(badOpt, q), ParseStatus::FormErr);
}

TEST(DnsWire, DotInsideALabelNeverMatchesTheDottedName) {
  // One label "site-0000001.fleet" followed by "test" must not look like the fleet host.
  std::vector<std::uint8_t> packet = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 18};
  for (char c : std::string("site-0000001.fleet")) packet.push_back(static_cast<std::uint8_t>(c));
  packet.push_back(4);
  for (char c : std::string("test")) packet.push_back(static_cast<std::uint8_t>(c));
  for (std::uint8_t b : {0, 0, 1, 0, 1}) packet.push_back(b);
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  EXPECT_NE(q.nameView(), "site-0000001.fleet.test");
}

TEST(DnsWire, WriterCompressesOwnerAndRdataAgainstTheQuestion) {
  auto packet = makeQuery("nothere.fleet.test");
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  std::array<std::uint8_t, 512> buf{};
  ResponseWriter w(buf, 512);
  w.begin(q, packet, Rcode::NxDomain, true);
  ASSERT_TRUE(w.addSoa(ResponseWriter::Section::Authority, "fleet.test", 30,
                       {"ns1.fleet.test", "hostmaster.fleet.test", 1, 2, 3, 4, 5}));
  ASSERT_TRUE(w.addOpt(1232));
  const std::size_t n = w.finish();
  // Header 12 + question 24 + SOA (owner ptr 2 + 10 + rdata: ns1+ptr 6, hostmaster+ptr 13, 20)
  // + OPT 11: every zone suffix was a pointer.
  EXPECT_EQ(n, 12u + 24 + 2 + 10 + 6 + 13 + 20 + 11);
  auto r = decode({buf.begin(), buf.begin() + static_cast<long>(n)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rcode(), 3);
  ASSERT_EQ(r->authority.size(), 1u);
  EXPECT_EQ(r->authority[0].name, "fleet.test.");
  EXPECT_EQ(r->authority[0].data, "ns1.fleet.test. hostmaster.fleet.test. 1 2 3 4 5");
  EXPECT_EQ(r->additional.size(), 1u);
}

TEST(DnsWire, EchoesQuestionCaseForResolversUsing0x20) {
  auto packet = makeQuery("SiTe-0000001.FLEET.test");
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  std::array<std::uint8_t, 512> buf{};
  ResponseWriter w(buf, 512);
  w.begin(q, packet, Rcode::NoError, true);
  w.addA(ResponseWriter::Section::Answer, q.nameView(), 30, 0x7F000001);
  const std::size_t n = w.finish();
  auto r = decode({buf.begin(), buf.begin() + static_cast<long>(n)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->qname, "SiTe-0000001.FLEET.test.");
  ASSERT_EQ(r->answer.size(), 1u);
  EXPECT_EQ(r->answer[0].name, "SiTe-0000001.FLEET.test.");   // via the pointer to offset 12
  EXPECT_EQ(r->answer[0].data, "127.0.0.1");
}

TEST(DnsWire, RrsThatDoNotFitAreDroppedWholeAndTcIsSet) {
  auto packet = makeQuery("a.fleet.test", {.edns = false});
  Query q;
  ASSERT_EQ(parseQuery(packet, q), ParseStatus::Ok);
  std::array<std::uint8_t, 512> buf{};
  ResponseWriter w(buf, 512);
  w.begin(q, packet, Rcode::NoError, true);
  int added = 0;
  while (w.addA(ResponseWriter::Section::Answer, "a.fleet.test", 30, 0x7F000001 + added)) ++added;
  const std::size_t n = w.finish();
  EXPECT_LE(n, 512u);
  EXPECT_EQ(added, (512 - 12 - 18) / 16);
  auto r = decode({buf.begin(), buf.begin() + static_cast<long>(n)});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->tc());
  EXPECT_EQ(static_cast<int>(r->answer.size()), added);
}

// Random bytes and bit-flipped real queries must never crash the responder, and every reply it
// produces must be a well-formed message carrying the query's id.
class DnsWireFuzz : public ::testing::Test {
 protected:
  DnsWireFuzz() : responder_(makeConfig()) {}
  static DnsServerConfig makeConfig() {
    DnsServerConfig c;
    c.fleet.count = 1000;
    c.extra_hosts = {{"v6.fleet.test", "::1, 127.0.0.9"}};
    return c;
  }
  void check(const std::vector<std::uint8_t>& in, Transport t) {
    std::array<std::uint8_t, 65535> out{};
    const Decision d = responder_.respond(in, out, t, Clock::now());
    if (d.kind == Decision::Kind::Drop) return;
    ASSERT_GE(d.length, 12u);
    if (t == Transport::Udp) {
      ASSERT_LE(d.length, 4096u);
    }
    auto r = decode({out.begin(), out.begin() + static_cast<long>(d.length)});
    ASSERT_TRUE(r) << "reply does not decode";
    EXPECT_EQ(r->id, (in[0] << 8) | in[1]);
  }
  Responder responder_;
};

TEST_F(DnsWireFuzz, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 100000; ++i) {
    std::vector<std::uint8_t> in(rng() % 80);
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    if (in.size() > 2) in[2] &= 0x7F;   // mostly queries, so the parser gets past the header
    check(in, i % 2 ? Transport::Udp : Transport::Tcp);
  }
}

TEST_F(DnsWireFuzz, MutatedQueriesNeverCrash) {
  std::mt19937 rng(54321);
  const std::vector<std::vector<std::uint8_t>> seeds = {
      makeQuery("site-0000042.fleet.test"), makeQuery("fleet.test", {.qtype = 2}),
      makeQuery("v6.fleet.test", {.qtype = 255}), makeQuery("nope.fleet.test", {.edns = false}),
      makeQuery("example.org", {.qtype = 6})};
  for (int i = 0; i < 100000; ++i) {
    auto in = seeds[rng() % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    if (rng() % 8 == 0) in.resize(rng() % in.size());
    check(in, i % 2 ? Transport::Udp : Transport::Tcp);
  }
}

}  // namespace
}  // namespace tidewatch::fixture::dns
