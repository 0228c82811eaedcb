#include "pipeline/registry.h"

#include <stdexcept>

namespace tidewatch {

std::string_view toString(StageKind kind) {
  switch (kind) {
    case StageKind::kSource: return "source";
    case StageKind::kProbe: return "probe";
    case StageKind::kClassify: return "classify";
    case StageKind::kSink: return "sink";
    case StageKind::kNotify: return "notify";
  }
  return "?";
}

void StageRegistry::add(StageFactory factory) {
  if (find(factory.name) != nullptr)
    throw std::logic_error("stage registered twice: " + factory.name);
  factories_.push_back(std::move(factory));
}

const StageFactory* StageRegistry::find(std::string_view name) const {
  for (const auto& f : factories_)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> StageRegistry::names(StageKind kind) const {
  std::vector<std::string> out;
  for (const auto& f : factories_)
    if (f.kind == kind) out.push_back(f.name);
  return out;
}

std::unique_ptr<Stage> StageRegistry::createStage(const StageSpec& spec, StageContext& ctx) const {
  const StageFactory* f = find(spec.type);
  if (f == nullptr) throw std::invalid_argument(spec.path + ".type: unknown stage '" + spec.type + "'");
  return f->create(spec.options, ctx);
}

void StageRegistry::throwWrongKind(const StageSpec& spec) {
  throw std::invalid_argument(spec.path + ".type: '" + spec.type + "' is not a stage of this kind");
}

}  // namespace tidewatch
