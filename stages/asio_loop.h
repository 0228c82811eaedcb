// The Asio event loop a stage that does network I/O runs on (probe.http, notify.wpcom, the
// incident engine's verifier client): StageContext::asio, set by the app. Called while the
// stage is built (startup, one thread).
#pragma once

#include <string_view>

#include "pipeline/registry.h"

namespace tidewatch::stages {

// Throws std::invalid_argument naming `stage` when the context carries no Asio loop.
io::AsioEventLoop& asioLoopOf(const StageContext& ctx, std::string_view stage);

}  // namespace tidewatch::stages
