#include "stages/source/file/file_source.h"

#include <gtest/gtest.h>

#include <fstream>

namespace tidewatch::stages {
namespace {

std::string write(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(FileSource, ReadsCsvWithHeaderAndReportsBadRows) {
  std::vector<std::string> errors;
  auto fleet = readTargetFile(write("f.csv",
                                    "id,blog_id,url,interval,bucket\n"
                                    "1,100,http://a.test/,300,7\n"
                                    "# comment\n"
                                    "2,200,\"http://b.test/?x=1,2\",60,8\n"
                                    "x,300,http://c.test/,60,1\n"
                                    "4,400,,60,1\n"),
                              errors);
  ASSERT_EQ(fleet.size(), 2u);
  EXPECT_EQ(fleet[0].id, 1u);
  EXPECT_EQ(fleet[0].blog_id, 100u);
  EXPECT_EQ(fleet[0].interval_s, 300u);
  EXPECT_EQ(fleet[0].bucket, 7);
  EXPECT_EQ(fleet[1].url, "http://b.test/?x=1,2");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find(":5: column 'id' has a bad value 'x'"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find(":6: url is empty"), std::string::npos) << errors[1];
}

TEST(FileSource, ReadsYamlWithPerSiteRules) {
  std::vector<std::string> errors;
  auto fleet = readTargetFile(write("f.yaml", R"(
targets:
  - {id: 1, url: "http://a.test/", interval: 60}
  - id: 2
    blog_id: 20
    url: "https://b.test/"
    interval: 300
    check_keyword: canary
    forbidden_keywords: [HACKED]
    redirect_policy: fail
    method: HEAD
    custom_headers: {X-Test: "1"}
  - {id: 3, url: "http://c.test/", interval: 60, colour: red}
)"),
                              errors);
  ASSERT_EQ(fleet.size(), 2u);
  EXPECT_EQ(fleet[0].blog_id, 1u);  // defaults to the id
  EXPECT_FALSE(fleet[0].config->hasContentRules());
  EXPECT_EQ(fleet[1].config->check_keyword, "canary");
  EXPECT_EQ(fleet[1].config->forbidden_keywords, std::vector<std::string>{"HACKED"});
  EXPECT_EQ(fleet[1].config->redirect_policy, RedirectPolicy::kFail);
  EXPECT_EQ(fleet[1].config->method, HttpMethod::kHead);
  ASSERT_EQ(fleet[1].config->custom_headers.size(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("unknown key 'colour'"), std::string::npos);
}

}  // namespace
}  // namespace tidewatch::stages
