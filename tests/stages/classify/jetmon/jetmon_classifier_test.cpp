#include "stages/classify/jetmon/jetmon_classifier.h"

#include <gtest/gtest.h>

namespace tidewatch::stages {
namespace {

ProbeResult result(int code, ErrorCode e = ErrorCode::kNone) {
  ProbeResult r;
  r.http_code = code;
  r.error = e;
  return r;
}

TEST(ClassifyJetmon, UpIffCompletedWithCodeBelow400) {
  EXPECT_TRUE(classifyJetmon(result(200)).success);
  EXPECT_FALSE(classifyJetmon(result(200)).failure);
  EXPECT_TRUE(classifyJetmon(result(304)).success);   // an unfollowed 3xx counts as up
  EXPECT_TRUE(classifyJetmon(result(399)).success);
  EXPECT_FALSE(classifyJetmon(result(400)).success);
  EXPECT_TRUE(classifyJetmon(result(503)).failure);
  EXPECT_TRUE(classifyJetmon(result(0, ErrorCode::kConnect)).failure);
}

TEST(ClassifyJetmon, DeprecatedTlsIsAnAdvisoryNotAFailure) {
  Verdict v = classifyJetmon(result(200, ErrorCode::kTlsDeprecated));
  EXPECT_TRUE(v.success);
  EXPECT_FALSE(v.failure);
  EXPECT_TRUE(v.advisory_tls_deprecated);
  EXPECT_EQ(v.status_type, StatusType::kSuccess);
  // ... but the HTTP status still decides.
  EXPECT_TRUE(classifyJetmon(result(503, ErrorCode::kTlsDeprecated)).failure);
}

TEST(ClassifyJetmon, ProbeSafetyBlockIsNeverAFailure) {
  Verdict v = classifyJetmon(result(0, ErrorCode::kProbeSafety));
  EXPECT_FALSE(v.success);
  EXPECT_FALSE(v.failure);
  EXPECT_TRUE(v.probe_safety_blocked);
  EXPECT_EQ(v.status_type, StatusType::kProbeSafety);
}

TEST(ClassifyJetmon, ContentAndBodyErrorsFailDespiteA200) {
  EXPECT_TRUE(classifyJetmon(result(200, ErrorCode::kKeyword)).failure);
  EXPECT_TRUE(classifyJetmon(result(200, ErrorCode::kBodyRead)).failure);
  EXPECT_TRUE(classifyJetmon(result(200, ErrorCode::kTlsExpired)).failure);
}

TEST(ClassifyJetmon, StatusTypeFirstMatchWins) {
  EXPECT_EQ(classifyJetmon(result(0, ErrorCode::kSsl)).status_type, StatusType::kHttps);
  EXPECT_EQ(classifyJetmon(result(200, ErrorCode::kTlsExpired)).status_type, StatusType::kHttps);
  EXPECT_EQ(classifyJetmon(result(0, ErrorCode::kTimeout)).status_type, StatusType::kIntermittent);
  EXPECT_EQ(classifyJetmon(result(200, ErrorCode::kBodyRead)).status_type, StatusType::kIntermittent);
  EXPECT_EQ(classifyJetmon(result(302, ErrorCode::kRedirect)).status_type, StatusType::kRedirect);
  EXPECT_EQ(classifyJetmon(result(403)).status_type, StatusType::kBlocked);
  EXPECT_EQ(classifyJetmon(result(503)).status_type, StatusType::kServer);
  EXPECT_EQ(classifyJetmon(result(404)).status_type, StatusType::kClient);
  EXPECT_EQ(classifyJetmon(result(0, ErrorCode::kConnect)).status_type, StatusType::kIntermittent);
  EXPECT_EQ(classifyJetmon(result(200, ErrorCode::kKeyword)).status_type, StatusType::kIntermittent);
  // An error code outranks the HTTP code: a TLS failure with a 503 is still "https".
  EXPECT_EQ(classifyJetmon(result(503, ErrorCode::kSsl)).status_type, StatusType::kHttps);
}

TEST(ClassifyJetmon, ErrorCodeNumbersAreTheWireContract) {
  EXPECT_EQ(static_cast<int>(ErrorCode::kTimeout), 1);
  EXPECT_EQ(static_cast<int>(ErrorCode::kConnect), 2);
  EXPECT_EQ(static_cast<int>(ErrorCode::kSsl), 3);
  EXPECT_EQ(static_cast<int>(ErrorCode::kRedirect), 4);
  EXPECT_EQ(static_cast<int>(ErrorCode::kKeyword), 5);
  EXPECT_EQ(static_cast<int>(ErrorCode::kTlsExpired), 6);
  EXPECT_EQ(static_cast<int>(ErrorCode::kTlsDeprecated), 7);
  EXPECT_EQ(static_cast<int>(ErrorCode::kBodyRead), 8);
  EXPECT_EQ(static_cast<int>(ErrorCode::kProbeSafety), 9);
}

}  // namespace
}  // namespace tidewatch::stages
