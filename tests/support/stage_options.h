// Parses a stage's options from YAML through the real registry, exactly as the daemon's
// config loader does (the key path is "pipeline.x"), for the config tests of each stage.
#pragma once

#include <any>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "pipeline/config_node.h"
#include "pipeline/registry.h"
#include "stages/register_all.h"

namespace tidewatch::testing {

inline std::any parseStageOptions(const std::string& name, const std::string& yaml, ConfigDiagnostics& diag) {
  const StageFactory* f = builtinStages().find(name);
  EXPECT_NE(f, nullptr) << name;
  if (!f) return {};
  ConfigMap m(YAML::Load(yaml), "pipeline.x", diag);
  std::any out = f->parse(m);
  m.finish();
  return out;
}

// Every error message as "path: text" lines.
inline std::string allErrors(const ConfigDiagnostics& diag) {
  std::string all;
  for (const auto& m : diag.messages()) all += m.path + ": " + m.text + "\n";
  return all;
}

}  // namespace tidewatch::testing
