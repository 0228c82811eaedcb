// The verifier wire codec: what the client encodes the service decodes (and back), for both
// shapes, and the refusals name the field that was wrong.
#include "services/verifier/protocol.h"

#include <gtest/gtest.h>

namespace tidewatch::services {
namespace {

using json = nlohmann::json;
using Outcome = VerifierVote::Outcome;

CheckItem sampleItem() {
  CheckItem item;
  item.request_id = "r-1";
  item.blog_id = 42;
  item.url = "https://site.test/path?q=1";
  item.timeout_ms = 1500;
  item.rules.method = HttpMethod::kHead;
  item.rules.custom_headers = {{"X-Probe", "yes"}};
  item.rules.check_keyword = "canary";
  item.rules.forbidden_keywords = {"HACKED", "casino"};
  item.rules.redirect_policy = RedirectPolicy::kAlert;
  return item;
}

TEST(VerifierProtocol, V2RequestDecodesToWhatTheClientEncoded) {
  CheckRequest sent;
  sent.batch_id = "b-7";
  sent.deadline_ms = 6500;
  sent.items.push_back(sampleItem());
  CheckRequest got = decodeRequest(Protocol::kV2, encodeRequest(Protocol::kV2, sent));
  EXPECT_EQ(got.batch_id, "b-7");
  EXPECT_EQ(got.deadline_ms, 6500);
  ASSERT_EQ(got.items.size(), 1u);
  const CheckItem& item = got.items[0];
  EXPECT_EQ(item.request_id, "r-1");
  EXPECT_EQ(item.blog_id, 42u);
  EXPECT_EQ(item.url, "https://site.test/path?q=1");
  EXPECT_EQ(item.timeout_ms, 1500);
  EXPECT_EQ(item.rules, sampleItem().rules);
}

TEST(VerifierProtocol, LegacyRequestCarriesRulesButNotMethodAndRoundsTheTimeoutUp) {
  CheckRequest sent;
  sent.items.push_back(sampleItem());
  std::string body = encodeRequest(Protocol::kLegacy, sent);
  EXPECT_NE(body.find("\"sites\""), std::string::npos);
  CheckRequest got = decodeRequest(Protocol::kLegacy, body);
  ASSERT_EQ(got.items.size(), 1u);
  const CheckItem& item = got.items[0];
  EXPECT_EQ(item.request_id, "r-1");
  EXPECT_EQ(item.blog_id, 42u);
  EXPECT_EQ(item.timeout_ms, 2000);  // TimeoutSeconds is whole seconds, rounded up
  EXPECT_EQ(item.rules.method, HttpMethod::kGet);
  EXPECT_EQ(item.rules.check_keyword, "canary");
  EXPECT_EQ(item.rules.forbidden_keywords, (std::vector<std::string>{"HACKED", "casino"}));
  EXPECT_EQ(item.rules.redirect_policy, RedirectPolicy::kAlert);
  EXPECT_EQ(item.rules.custom_headers, sampleItem().rules.custom_headers);
}

TEST(VerifierProtocol, LegacyNamesMatchCaseInsensitivelyAndAnExactMatchWins) {
  CheckRequest got = decodeRequest(
      Protocol::kLegacy, R"({"SITES":[{"blogid":7,"url":"http://a.test/","Url":"http://b.test/",
      "URL":"http://exact.test/","forbiddenkeyword":"x","ForbiddenKeywords":["y",""]}]})");
  ASSERT_EQ(got.items.size(), 1u);
  EXPECT_EQ(got.items[0].blog_id, 7u);
  EXPECT_EQ(got.items[0].url, "http://exact.test/");
  EXPECT_EQ(got.items[0].rules.forbidden_keywords, (std::vector<std::string>{"x", "y"}));
}

std::string refusalOf(Protocol p, const std::string& body) {
  try {
    decodeRequest(p, body);
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.status, 400);
    return e.reason;
  }
  return "accepted";
}

