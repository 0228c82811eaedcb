#include "pipeline/config.h"

#include <gtest/gtest.h>

#include "pipeline/registry.h"
#include "tests/pipeline/test_stages.h"

namespace tidewatch {
namespace {

const char* kMinimal = R"(
pipeline:
  source: {type: source.generated, count: 10}
  probe: {type: probe.simulated}
)";

Config parse(const std::string& yaml, ConfigDiagnostics& diag) {
  return parseConfigString(yaml, testing::pipelineTestStages(), diag);
}

bool hasError(const ConfigDiagnostics& d, const std::string& path, const std::string& text_part = "") {
  for (const auto& m : d.messages())
    if (m.level == ConfigMessage::Level::kError && m.path == path &&
        m.text.find(text_part) != std::string::npos)
      return true;
  return false;
}

TEST(Config, MinimalConfigGetsDefaults) {
  ConfigDiagnostics d;
  Config c = parse(kMinimal, d);
  ASSERT_TRUE(d.ok()) << d.firstError();
  EXPECT_EQ(c.probe.default_timeout_s, 10);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9190");
  EXPECT_EQ(c.scheduler.retry_interval_s, 10);
  EXPECT_EQ(c.scheduler.num_of_checks, 3);
  EXPECT_EQ(c.pipeline.classify.type, "classify.jetmon");  // default classifier
  EXPECT_FALSE(c.database.configured);
}

TEST(Config, ZeroSizingMeansAutomaticDefault) {
  ConfigDiagnostics d;
  Config c = parse(std::string(kMinimal) + R"(
probe: {default_timeout_s: 0}
scheduler: {retry_interval_s: 0, num_of_checks: 0}
tokens: {max: 0, target: 0}
resolver: {negative_ttl_s: 0}
)", d);
  ASSERT_TRUE(d.ok()) << d.firstError();
  EXPECT_EQ(c.probe.default_timeout_s, 10);
  EXPECT_EQ(c.scheduler.retry_interval_s, 10);
  EXPECT_EQ(c.scheduler.num_of_checks, 3);
  EXPECT_EQ(c.tokens.max, 0);  // resolved at startup from the open-files limit
  EXPECT_EQ(c.resolver.negative_ttl_s, 5);
}

TEST(Config, NegativeSizingIsAnErrorNamingTheKey) {
  ConfigDiagnostics d;
  parse(std::string(kMinimal) + "probe: {default_timeout_s: -3}\ntokens: {max: -1}\n", d);
  EXPECT_FALSE(d.ok());
  EXPECT_TRUE(hasError(d, "probe.default_timeout_s", "negative"));
  EXPECT_TRUE(hasError(d, "tokens.max", "negative"));
}

TEST(Config, UnknownKeysAreErrorsWithTheirPath) {
  ConfigDiagnostics d;
  parse(std::string(kMinimal) + "probe: {default_timeout: 5}\nbogus: 1\n", d);
  EXPECT_TRUE(hasError(d, "probe.default_timeout", "unknown key"));
  EXPECT_TRUE(hasError(d, "bogus", "unknown key"));
}

TEST(Config, UnknownStageOptionIsAnErrorWithItsPath) {
  ConfigDiagnostics d;
  parse(R"(
pipeline:
  source: {type: source.generated, count: 10, colour: blue}
  probe: {type: probe.simulated, latency: {ms: 5, shape: 2}}
)", d);
  EXPECT_TRUE(hasError(d, "pipeline.source.colour", "unknown key"));
  EXPECT_TRUE(hasError(d, "pipeline.probe.latency.shape", "unknown key"));
}

TEST(Config, UnknownStageNameListsTheValidNames) {
  ConfigDiagnostics d;
  parse(R"(
pipeline:
  source: {type: source.generated}
  probe: {type: probe.carrier_pigeon}
)", d);
  ASSERT_TRUE(hasError(d, "pipeline.probe.type", "unknown probe stage 'probe.carrier_pigeon'"));
  std::string all = d.firstError();
  EXPECT_NE(all.find("probe.simulated"), std::string::npos) << all;
}

TEST(Config, StageOfTheWrongKindIsRejected) {
  ConfigDiagnostics d;
  parse("pipeline:\n  source: {type: sink.null}\n  probe: {type: probe.simulated}\n", d);
  EXPECT_TRUE(hasError(d, "pipeline.source.type", "unknown source stage 'sink.null'"));
}

TEST(Config, MissingRequiredStagesAreNamed) {
  ConfigDiagnostics d;
  parse("pipeline: {}\n", d);
  EXPECT_TRUE(hasError(d, "pipeline.source", "required"));
  EXPECT_TRUE(hasError(d, "pipeline.probe", "required"));
}

TEST(Config, BadValuesNameTheKey) {
  ConfigDiagnostics d;
  parse(std::string(kMinimal) + "probe: {allow_private_targets: maybe}\nscheduler: {tick_ms: abc}\n", d);
  EXPECT_TRUE(hasError(d, "probe.allow_private_targets", "true or false"));
  EXPECT_TRUE(hasError(d, "scheduler.tick_ms", "integer"));
}

TEST(Config, SourceAddressMustBeAnAddressLiteral) {
  ConfigDiagnostics bad, v4, v6;
  parse(std::string(kMinimal) + "probe: {source_address: probe-host.example}\n", bad);
  EXPECT_TRUE(hasError(bad, "probe.source_address", "IPv4 or IPv6 address literal"));
  Config a = parse(std::string(kMinimal) + "probe: {source_address: 127.0.0.3}\n", v4);
  parse(std::string(kMinimal) + "probe: {source_address: '::1'}\n", v6);
  EXPECT_TRUE(v4.ok()) << v4.firstError();
  EXPECT_TRUE(v6.ok()) << v6.firstError();
  EXPECT_EQ(a.probe.source_address, "127.0.0.3");
}

TEST(Config, NoRedirectsIsFollowRedirectsFalseNotMaxRedirectsZero) {
  ConfigDiagnostics zero, both, off;
  parse(std::string(kMinimal) + "probe: {max_redirects: 0}\n", zero);
  EXPECT_TRUE(hasError(zero, "probe.max_redirects", "probe.follow_redirects: false"));
  parse(std::string(kMinimal) + "probe: {follow_redirects: false, max_redirects: 3}\n", both);
  EXPECT_TRUE(hasError(both, "probe.max_redirects", "no effect"));
  Config c = parse(std::string(kMinimal) + "probe: {follow_redirects: false}\n", off);
  EXPECT_TRUE(off.ok()) << off.firstError();
  EXPECT_FALSE(c.probe.follow_redirects);
  EXPECT_TRUE(parse(kMinimal, off).probe.follow_redirects);
}

TEST(Config, SinksMayBeAMapOrAList) {
  ConfigDiagnostics d1, d2;
  Config a = parse(std::string(kMinimal) + "  sink: {type: sink.null}\n", d1);
  Config b = parse(std::string(kMinimal) + "  sink: [{type: sink.null}, {type: sink.log, only_failures: false}]\n", d2);
  ASSERT_TRUE(d1.ok()) << d1.firstError();
  ASSERT_TRUE(d2.ok()) << d2.firstError();
  EXPECT_EQ(a.pipeline.sinks.size(), 1u);
  EXPECT_EQ(b.pipeline.sinks.size(), 2u);
}

TEST(Config, DatabaseSectionIsParsed) {
  ConfigDiagnostics d;
  Config c = parse(std::string(kMinimal) + "database: {socket: /tmp/x.sock, user: mon, name: jm, port: 3307}\n", d);
  ASSERT_TRUE(d.ok()) << d.firstError();
  EXPECT_TRUE(c.database.configured);
  EXPECT_EQ(c.database.socket, "/tmp/x.sock");
  EXPECT_EQ(c.database.port, 3307);
  EXPECT_EQ(c.database.name, "jm");
}

TEST(Config, YamlSyntaxErrorIsReported) {
  ConfigDiagnostics d;
  parse("pipeline: [unclosed\n", d);
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.firstError().find("parse error"), std::string::npos);
}

TEST(Registry, DuplicateRegistrationIsRefused) {
  StageRegistry r;
  StageFactory f{StageKind::kSink, "sink.twice", "", [](ConfigMap&) { return std::any(); },
                 [](const std::any&, StageContext&) -> std::unique_ptr<Stage> { return nullptr; }};
  r.add(f);
  EXPECT_THROW(r.add(f), std::logic_error);
}

}  // namespace
}  // namespace tidewatch
