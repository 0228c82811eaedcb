#include "core/target.h"

namespace tidewatch {

std::shared_ptr<const SiteConfig> defaultSiteConfig() {
  static const std::shared_ptr<const SiteConfig> instance = std::make_shared<const SiteConfig>();
  return instance;
}

}  // namespace tidewatch