TEST(VerifierProtocol, RefusalsNameTheField) {
  EXPECT_EQ(refusalOf(Protocol::kV2, R"({"requests":[{"url":""}]})"),
            "requests[0].url: is required");
  EXPECT_EQ(refusalOf(Protocol::kV2, R"({"requests":[{"url":"http://a/","method":"POST"}]})"),
            "requests[0].method: must be GET or HEAD");
  EXPECT_EQ(
      refusalOf(Protocol::kV2, R"({"requests":[{"url":"http://a/","headers":{"X":"a\r\nB: c"}}]})"),
      "requests[0].headers: header names and values must not contain CR, LF (or ':' in names)");
  EXPECT_EQ(refusalOf(Protocol::kV2,
                      R"({"requests":[{"url":"http://a/","body_rules":{"required":["a","b"]}}]})"),
            "requests[0].body_rules.required: at most one keyword is supported");
  EXPECT_EQ(
      refusalOf(Protocol::kLegacy, R"({"sites":[{"URL":"http://a/","RedirectPolicy":"maybe"}]})"),
      "sites[0].RedirectPolicy: must be follow, alert or fail");
  EXPECT_EQ(refusalOf(Protocol::kV2, "[]"), "body must be a JSON object");
  EXPECT_EQ(refusalOf(Protocol::kLegacy, "{}"), "sites: must be a list");
  EXPECT_EQ(refusalOf(Protocol::kV2, "{").rfind("bad JSON: ", 0), 0u);
}

AgentIdentity agent() {
  return {"vantage-a", "eu-west", "agent-a", "verifier-a", "1.2.3"};
}

TEST(VerifierProtocol, V2ReplyDecodesToTheVoteItWasEncodedFrom) {
  CheckItem up = sampleItem(), slow = sampleItem();
  slow.request_id = "r-2";
  ProbeResult result;
  result.http_code = 200;
  result.timings.rtt_ms = 31;
  std::vector<ItemAnswer> answers = {{&up, Outcome::kUp, &result, true},
                                     {&slow, Outcome::kTimeout, nullptr, false}};
  EncodedReply reply = encodeReply(Protocol::kV2, json("b-7"), answers, agent(), true);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(json::parse(reply.body)["deadline_expired"], true);
  ReplyVote a = decodeReply(Protocol::kV2, reply.body, "r-1");
  EXPECT_EQ(a.outcome, Outcome::kUp);
  EXPECT_EQ(a.http_code, 200);
  EXPECT_EQ(a.rtt_ms, 31u);
  EXPECT_EQ(a.host, "verifier-a");
  EXPECT_EQ(a.vantage_id, "vantage-a");
  EXPECT_EQ(a.region, "eu-west");
  ReplyVote b = decodeReply(Protocol::kV2, reply.body, "r-2");
  EXPECT_EQ(b.outcome, Outcome::kTimeout);
  VerifierVote timeout_vote;
  timeout_vote.outcome = b.outcome;
  EXPECT_FALSE(timeout_vote.isVote());  // the agent's own timeout is not a statement about the site
  EXPECT_THROW(decodeReply(Protocol::kV2, reply.body, "r-3"), std::runtime_error);
}

TEST(VerifierProtocol, LegacyReplyIsAllOrNothing) {
  CheckItem item = sampleItem();
  ProbeResult down;
  down.http_code = 503;
  EncodedReply ok = encodeReply(Protocol::kLegacy, json(), {{&item, Outcome::kDown, &down, false}},
                                agent(), false);
  ASSERT_EQ(ok.status, 200);
  ReplyVote v = decodeReply(Protocol::kLegacy, ok.body, "");
  EXPECT_EQ(v.outcome, Outcome::kDown);
  EXPECT_EQ(v.http_code, 503);
  EXPECT_EQ(v.host, "verifier-a");
  // An item the agent could not check must not look like a down vote to a Jetmon monitor.
  EXPECT_EQ(encodeReply(Protocol::kLegacy, json(), {{&item, Outcome::kOverloaded, nullptr, false}},
                        agent(), false)
                .status,
            503);
  EXPECT_EQ(encodeReply(Protocol::kLegacy, json(), {{&item, Outcome::kTimeout, nullptr, false}},
                        agent(), true)
                .status,
            504);
  // Probe safety (code 9) is the verifier refusing to look, not a statement about the site.
  ReplyVote safety =
      decodeReply(Protocol::kLegacy, R"({"results":[{"Success":false,"ErrorCode":9}]})", "");
  EXPECT_EQ(safety.outcome, Outcome::kProbeError);
}

TEST(VerifierProtocol, NamesRoundTrip) {
  for (Outcome o : {Outcome::kUp, Outcome::kDown, Outcome::kTimeout, Outcome::kProbeError,
                    Outcome::kOverloaded})
    EXPECT_EQ(outcomeNamed(toString(o)), o);
  EXPECT_EQ(outcomeNamed("maybe"), Outcome::kUnknown);
  EXPECT_EQ(protocolOfPath(checkPath(Protocol::kV2)), Protocol::kV2);
  EXPECT_EQ(protocolOfPath(checkPath(Protocol::kLegacy)), Protocol::kLegacy);
  EXPECT_FALSE(protocolOfPath("/status"));
  EXPECT_EQ(randomHex(16).size(), 32u);
  EXPECT_NE(randomHex(16), randomHex(16));
}

}  // namespace
}  // namespace tidewatch::services
